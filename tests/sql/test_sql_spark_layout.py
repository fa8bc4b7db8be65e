"""Parquet written by Spark the way the Glue jobs write it (partitionBy("dt") on a date column,
INT96 timestamps, _SUCCESS / .crc side files) is read correctly by the local views."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sql_lake import publish_as_written

from wistia_pipeline.sql import run_checks_local, run_query_local

pytestmark = pytest.mark.slow


def test_checks_and_queries_read_spark_written_tables(spark, tmp_path: Path) -> None:
    from pyspark.sql import functions as F

    lake = tmp_path / "lake"
    day = date(2024, 3, 4)
    received = datetime(2024, 3, 4, 23, 59, 58, tzinfo=UTC)
    fact = spark.createDataFrame(
        [("m1", "Intro", 4, 1, 0.25, 0.5, 1, 1, 0.4, None, None, None, received, day)],
        "media_id string, media_name string, loads bigint, plays bigint, play_rate double, "
        "hours_watched double, unique_visitors bigint, events bigint, avg_percent_viewed double, "
        "analytics_unique_visitors bigint, analytics_play_rate double, "
        "analytics_engagement_rate double, gold_ingested_at timestamp, dt date",
    )
    fact.write.partitionBy("dt").parquet(str(lake / "gold/wistia/fact_media_daily"))
    recon = fact.select(
        "media_id",
        F.col("events").alias("events_count"),
        F.col("plays").alias("play_count"),
        (F.col("events") - F.col("plays")).alias("difference"),
        "dt",
    )
    recon.write.partitionBy("dt").parquet(str(lake / "gold/wistia/reconciliation"))
    events = spark.createDataFrame(
        [("e1", received, "m1", "v1", 0.4, "a" * 64, day)],
        "event_key string, received_at timestamp, media_id string, visitor_key string, "
        "percent_viewed double, ip_hash string, dt date",
    )
    events.write.partitionBy("dt").parquet(str(lake / "silver/wistia/events"))
    publish_as_written(lake)  # readers (and the checks) see manifests, as after a run

    results = run_checks_local(str(lake), day, day)
    assert all(r.passed for r in results), results
    _, rows = run_query_local(
        str(lake), "SELECT dt, received_at, email_hash, ip_hash FROM wistia.events"
    )
    assert rows == [("2024-03-04", received.replace(tzinfo=None), None, "a" * 64)]
    _, top = run_query_local(
        str(lake), "top_media_by_play_rate", start_date=day, end_date=day, top_n=3
    )
    assert [(r[0], r[2], r[-1]) for r in top] == [("2024-03-04", "m1", 0.25)]


def test_dim_media_ddl_matches_what_the_gold_job_writes(spark) -> None:
    """Names, order and types of gold.dim_media as built from (empty) silver tables."""
    from wistia_pipeline.sql.schema import table_specs
    from wistia_pipeline.transforms import gold
    from wistia_pipeline.transforms.empty import empty_silver

    medias = empty_silver(spark, "medias")
    fact = gold.fact_media_daily(
        empty_silver(spark, "events"),
        empty_silver(spark, "media_daily_stats"),
        empty_silver(spark, "media_analytics_daily"),
        medias,
    )
    snapshot_days = empty_silver(spark, "medias_snapshots").select("dt")
    dim = gold.dim_media(medias, fact, snapshot_days)
    (spec,) = [s for s in table_specs("s3://lake") if s.name == "dim_media"]
    assert [(c.name, c.athena_type) for c in spec.all_columns] == [
        (f.name, f.dataType.simpleString()) for f in dim.schema.fields
    ]


def test_rejects_ddl_matches_what_the_silver_job_writes(spark) -> None:
    """Names, order and types of the rejects rows of every stream: the DDL's data columns, then
    ``dt`` (a date in Spark, the projected ``dt`` partition in Athena; ``source_table`` comes
    from the folder the job writes to)."""
    from wistia_pipeline.sql.schema import table_specs
    from wistia_pipeline.transforms.envelope import parse_envelopes
    from wistia_pipeline.transforms.lake_io import LINES_SCHEMA
    from wistia_pipeline.transforms.pii import PiiHasher
    from wistia_pipeline.transforms.registry import SILVER

    (spec,) = [s for s in table_specs("s3://lake") if s.name == "rejects"]
    expected = [(c.name, c.athena_type) for c in spec.columns] + [("dt", "date")]
    assert [c.name for c in spec.partitions] == ["source_table", "dt"]
    lines = spark.createDataFrame([], LINES_SCHEMA)
    day = date(2024, 3, 4)
    for stream, silver_spec in SILVER.items():
        checked = silver_spec.check(parse_envelopes(lines, stream), day, day)
        rejects = checked.rejects(PiiHasher("layout-test-key"))
        got = [(f.name, f.dataType.simpleString()) for f in rejects.schema.fields]
        assert got == expected, stream
