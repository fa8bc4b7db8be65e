"""The aws target executed for real on the local AWS (``wistia_awslocal``), end to end.

``scripts/deploy.py`` deploys the real templates and the built artifacts twice into one server
(the DAG's stack and the Step Functions twin's: own lake, run-state table and Glue database each)
with ``WistiaApiUrl`` = the Wistia simulator; the secrets are filled. Then one data day runs

- through ``wistia_daily`` on the aws target (``dag.test()`` with the real provider operators:
  the Lambda's deployed zip in its sandbox, the Glue scripts under ``spark-submit`` through S3A,
  the checks on Athena over the Glue Data Catalog, DynamoDB), with the environment deploy wrote
  to ``startup.sh``;
- through the twin's state machine (the generated definition, executed by the server), whose
  ``Report`` state runs the deployed report zip: D's page appears in the twin's lake;
- through the local target (the same simulator, the same PII key);

and the three gold outputs are equal row for row (``gold_ingested_at`` aside). The DAG's failure
paths: a failing Glue script (the server's ``glue_fail`` knob) and a Lambda exception
(``lambda_error``) mark the day FAILED with the error text and keep the watermark; a table the
catalog lacks (dropped through Athena DDL) fails the checks with Athena's message. The twin's
failure paths run in tests/awslocal/test_stepfunctions.py.

One server, simulator and pair of stacks for the module; each test starts from no fault knobs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import boto3
import pytest

from e2e.conftest import AirflowRunner
from wistia_awslocal.process import AwsLocal, start_awslocal
from wistia_dev import awsdemo, local_runner
from wistia_pipeline.bronze import safe_run_id
from wistia_pipeline.publishing import staging_database
from wistia_pipeline.sql import list_queries, run_query_local
from wistia_pipeline.state import DayStatus
from wistia_simulator.process import free_port, start_simulator, stop_process

pytestmark = pytest.mark.slow

SIM_TOKEN = "sim-aws-emulated-token"  # the simulator's own test credential, not a real secret
PII_KEY = "e2e-aws-emulated-pii-key"
SIM_START, SIM_END = date(2026, 3, 1), date(2026, 3, 20)
DAY = date(2026, 3, 8)  # the green day
# Failing days after DAY + lookback: the watermark stays at DAY whatever order the tests run in.
GLUE_FAIL_DAY, LAMBDA_FAIL_DAY = date(2026, 3, 12), date(2026, 3, 15)
ENV, TWIN_ENV = "e2e", "e2e-twin"


@dataclass
class Emulated:
    server: AwsLocal
    dag: awsdemo.Stack
    twin: awsdemo.Stack
    api_url: str
    dist: Path
    airflow: AirflowRunner  # the aws target's Airflow (the local target's is the session's)


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulated]:
    work = tmp_path_factory.mktemp("aws_emulated")
    port = free_port()
    sim = start_simulator(
        port, SIM_TOKEN, "--seed", "11", "--start-date", SIM_START.isoformat(), "--end-date",
        SIM_END.isoformat(), "--media-count", "4", "--events-per-day", "60", "--visitor-count",
        "30", "--late-event-share", "0", "--rate-limit", "0",
    )  # fmt: skip
    server = start_awslocal(log_path=work / "awslocal.log")
    api_url = f"http://127.0.0.1:{port}/modern"
    home = work / "airflow"
    try:
        with ThreadPoolExecutor(1) as pool, pytest.MonkeyPatch.context() as mp:
            migrated = pool.submit(local_runner.ensure_metadata_db, home)
            for key, value in server.client_env().items():
                mp.setenv(key, value)
            mp.delenv("AWS_PROFILE", raising=False)
            dist = awsdemo.build_dist(work / "dist")
            stacks = []
            for env in (ENV, TWIN_ENV):
                awsdemo.deploy(env, dist, {"WistiaApiUrl": api_url})
                stack = awsdemo.Stack.load(env)
                stack.fill_secrets(SIM_TOKEN, PII_KEY)
                stacks.append(stack)
            migrated.result()
        yield Emulated(server, *stacks, api_url, dist, AirflowRunner(home))
    finally:
        server.stop()
        stop_process(sim)


@pytest.fixture
def aws(emulated: Emulated, monkeypatch: pytest.MonkeyPatch) -> Emulated:
    """boto3 here (and in the runs started here) pointed at the server; no fault knobs."""
    for key, value in emulated.server.client_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    emulated.server.set_faults({})
    return emulated


def run_dag(aws: Emulated, day: date, *extra: str, **env: str) -> awsdemo.DagRuns:
    """``wistia_daily`` on the aws target of the DAG's stack for ``day``, no task retries."""
    return awsdemo.run_dag(aws.dag, day, day, aws.airflow.home, "--retries", "0", *extra, env=env)


def check_queries(stack: awsdemo.Stack) -> dict[str, dict]:
    """The check queries run in the stack's workgroup, by id."""
    athena = boto3.client("athena")
    ids = athena.list_query_executions(WorkGroup=stack.workgroup)["QueryExecutionIds"]
    queries = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    return {q["QueryExecutionId"]: q for q in queries if "AS check_name" in q["Query"]}


