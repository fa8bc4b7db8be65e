"""Joint test: the aws-target DAG runs against what ``scripts/deploy.py`` created in moto.

Nothing is provisioned by hand: the stack creates the Lambda, Glue jobs, workgroup, table and
buckets, and the DAG's settings are read back from the ``startup.sh`` deploy uploaded to the
MWAA bucket (as MWAA would export them). moto's docker-less Lambda echoes the payload; Glue
runs go to SUCCEEDED as they are polled; Athena check results are queued through moto's API.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import boto3
import pytest
import requests

from wistia_dev import local_runner
from wistia_dev.dist import Dist
from wistia_pipeline.config import load_settings
from wistia_pipeline.sql import list_queries
from wistia_pipeline.state import DayStatus, open_state_store

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ENV = "dagtest"
ACCOUNT = "123456789012"
REGION = "us-east-1"
DAY = date(2026, 3, 10)


def startup_env(bucket: str) -> dict[str, str]:
    body = boto3.client("s3").get_object(Bucket=bucket, Key="startup.sh")["Body"].read().decode()
    env = {}
    for line in body.splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = shlex.split(value)[0]
    return env


def queue_check_results(url: str) -> None:
    results = [
        {
            "rows": [
                {"Data": [{"VarCharValue": v} for v in ("check_name", "failures", "detail")]},
                {"Data": [{"VarCharValue": v} for v in (name, "0", "queued by test")]},
            ],
            "column_info": [],
        }
        for name in list_queries("checks")
    ]
    requests.post(
        f"{url}/moto-api/static/athena/query-results",
        json={"account_id": ACCOUNT, "region": REGION, "results": results},
        timeout=10,
    ).raise_for_status()


def test_aws_dag_runs_on_the_deployed_stack(
    cfn_aws, built_dist: Dist, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = Path(shutil.copytree(built_dist.root, tmp_path / "dist"))
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "deploy.py"), "--env", ENV, "--dist", str(dist),
         "--param", f"CatchupStartDate={DAY.isoformat()}"],
        capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr

    env = startup_env(f"airflow-wistia-{ENV}-{ACCOUNT}-{REGION}")
    assert env["WISTIA_TARGET"] == "aws"
    assert env["WISTIA_START_DATE"] == DAY.isoformat()  # the deploy parameter
    assert env["WISTIA_ATHENA_DATABASE"] == f"wistia_{ENV}"  # the environment's own database
    athena = boto3.client("athena")
    deploy_queries = len(
        athena.list_query_executions(WorkGroup=env["WISTIA_ATHENA_WORKGROUP"])["QueryExecutionIds"]
    )  # the DDL deploy ran
    env |= {"WISTIA_AWS_POLL_SECONDS": "1", "WISTIA_GLUE_DEFERRABLE": "false"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    queue_check_results(cfn_aws.url)

    home = tmp_path / "airflow"
    home.mkdir()
    local_runner.ensure_metadata_db(home)
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "backfill.py"), "--start", DAY.isoformat(),
         "--end", DAY.isoformat(), "--retries", "0"],
        env=local_runner.airflow_env(home, dict(os.environ)),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    days = [json.loads(x) for x in run.stdout.splitlines() if x.startswith("{") and '"day"' in x]
    run_id = days[0]["run_id"]

    # the deployed Glue jobs ran over the window, on the deployed lake
    glue = boto3.client("glue")
    for job in (env["WISTIA_GLUE_SILVER_JOB"], env["WISTIA_GLUE_GOLD_JOB"]):
        assert job.startswith(f"wistia-{ENV}-")
        (job_run,) = glue.get_job_runs(JobName=job)["JobRuns"]
        assert job_run["Arguments"]["--lake_uri"] == env["WISTIA_LAKE_URI"]
        assert job_run["Arguments"]["--start_date"] == (DAY - timedelta(days=2)).isoformat()
    # the checks ran in the deployed workgroup, on the environment's database
    ids = athena.list_query_executions(WorkGroup=env["WISTIA_ATHENA_WORKGROUP"])
    queries = [
        athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]
        for i in ids["QueryExecutionIds"]
    ]
    checks = [q for q in queries if "AS check_name" in q["Query"]]
    assert len(queries) > deploy_queries
    assert len(checks) == len(list_queries("checks"))
    assert all(f"wistia_{ENV}.".lower() in q["Query"] for q in checks)
    # run state and watermark landed in the deployed table
    store = open_state_store(load_settings())
    record = store.get_day(DAY)
    assert record.status is DayStatus.SUCCEEDED and record.run_id == run_id
    assert store.get_watermark() == DAY
    assert env["WISTIA_STATE_TABLE"] == f"wistia-{ENV}-state"
    # the ingestion payload reached the deployed function (moto echoes it into the task's xcom)
    with sqlite3.connect(home / "airflow.db") as db:
        (value,) = db.execute(
            "SELECT value FROM xcom WHERE dag_id = 'wistia_daily' AND task_id = 'ingest' "
            "AND run_id = ? AND key = 'return_value'",
            (run_id,),
        ).fetchone()
    while isinstance(value, (str, bytes)):
        value = json.loads(value)
    assert (
        value
        == {  # the documented Lambda event, spelled out (not rebuilt by the code under test)
            "logical_date": "2026-03-10",
            "lookback_days": 2,
            "streams": ["medias", "media_by_date", "events", "visitors", "analytics"],
            "run_id": run_id,
        }
    )
