"""
### wistia_daily

Wistia API -> bronze -> silver -> gold -> checks -> publish, for the UTC data days `[D1, D2]`
of the run's data interval (`[D1 00:00, D2 + 1 00:00)`).

`RangeCatchupTimetable` (`wistia_airflow.timetables`): one day per run (`D1 = D2`, daily at
00:00 UTC) when current; when behind (catchup, a backfill from the CLI or the UI's Backfill form)
each run covers up to `WISTIA_MAX_RANGE_DAYS` days (default 7). Every run re-ingests and
recomputes `[D1 - L, D2]` once (param `lookback_days`, default `WISTIA_LOOKBACK_DAYS` = 2, because
Wistia events arrive late); silver and gold overwrite only those partitions, so reruns are
idempotent. A run claims every day of its range at once and publishes them together (the
watermark moves to `D2`); a failure leaves none of them SUCCEEDED.

| task | what |
|---|---|
| `claim_day` | setup: mark `D1..D2` RUNNING in the run-state store (DynamoDB / SQLite); waits (deferred) while an overlapping run is live |
| `route` | branch: the full run, or (param `publish_only`) straight to `checks` |
| `ingest` | the Lambda invoked asynchronously, then a deferred wait on the run's ingestion record (aws), or the same handler in-process (local) |
| `silver`, `gold` | `GlueJobOperator`, deferrable (aws), or the same scripts on local Spark |
| `checks` | the data-check SQL on Athena (aws) or DuckDB (local), on the staged output |
| `publish` | publish the stage, advance the watermark to `D2` (never backwards), mark `D1..D2` SUCCEEDED; emits the gold Assets |
| `mark_failed` | teardown: marks `D1..D2` FAILED with the error when a step failed (the run still fails) |

The target comes from `WISTIA_TARGET` (`aws` on MWAA, `local` otherwise; an env read, set for
every Airflow component by MWAA's startup script); the graph and task ids are the same on both.
Resource names, the Lambda payload and the Glue `script_args` are resolved at run time by
`claim_day` (env / Airflow Variables, see `wistia_pipeline.config.SETTINGS`) and
reach the later tasks through Jinja (`wistia_airflow.plan`). `max_active_runs=1`: consecutive
runs share `L` partitions of the window and the watermark must advance in order. A backfill
has its own max active runs: its overlapping runs wait for each other in `claim_day`.

**When a check fails for a known reason** (docs/architecture.md, "Overrides and publish-only
reruns"): trigger the day again with `accept_failed_checks` (the check names) and
`override_reason`; the run still runs every check, a named check's failure does not fail it,
and the override is logged, stored with the day's run state and shown in its report. Add
`publish_only` to skip ingest, silver and gold and check and publish the stage the failed run
left (refused when none of the window is left, or a later run re-staged it).
"""

from __future__ import annotations

from datetime import timedelta

# Top-level airflow.* imports: the dag-processor imports them once in its parent process
# ([dag_processor] parsing_pre_import_modules), so a parse of this file does not pay for them.
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.sdk import DAG, Asset, BaseOperator, Param

from wistia_airflow import plan
from wistia_airflow.callbacks import notify_failure, record_step_error
from wistia_airflow.compat import glue_resume_on_retry
from wistia_airflow.ingestion import AsyncIngestOperator
from wistia_airflow.local_operators import LocalGlueJobOperator, LocalIngestOperator
from wistia_airflow.operators import (
    ChecksOperator,
    ClaimDayOperator,
    MarkFailedOperator,
    PublishOperator,
    ReportOperator,
    RouteOperator,
    guarded,
)
from wistia_airflow.provider_settings import apply_glue_wait_settings
from wistia_airflow.timetables import RangeCatchupTimetable
from wistia_pipeline import pipeline
from wistia_pipeline.config import (
    MAX_LOOKBACK_DAYS,
    resolve_max_range_days,
    resolve_start_date,
    resolve_target,
)

# Cheap env reads (no I/O): the target, where catchup starts, how many days a catchup run takes.
TARGET = resolve_target()
START_DATE = resolve_start_date()
MAX_RANGE_DAYS = resolve_max_range_days()

# Named Assets (no URI scheme): the lake location is resolved at run time, and a scheme would
# make Airflow load every provider's URI handlers while parsing (~2 s).
GOLD_ASSETS = [Asset(name=f"wistia.gold.{t}", group="wistia") for t in pipeline.GOLD_TABLES]