def test_a_day_through_the_dag_and_the_twin_equals_the_local_target(
    aws: Emulated, airflow_runner, tmp_path: Path
) -> None:
    window = (DAY - timedelta(days=2), DAY)
    # MWAA's environment, as deploy wrote it to startup.sh: the aws target on this stack.
    env = aws.dag.dag_env()
    assert env["WISTIA_TARGET"] == "aws"
    assert env["WISTIA_ATHENA_DATABASE"] == aws.dag.database == "wistia_e2e"
    assert env["WISTIA_START_DATE"] == aws.dag.parameters["CatchupStartDate"]
    assert env["WISTIA_LAKE_URI"] == aws.dag.lake_uri
    checks_before = set(check_queries(aws.dag))

    # All three at once: the twin on the server, the local target and the aws target each in
    # its own Airflow (the same logical date in one metadata DB would replace each other's run).
    twin = awsdemo.start_twin(aws.twin, DAY)
    lake = tmp_path / "lake"
    local_env = {
        "WISTIA_TARGET": "local",
        "WISTIA_STATE_DIR": str(tmp_path / "state"),
        "WISTIA_LAKE_URI": str(lake),
        "WISTIA_API_URL": aws.api_url,
        "WISTIA_API_TOKEN": SIM_TOKEN,
        "WISTIA_PII_HASH_KEY": PII_KEY,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # the local target makes no AWS call
    }
    with ThreadPoolExecutor(1) as pool:
        local_run = pool.submit(
            awsdemo.run_days, DAY, DAY, airflow_runner.home, local_env, "--retries", "0"
        )
        dag = run_dag(aws, DAY)
        local = local_run.result()
    assert dag.returncode == 0, dag.output[-6000:]
    assert local.returncode == 0, local.output[-6000:]
    run_id = dag.days[0]["run_id"]
    twin_run = awsdemo.wait_twin(twin, DAY, timeout=900)
    assert twin_run.ok, twin_run.as_dict()

    # --- what the DAG's provider operators did on the stack ---------------------------------
    # The deployed Lambda ran the day (its summary is the ingest task's XCom).
    summary = aws.airflow.xcom("ingest", run_id)
    assert summary["run_id"] == safe_run_id(run_id)
    assert (summary["logical_date"], summary["window_start"]) == (str(DAY), str(window[0]))
    assert set(summary["streams"]) == {"medias", "media_by_date", "events", "visitors", "analytics"}
    assert all(
        uri.startswith(aws.dag.lake_uri + "/bronze/")
        for stream in summary["streams"].values()
        for uri in stream["bronze_uris"]
    )
    # The ingestion (asynchronous invoke, then its record) and both Glue jobs, each run once
    # for this run over the window, were awaited in the trigger (deferrable).
    assert dag.output.count("Pausing task as DEFERRED") == 3, dag.output[-6000:]
    glue = boto3.client("glue")
    for step, job in (("silver", "SilverJobName"), ("gold", "GoldJobName")):
        (job_run,) = glue.get_job_runs(JobName=aws.dag.outputs[job])["JobRuns"]
        assert job_run["JobRunState"] == "SUCCEEDED"
        assert aws.airflow.xcom(step, run_id) == job_run["Id"]
        args = job_run["Arguments"]
        assert (args["--start_date"], args["--end_date"]) == (str(window[0]), str(DAY))
        assert args["--airflow_task_uuid"] == f"wistia_daily:{step}:{run_id}:-1"
    # Every check ran on Athena in the stack's workgroup, on the run's staged output (the
    # staging database), over the window; the run then published it (the publish Lambda).
    queries = [q for i, q in check_queries(aws.dag).items() if i not in checks_before]
    assert len(queries) == len(list_queries("checks"))
    staging = staging_database(aws.dag.database)
    for query in queries:
        assert query["QueryExecutionContext"]["Database"] == staging
        assert f"FROM {staging}." in query["Query"]
        assert str(window[0]) in query["Query"]
    assert aws.airflow.xcom("publish", run_id)["published_manifests"] > 0

    # --- the three golds are one -----------------------------------------------------------
    local_gold = awsdemo.gold_rows(str(lake), *window)
    assert local_gold["fact_media_daily"] and local_gold["dim_media"]
    assert local_gold["reconciliation"]
    assert awsdemo.gold_rows(aws.dag.lake_uri, *window) == local_gold
    assert awsdemo.gold_rows(aws.twin.lake_uri, *window) == local_gold
    # Athena reads the same gold through each stack's catalog.
    agreement = awsdemo.compare_media_days(
        awsdemo.media_days(aws.dag, *window), awsdemo.media_days(aws.twin, *window)
    )
    assert agreement.agree and agreement.media_days == len(local_gold["fact_media_daily"])

    # --- the twin's report: the deployed report Lambda rendered D's page from its gold --------
    twin_events = boto3.client("stepfunctions").get_execution_history(
        executionArn=twin, maxResults=1000
    )["events"]
    report_exit = next(
        json.loads(e["stateExitedEventDetails"]["output"])
        for e in twin_events
        if e.get("stateExitedEventDetails", {}).get("name") == "Report"
    )
    assert "report_error" not in report_exit, report_exit
    bucket = aws.twin.lake_uri.removeprefix("s3://")
    key = f"reports/wistia/dt={DAY.isoformat()}/index.html"
    assert report_exit["report"] == {"status": "published", "report_uri": f"s3://{bucket}/{key}"}
    s3 = boto3.client("s3")
    page = s3.get_object(Bucket=bucket, Key=key)
    assert page["ContentType"] == "text/html; charset=utf-8"
    html = page["Body"].read().decode("utf-8")
    assert html.count("<svg") >= 2 and "<script" not in html
    summary = json.loads(
        s3.get_object(Bucket=bucket, Key=f"reports/wistia/dt={DAY}/summary.json")["Body"].read()
    )
    # The totals it shows are D's gold (the local target's, equal to the twin's above).
    _, [(loads, plays)] = run_query_local(
        str(lake),
        f"SELECT sum(loads), sum(plays) FROM ${{database}}.fact_media_daily WHERE dt = '{DAY}'",
    )
    assert summary["status"] == "published", summary
    assert (summary["totals"]["loads"], summary["totals"]["plays"]) == (loads, plays), summary
    s3.head_object(Bucket=bucket, Key="reports/wistia/latest/index.html")
    logs = boto3.client("logs").filter_log_events(
        logGroupName=f"/aws/lambda/{aws.twin.outputs['ReportFunctionName']}"
    )["events"]
    assert any(e["message"].startswith("REPORT RequestId:") for e in logs), logs[-3:]

    # --- run state ---------------------------------------------------------------------------
    for stack, run in ((aws.dag, run_id), (aws.twin, twin.rsplit(":", 1)[1])):
        record = stack.store().get_day(DAY)
        assert record.status is DayStatus.SUCCEEDED and record.run_id == run
        assert record.counts["checks_passed"] == 5 and record.counts["requests_total"] > 0
        assert stack.store().get_watermark() == DAY


