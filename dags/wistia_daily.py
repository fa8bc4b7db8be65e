"""
### wistia_daily

Wistia API -> bronze -> silver -> gold -> checks -> publish, for one UTC data day `D` per run.

`D` is the **start of the run's data interval** (`CronDataIntervalTimetable`, daily at 00:00 UTC),
so catchup makes exactly one run per day. Every run re-ingests and recomputes the lookback window
`[D - L, D]` (param `lookback_days`, default `WISTIA_LOOKBACK_DAYS` = 2) because Wistia events
arrive late; silver and gold overwrite only the window's partitions, so reruns are idempotent.

| task | what |
|---|---|
| `claim_day` | setup: mark `D` RUNNING in the run-state store (DynamoDB / SQLite) |
| `ingest` | the ingestion Lambda (aws) or the same handler in-process (local) |
| `silver`, `gold` | the Glue jobs (aws, deferrable) or the same scripts on local Spark |
| `checks` | the data-check SQL on Athena (aws) or DuckDB (local) |
| `publish` | advance the watermark (never backwards), mark `D` SUCCEEDED; emits the gold Assets |
| `mark_failed` | teardown: marks `D` FAILED with the error when a step failed (the run still fails) |

The target comes from `WISTIA_TARGET` (`aws` on MWAA, `local` otherwise) when a task runs; the
graph is the same on both. Resource names come from env / Airflow Variables at run time (see
`wistia_pipeline.pipeline.RESOURCE_SETTINGS`). `max_active_runs=1`: consecutive days share
`L` partitions of the window and the watermark must advance day by day.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param

from wistia_airflow.callbacks import notify_failure
from wistia_airflow.operators import (
    ChecksOperator,
    ClaimDayOperator,
    GlueStepOperator,
    IngestOperator,
    MarkFailedOperator,
    PublishOperator,
)
from wistia_pipeline import pipeline

# A cheap env read (no I/O): where catchup starts. Default: the first day of 2026.
START_DATE = datetime.fromisoformat(os.environ.get("WISTIA_START_DATE") or "2026-01-01").replace(
    tzinfo=UTC
)

# Named Assets (no URI scheme): the lake location is resolved at run time, and a scheme would
# make Airflow load every provider's URI handlers while parsing (~2 s).
GOLD_ASSETS = [Asset(name=f"wistia.gold.{t}", group="wistia") for t in pipeline.GOLD_TABLES]

with DAG(
    dag_id=pipeline.DAG_ID,
    description="Wistia stats -> S3 lake (bronze/silver/gold) -> Athena, one UTC day per run",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
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
            maximum=30,
            description="L: days before D to re-ingest (empty: WISTIA_LOOKBACK_DAYS)",
        ),
        "streams": Param(
            list(pipeline.ALL_STREAMS),
            type="array",
            items={"type": "string", "enum": list(pipeline.ALL_STREAMS)},
            description="Wistia streams to ingest",
        ),
    },
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(hours=2),
        "on_failure_callback": notify_failure,
    },
) as dag:
    claim = ClaimDayOperator()
    ingest = IngestOperator()
    silver = GlueStepOperator(step=pipeline.SILVER)
    gold = GlueStepOperator(step=pipeline.GOLD)
    checks = ChecksOperator()
    publish = PublishOperator(outlets=GOLD_ASSETS)
    mark_failed = MarkFailedOperator(retries=3)

    claim >> ingest >> silver >> gold >> checks >> publish >> mark_failed
    mark_failed.as_teardown(setups=claim)
