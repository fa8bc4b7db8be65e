"""The aws target end to end: the real DAG through dag.test() against moto server.

moto stands in for Lambda (docker-less: it echoes the payload, so the test sees exactly what was
sent), Glue (job runs move STARTING -> RUNNING -> SUCCEEDED as they are polled), Athena (the check
results are queued through moto's static-results API) and DynamoDB (the real run-state store).
The ingestion Lambda's FunctionError is produced the only way moto's docker-less Lambda offers:
a queued result larger than 6 MB, which moto reports as ``FunctionError: Unhandled``.
"""

from __future__ import annotations

from datetime import date, timedelta

import boto3
import pytest

from e2e.aws_stack import (
    LAKE,
    provision,
    queue_check_results,
    queue_lambda_function_error,
)
from wistia_pipeline.config import load_settings
from wistia_pipeline.sql import list_queries
from wistia_pipeline.state import DayStatus, open_state_store

pytestmark = pytest.mark.slow

DAY = date(2026, 3, 10)


@pytest.mark.parametrize("deferrable", ["true", "false"])
def test_aws_target_success_then_function_error(
    aws_env, airflow_runner, monkeypatch, deferrable: str
) -> None:
    env = provision(aws_env)
    env["WISTIA_GLUE_DEFERRABLE"] = deferrable
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    store = open_state_store(load_settings())

    # --- a green day -------------------------------------------------------------------------
    queue_check_results(aws_env)
    result = airflow_runner.backfill(DAY, DAY, env)
    assert result.returncode == 0, result.output[-6000:]
    run_id = result.days[0]["run_id"]
    # Deferrable: both Glue tasks waited in the trigger (dag.test() runs it in line).
    deferred = result.output.count("Pausing task as DEFERRED")
    assert deferred == (2 if deferrable == "true" else 0), result.output[-6000:]

    # Lambda got the pipeline's payload (the docker-less Lambda echoes it back to the task).
    echoed = airflow_runner.xcom("ingest", run_id)
    assert (
        echoed
        == {  # the documented Lambda event, spelled out (not rebuilt by the code under test)
            "logical_date": "2026-03-10",
            "lookback_days": 2,
            "streams": ["medias", "media_by_date", "events", "visitors", "analytics"],
            "run_id": run_id,
        }
    )

    # Both Glue jobs ran once (GlueJobOperator), over the window [D-2, D], and were awaited to
    # SUCCEEDED. The operator tags the run with the task (resume_glue_job_on_retry).
    glue = boto3.client("glue")
    for step, job in (("silver", "wistia-silver-test"), ("gold", "wistia-gold-test")):
        runs = glue.get_job_runs(JobName=job)["JobRuns"]
        assert len(runs) == 1
        assert runs[0]["Arguments"] == {
            "--start_date": (DAY - timedelta(days=2)).isoformat(),
            "--end_date": DAY.isoformat(),
            "--lake_uri": LAKE,
            "--pii_secret_id": "wistia/pii-test",
            "--airflow_task_uuid": f"wistia_daily:{step}:{run_id}:-1",
        }
        assert airflow_runner.xcom(step, run_id) == runs[0]["Id"]
        assert runs[0]["JobRunState"] == "SUCCEEDED"

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
    queue_lambda_function_error(aws_env)
    next_day = DAY + timedelta(days=1)
    failed = airflow_runner.backfill(next_day, next_day, env)
    assert failed.returncode == 1, failed.output[-6000:]
    assert failed.days[0]["state"] == "failed"
    assert "ingest" in failed.days[0]["failed_tasks"]
    record = store.get_day(next_day)
    assert record.status is DayStatus.FAILED
    # LambdaInvokeFunctionOperator's error for a response with FunctionError.
    assert record.error.startswith("ingest: ValueError: ('Lambda function execution resulted in")
    assert "Unhandled" in record.error  # the x-amz-function-error header of the response
    assert store.get_watermark() == DAY
    for job in ("wistia-silver-test", "wistia-gold-test"):
        assert len(glue.get_job_runs(JobName=job)["JobRuns"]) == 1  # nothing ran after ingest