def ingest_task() -> BaseOperator:
    if TARGET == "aws":
        # Asynchronous invoke, then a (deferred) wait on the run's ingestion record: no call
        # waits on the Lambda past a NAT's idle timeout (wistia_airflow.ingestion).
        return guarded(AsyncIngestOperator)(
            function_name=plan.value("lambda_function"),
            payload=plan.value("lambda_payload"),
            aws_conn_id=plan.value("aws_conn_id"),
            claim_attempt=plan.value("attempt"),
        )
    return guarded(LocalIngestOperator)(payload=plan.value("lambda_payload"))


def glue_task(step: pipeline.Step) -> BaseOperator:
    script_args = plan.value("glue", step.task_id, "script_args")
    if TARGET == "aws":
        return guarded(GlueJobOperator)(
            task_id=step.task_id,
            doc_md=step.doc,
            job_name=plan.value("glue", step.task_id, "job_name"),
            script_args=script_args,
            aws_conn_id=plan.value("aws_conn_id"),
            deferrable=True,
            pre_execute=apply_glue_wait_settings,
            **glue_resume_on_retry(GlueJobOperator),  # a retry waits for a still-running run
        )
    return guarded(LocalGlueJobOperator)(step=step, script_args=script_args)


with DAG(
    dag_id=pipeline.DAG_ID,
    description="Wistia stats -> S3 lake (bronze/silver/gold) -> Athena, UTC days [D1, D2] per run",
    doc_md=__doc__,
    schedule=RangeCatchupTimetable(MAX_RANGE_DAYS),
    start_date=START_DATE,
    catchup=True,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    render_template_as_native_obj=True,
    tags=["wistia", "lake", "athena"],
    params={
        "lookback_days": Param(
            None,
            type=["null", "integer"],
            minimum=0,
            maximum=MAX_LOOKBACK_DAYS,  # the bound WISTIA_LOOKBACK_DAYS has too
            description="L: days before D to re-ingest (empty: WISTIA_LOOKBACK_DAYS)",
        ),
        "streams": Param(
            list(pipeline.ALL_STREAMS),
            type="array",
            items={"type": "string", "enum": list(pipeline.ALL_STREAMS)},
            description="Wistia streams to ingest",
        ),
        # Checked against checks/*.sql by claim_day, before any work: listing them here would
        # import the SQL package (sqlglot) on every parse.
        "accept_failed_checks": Param(
            [],
            type="array",
            items={"type": "string", "pattern": "^[a-z0-9_]+$"},
            uniqueItems=True,
            description=(
                "Override: data checks (names of checks/*.sql, e.g. reconciliation_gap) whose "
                "failure does not fail this run; every check still runs, and the override is "
                "logged, stored with the day's run state and shown in its report"
            ),
        ),
        "override_reason": Param(
            None,
            type=["null", "string"],
            maxLength=500,
            description="Why the named checks may fail (required with accept_failed_checks)",
        ),
        "publish_only": Param(
            False,
            type="boolean",
            description=(
                "Skip ingest, silver and gold: run the checks and publish on the stage the "
                "latest run of the same window left (e.g. after a failed check, with an override)"
            ),
        ),
    },
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(hours=2),
        "on_failure_callback": [record_step_error, notify_failure],
    },
) as dag:
    # Every task is guarded(): a permanent error fails it without retries, and the main-line
    # steps renew the day's claim (heartbeat) while they run (wistia_airflow.operators).
    # Its own timeout: a claim may wait (deferred) WISTIA_CLAIM_WAIT_SECONDS (default 4 h) for
    # an overlapping run; the DAG run's 6 h still bounds the whole run.
    claim = guarded(ClaimDayOperator)(execution_timeout=timedelta(hours=5))
    route = guarded(RouteOperator)()
    ingest = ingest_task()
    silver = glue_task(pipeline.SILVER)
    gold = glue_task(pipeline.GOLD)
    # After gold, or straight after route (publish_only: ingest skipped, silver and gold with
    # it); never after a failed or upstream-failed step.
    checks = guarded(ChecksOperator)(trigger_rule="none_failed_min_one_success")
    publish = guarded(PublishOperator)(outlets=GOLD_ASSETS)
    mark_failed = guarded(MarkFailedOperator)(retries=3)
    report = guarded(ReportOperator)()

    claim >> route >> ingest >> silver >> gold >> checks >> publish >> mark_failed
    route >> checks
    mark_failed.as_teardown(setups=claim)
    # The daily report: after publish whether or not it ran; a teardown, so a report failure
    # never fails the run (the day stays published; the failure callbacks alert).
    publish >> report
    report.as_teardown(setups=claim)
