"""The aws target end to end: the real DAG through dag.test() against moto server.

moto stands in for Lambda (docker-less: it echoes the payload, so the test sees exactly what was
sent), Glue (job runs move STARTING -> RUNNING -> SUCCEEDED as they are polled), Athena (the check
results are queued through moto's static-results API) and DynamoDB (the real run-state store).
The ingestion Lambda's FunctionError is produced the only way moto's docker-less Lambda offers:
a queued result larger than 6 MB, which moto reports as ``FunctionError: Unhandled``.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta

import boto3
import pytest
import requests

from wistia_pipeline import pipeline
from wistia_pipeline.config import load_settings
from wistia_pipeline.sql import list_queries
from wistia_pipeline.state import DayStatus, open_state_store
from wistia_pipeline.state.dynamodb import create_table

pytestmark = pytest.mark.slow

ACCOUNT = "123456789012"
LAKE = "s3://wistia-lake-test/lake"
DAY = date(2026, 3, 10)


def _lambda_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def _provision(moto) -> dict[str, str]:
    """What the CloudFormation stack provides, made directly in moto."""
    moto.configure({"lambda": {"use_docker": False}})
    iam = boto3.client("iam")
    role = iam.create_role(
        RoleName="wistia-test",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    boto3.client("lambda").create_function(
        FunctionName="wistia-ingest-test",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": _lambda_zip()},
    )
    glue = boto3.client("glue")
    for job in ("wistia-silver-test", "wistia-gold-test"):
        glue.create_job(
            Name=job,
            Role=role,
            Command={"Name": "glueetl", "ScriptLocation": f"s3://scripts/{job}.py"},
            GlueVersion="5.0",
        )
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="wistia-lake-test")
    s3.create_bucket(Bucket="wistia-athena-test")
    boto3.client("athena").create_work_group(
        Name="wistia-test",
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://wistia-athena-test/r/"}},
    )
    create_table(boto3.client("dynamodb"), "wistia-state-test")
    return {
        "WISTIA_TARGET": "aws",
        "WISTIA_LAKE_URI": LAKE,
        "WISTIA_STATE_TABLE": "wistia-state-test",
        "WISTIA_LAMBDA_FUNCTION": "wistia-ingest-test",
        "WISTIA_GLUE_SILVER_JOB": "wistia-silver-test",
        "WISTIA_GLUE_GOLD_JOB": "wistia-gold-test",
        "WISTIA_ATHENA_DATABASE": "wistia_test",
        "WISTIA_ATHENA_WORKGROUP": "wistia-test",
        "WISTIA_ATHENA_OUTPUT": "s3://wistia-athena-test/checks/",
        "WISTIA_AWS_POLL_SECONDS": "1",
        "WISTIA_PII_SECRET_ID": "wistia/pii-test",
        "WISTIA_LOOKBACK_DAYS": "2",
    }


def _queue_check_results(moto, failures: int = 0) -> None:
    names = list_queries("checks")
    results = [
        {
            "rows": [
                {"Data": [{"VarCharValue": v} for v in ("check_name", "failures", "detail")]},
                {"Data": [{"VarCharValue": v} for v in (name, str(failures), "queued by test")]},
            ],
            "column_info": [],
        }
        for name in names
    ]
    requests.post(
        f"{moto.url}/moto-api/static/athena/query-results",
        json={"account_id": ACCOUNT, "region": "us-east-1", "results": results},
        timeout=10,
    ).raise_for_status()


def _queue_lambda_function_error(moto) -> None:
    requests.post(
        f"{moto.url}/moto-api/static/lambda-simple/response",
        json={"account_id": ACCOUNT, "region": "us-east-1", "results": ["x" * 6_100_000]},
        timeout=60,
    ).raise_for_status()


@pytest.mark.parametrize("deferrable", ["true", "false"])
def test_aws_target_success_then_function_error(
    aws_env, airflow_runner, monkeypatch, deferrable: str
) -> None:
    env = _provision(aws_env)
    env["WISTIA_GLUE_DEFERRABLE"] = deferrable
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    store = open_state_store(load_settings())

    # --- a green day -------------------------------------------------------------------------
    _queue_check_results(aws_env)
    result = airflow_runner.backfill(DAY, DAY, env)
    assert result.returncode == 0, result.output[-6000:]
    run_id = result.days[0]["run_id"]

    # Lambda got the pipeline's payload (the docker-less Lambda echoes it back to the task).
    echoed = airflow_runner.xcom("ingest", run_id)
    assert echoed == pipeline.lambda_payload(DAY, 2, None, run_id)

    # Both Glue jobs ran once, over the window [D-2, D], and were awaited to SUCCEEDED.
    glue = boto3.client("glue")
    for job in ("wistia-silver-test", "wistia-gold-test"):
        runs = glue.get_job_runs(JobName=job)["JobRuns"]
        assert len(runs) == 1
        assert runs[0]["Arguments"] == {
            "--start_date": (DAY - timedelta(days=2)).isoformat(),
            "--end_date": DAY.isoformat(),
            "--lake_uri": LAKE,
            "--pii_secret_id": "wistia/pii-test",
        }
    assert airflow_runner.xcom("gold", run_id)["state"] == "SUCCEEDED"

    # Every check was issued on Athena with the window, database and workgroup.
    athena = boto3.client("athena")
    ids = athena.list_query_executions(WorkGroup="wistia-test")["QueryExecutionIds"]
    queries = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    assert len(queries) == len(list_queries("checks"))
    for q in queries:
        assert q["QueryExecutionContext"]["Database"] == "wistia_test"
        assert q["ResultConfiguration"]["OutputLocation"].startswith("s3://wistia-athena-test/")
        assert (DAY - timedelta(days=2)).isoformat() in q["Query"]

    record = store.get_day(DAY)
    assert record.status is DayStatus.SUCCEEDED
    assert record.run_id == run_id
    assert record.counts["checks_passed"] == len(list_queries("checks"))
    assert store.get_watermark() == DAY

    if deferrable == "false":
        return  # the failure path below does not reach Glue: run it once
    # --- the next day: the Lambda raises -> FAILED, watermark kept, run fails -----------------
    _queue_lambda_function_error(aws_env)
    next_day = DAY + timedelta(days=1)
    failed = airflow_runner.backfill(next_day, next_day, env)
    assert failed.returncode == 1, failed.output[-6000:]
    assert failed.days[0]["state"] == "failed"
    assert "ingest" in failed.days[0]["failed_tasks"]
    record = store.get_day(next_day)
    assert record.status is DayStatus.FAILED
    assert "FunctionError" in record.error or "Unhandled" in record.error
    assert record.error.startswith("ingest:")
    assert store.get_watermark() == DAY
    for job in ("wistia-silver-test", "wistia-gold-test"):
        assert len(glue.get_job_runs(JobName=job)["JobRuns"]) == 1  # nothing ran after ingest