def test_a_failing_glue_script_fails_the_day_with_its_error(aws: Emulated) -> None:
    store = aws.dag.store()
    before = store.get_watermark()
    message = "AnalysisException: [PATH_NOT_FOUND] Path does not exist: s3://injected/bronze"
    aws.server.set_faults({"glue_fail": {aws.dag.outputs["SilverJobName"]: message}})
    # GlueJobOperator waiting in the task (the green day's waited in the trigger).
    result = run_dag(aws, GLUE_FAIL_DAY, WISTIA_GLUE_DEFERRABLE="false")
    assert result.returncode == 1, result.output[-6000:]
    assert "silver" in result.days[0]["failed_tasks"]
    record = store.get_day(GLUE_FAIL_DAY)
    assert record.status is DayStatus.FAILED
    assert record.error.startswith("silver: ")
    assert message in record.error  # the Glue run's ErrorMessage, through the provider
    assert store.get_watermark() == before


def test_a_lambda_exception_fails_the_day_with_its_error(aws: Emulated) -> None:
    store = aws.dag.store()
    before = store.get_watermark()
    message = "Wistia API answered 503 (injected)"
    function = aws.dag.outputs["IngestFunctionName"]
    aws.server.set_faults({"lambda_error": {function: message}})
    result = run_dag(aws, LAMBDA_FAIL_DAY)
    assert result.returncode == 1, result.output[-6000:]
    # claim_day's preflight is the ingestion Lambda's dry run: the same failing function stops
    # the run there, before anything is claimed or ingested, with the Lambda's error text.
    assert "claim_day" in result.days[0]["failed_tasks"]
    assert "ingest" not in result.days[0].get("succeeded_tasks", [])
    assert store.get_day(LAMBDA_FAIL_DAY) is None  # nothing claimed
    assert message in result.output  # the Lambda's errorMessage
    assert store.get_watermark() == before


def test_a_missing_table_fails_the_checks(aws: Emulated) -> None:
    """The defect a real deploy had: the checks query a table the catalog lacks."""
    store = aws.dag.store()
    before = store.get_watermark()
    staging = staging_database(aws.dag.database)  # where the checks read the run's output
    awsdemo.athena_query(aws.dag, f"DROP TABLE IF EXISTS {staging}.reconciliation")
    try:
        # Only the checks run again: ingest, silver and gold are marked successful (the lake
        # holds DAY's gold from the green run, or none: the checks fail either way).
        result = run_dag(aws, DAY, "--mark-success", "^(ingest|silver|gold)$")
        assert result.returncode == 1, result.output[-6000:]
        assert "checks" in result.days[0]["failed_tasks"]
        record = store.get_day(DAY)
        assert record.status is DayStatus.FAILED
        assert record.error.startswith("checks: ")
        assert "TABLE_NOT_FOUND" in record.error
        assert f"{staging}.reconciliation" in record.error.lower()
        assert store.get_watermark() == before
    finally:
        awsdemo.deploy(ENV, aws.dist)  # deploy creates the tables the catalog lacks
