"""AWS target: the ingestion Lambda, Glue jobs and Athena checks through the Amazon provider hooks.

The hooks are used directly (not nested provider operators, which Airflow is phasing out) with the
same semantics as ``LambdaInvokeFunctionOperator`` (a ``FunctionError`` fails the task) and
``GlueJobOperator`` (start the run, then wait in the triggerer with ``GlueJobCompleteTrigger``, or
poll in the task when ``WISTIA_GLUE_DEFERRABLE=false``).
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from wistia_airflow.adapters.base import Adapter, CheckOutcome, GlueRun
from wistia_pipeline import pipeline
from wistia_pipeline.config import Settings

log = logging.getLogger(__name__)

# Enough attempts for a long Glue job at the configured poll interval (capped at 24 h).
GLUE_MAX_WAIT_SECONDS = 24 * 3600
ATHENA_MAX_WAIT_SECONDS = 30 * 60


# The ingestion Lambda runs for minutes (timeout 900 s, include/infra/pipeline.yaml). botocore's
# default 60 s read timeout would cut the synchronous invoke and its retry would invoke the
# function again (throttled by reserved concurrency 1): wait longer than the function can run
# and never re-invoke from the client; Airflow's task retries own that decision.
LAMBDA_READ_TIMEOUT_S = 960


def lambda_client_config() -> Any:
    from botocore.config import Config

    return Config(
        read_timeout=LAMBDA_READ_TIMEOUT_S,
        connect_timeout=10,
        tcp_keepalive=True,
        retries={"max_attempts": 0},
    )


class LambdaFunctionError(RuntimeError):
    """The ingestion Lambda ran and raised (the invoke response carries ``FunctionError``)."""


class AthenaQueryFailed(RuntimeError):
    """An Athena check query did not succeed."""


class AwsAdapter(Adapter):
    def __init__(self, settings: Settings, resources: pipeline.Resources) -> None:
        self.settings = settings
        self.resources = resources

    # --- ingest -------------------------------------------------------------------------------
    def ingest(self, payload: dict[str, Any]) -> dict[str, Any]:
        from airflow.providers.amazon.aws.hooks.lambda_function import LambdaHook

        function = self.resources.lambda_function
        hook = LambdaHook(aws_conn_id=self.resources.aws_conn_id, config=lambda_client_config())
        log.info("invoking Lambda %s with %s", function, json.dumps(payload))
        response = hook.invoke_lambda(
            function_name=function,
            invocation_type="RequestResponse",
            payload=json.dumps(payload),
        )
        status = response.get("StatusCode")
        body = response["Payload"].read().decode("utf-8", errors="replace")
        if "FunctionError" in response:
            raise LambdaFunctionError(
                f"Lambda {function} failed ({response['FunctionError']}): {body[:2000]}"
            )
        if status not in (200, 202, 204):
            raise LambdaFunctionError(f"Lambda {function} returned status {status}: {body[:2000]}")
        try:
            summary = json.loads(body) if body else {}
        except ValueError:
            raise LambdaFunctionError(
                f"Lambda {function} returned a non-JSON payload: {body[:500]!r}"
            ) from None
        if not isinstance(summary, dict):
            raise LambdaFunctionError(
                f"Lambda {function} returned {type(summary).__name__}, expected a JSON object"
            )
        return summary

    # --- Glue ---------------------------------------------------------------------------------
    def _glue_hook(self, job_name: str) -> Any:
        from airflow.providers.amazon.aws.hooks.glue import GlueJobHook

        return GlueJobHook(
            job_name=job_name,
            aws_conn_id=self.resources.aws_conn_id,
            job_poll_interval=self.resources.poll_seconds,
        )

    def start_glue(self, step: str, args: dict[str, str]) -> GlueRun:
        job = self.resources.glue_job(step)
        arguments = pipeline.glue_arguments(args)
        response = self._glue_hook(job).conn.start_job_run(JobName=job, Arguments=arguments)
        run_id = response["JobRunId"]
        log.info("started Glue job %s run %s with %s", job, run_id, arguments)
        return GlueRun(step=step, job_name=job, run_id=run_id, done=False, state="STARTING")

    def _final(self, run: GlueRun, state: str) -> GlueRun:
        if state != "SUCCEEDED":
            raise RuntimeError(f"Glue job {run.job_name} run {run.run_id} ended {state}")
        return GlueRun(run.step, run.job_name, run.run_id, done=True, state=state)

    def wait_glue(self, run: GlueRun) -> GlueRun:
        hook = self._glue_hook(run.job_name)
        hook.job_completion(run.job_name, run.run_id)  # raises on FAILED / TIMEOUT
        return self._final(run, hook.get_job_state(run.job_name, run.run_id))

    def finish_glue(self, run: GlueRun) -> GlueRun:
        hook = self._glue_hook(run.job_name)
        return self._final(run, hook.get_job_state(run.job_name, run.run_id))

    def glue_trigger(self, run: GlueRun) -> Any:
        from airflow.providers.amazon.aws.triggers.glue import GlueJobCompleteTrigger

        delay = max(1, int(self.resources.poll_seconds))
        return GlueJobCompleteTrigger(
            job_name=run.job_name,
            run_id=run.run_id,
            waiter_delay=delay,
            waiter_max_attempts=max(1, GLUE_MAX_WAIT_SECONDS // delay),
            aws_conn_id=self.resources.aws_conn_id,
        )

    # --- checks -------------------------------------------------------------------------------
    def run_checks(self, start: date, end: date) -> list[CheckOutcome]:
        from airflow.providers.amazon.aws.hooks.athena import AthenaHook

        from wistia_pipeline.sql import list_queries, render_sql

        res = self.resources
        hook = AthenaHook(aws_conn_id=res.aws_conn_id)
        result_conf = {"OutputLocation": res.athena_output} if res.athena_output else {}
        started: list[tuple[str, str]] = []
        for name in list_queries("checks"):
            sql = render_sql(
                "checks",
                name,
                start_date=start.isoformat(),
                end_date=end.isoformat(),
                database=res.athena_database,
                tolerance=res.check_tolerance,
            )
            query_id = hook.run_query(
                sql,
                query_context={"Database": res.athena_database},
                result_configuration=result_conf,
                workgroup=res.athena_workgroup,
            )
            started.append((name, query_id))
        sleep = max(1, int(res.poll_seconds))
        outcomes = []
        for name, query_id in started:
            state = hook.poll_query_status(
                query_id, max_polling_attempts=ATHENA_MAX_WAIT_SECONDS // sleep, sleep_time=sleep
            )
            if state != "SUCCEEDED":
                reason = hook.get_state_change_reason(query_id)
                raise AthenaQueryFailed(f"check {name} (query {query_id}) ended {state}: {reason}")
            outcomes.append(parse_check_result(name, query_id, hook.get_query_results(query_id)))
        return outcomes


def parse_check_result(name: str, query_id: str, results: dict[str, Any] | None) -> CheckOutcome:
    """One check's Athena ``GetQueryResults`` (header row + one row) -> :class:`CheckOutcome`."""
    rows = ((results or {}).get("ResultSet") or {}).get("Rows") or []
    values = [[col.get("VarCharValue") for col in row.get("Data", [])] for row in rows]
    if values and values[0][:2] == ["check_name", "failures"]:
        values = values[1:]  # Athena returns the header as the first row
    if len(values) != 1 or len(values[0]) < 2:
        raise AthenaQueryFailed(
            f"check {name} (query {query_id}) must return one row (check_name, failures, detail), "
            f"got {values!r}"
        )
    row = values[0]
    try:
        failures = int(row[1])
    except (TypeError, ValueError):
        raise AthenaQueryFailed(f"check {name}: failures is not an integer: {row[1]!r}") from None
    detail = row[2] if len(row) > 2 and row[2] is not None else ""
    return CheckOutcome(check_name=row[0] or name, failures=failures, detail=detail)
