"""The bodies of the two Glue jobs: bronze -> silver and silver -> gold for a window of days.

The scripts in ``glue_scripts/`` parse the job arguments and call :func:`run_silver` or
:func:`run_gold`; what each stream and table is comes from :mod:`.registry` and
``wistia_pipeline.streams``.
"""

from __future__ import annotations

import datetime as dt
import logging

from pyspark.sql import DataFrame, SparkSession

from wistia_pipeline import bronze
from wistia_pipeline.storage import open_storage
from wistia_pipeline.streams import stream_info

from . import gold, lake_io
from .empty import empty_silver
from .envelope import Checked, parse_envelopes
from .pii import PiiHasher
from .quality import RejectCount, check_reject_shares
from .registry import SILVER, Spec
from .tables import gold_uri, rejects_uri, silver_uri

log = logging.getLogger(__name__)


def _check_streams(
    spark: SparkSession, lake: str, days: list[dt.date]
) -> dict[str, tuple[Checked, list[dt.date]]]:
    """Per stream with complete bronze runs in the window: its checked rows and run days.

    Every part is verified against its manifest before Spark reads it.
    """
    storage = open_storage(lake)
    out: dict[str, tuple[Checked, list[dt.date]]] = {}
    for stream, spec in SILVER.items():
        runs = bronze.select_complete_runs(storage, lake, stream, days)
        log.info("%s: runs %s", stream, [(r.dt.isoformat(), r.run_id) for r in runs])
        if not runs:
            continue
        lines = lake_io.read_bronze_lines(spark, bronze.verified_file_uris(storage, runs))
        result = spec.check(parse_envelopes(lines, stream), days[0], days[-1])
        out[stream] = (Checked(lake_io.persist(result.df)), [r.dt for r in runs])
    return out


def _write_rejects(
    spark: SparkSession, lake: str, stream: str, checked: Checked, run_days: list[dt.date]
) -> RejectCount:
    """Write (or clear) the run days' rejects of ``stream``; return its reject count."""
    table = stream_info(stream).silver_table
    ok = checked.df["_reject_reason"].isNull().alias("ok")
    by_ok = {r["ok"]: r["count"] for r in checked.df.groupBy(ok).count().collect()}
    count = RejectCount(table, sum(by_ok.values()), by_ok.get(False, 0))
    if count.rejected:
        lake_io.write_window(spark, checked.rejects, rejects_uri(lake, table), run_days, ["reason"])
    else:
        lake_io.clear_partitions(spark, rejects_uri(lake, table), run_days)
    return count


def _write_silver(
    spark: SparkSession, lake: str, spec: Spec, rows: DataFrame, run_days: list[dt.date]
) -> None:
    """Write the run days of ``spec.table``; rebuild its derived tables from all of it."""
    uri = silver_uri(lake, spec.table)
    lake_io.write_window(spark, rows, uri, run_days, spec.sort_by)
    if not spec.derived:
        return
    every = lake_io.read_table(spark, uri, rows.schema)
    if every is None:
        raise RuntimeError(f"silver table {spec.table} missing right after writing it")
    every = lake_io.persist(every)
    for table in spec.derived:
        lake_io.write_whole(table.build(every), silver_uri(lake, table.table), table.sort_by)


def run_silver(
    spark: SparkSession, lake: str, days: list[dt.date], hasher: PiiHasher, max_share: float
) -> None:
    """Bronze -> silver for ``days``: rejects first, then nothing published above ``max_share``.

    Only the dt partitions of days with a complete bronze run are rewritten; such a day whose
    run has no valid rows is emptied (that run supersedes older data).
    """
    checked = _check_streams(spark, lake, days)
    counts = [_write_rejects(spark, lake, s, c, run_days) for s, (c, run_days) in checked.items()]
    log.info("reject counts: %s", counts)
    check_reject_shares(counts, max_share)
    for stream, (result, run_days) in checked.items():
        spec = SILVER[stream]
        rows = lake_io.persist(spec.build(result.valid, hasher))
        _write_silver(spark, lake, spec, rows, run_days)
    spark.catalog.clearCache()


def _silver_window(spark: SparkSession, lake: str, table: str, days: list[dt.date]) -> DataFrame:
    """The window's partitions of a silver table; empty (typed) when it has none yet."""
    df = lake_io.read_partitions(spark, silver_uri(lake, table), days)
    return df if df is not None else empty_silver(spark, table)


def run_gold(spark: SparkSession, lake: str, days: list[dt.date]) -> None:
    """Silver -> gold: rewrite the window of the fact and reconciliation, rebuild dim_media."""
    medias = lake_io.read_table(spark, silver_uri(lake, "medias"))
    if medias is None:
        medias = empty_silver(spark, "medias")
    events, stats, analytics = (
        _silver_window(spark, lake, table, days)
        for table in ("events", "media_daily_stats", "media_analytics_daily")
    )
    fact = lake_io.persist(gold.fact_media_daily(events, stats, analytics, medias))
    lake_io.write_window(spark, fact, gold_uri(lake, "fact_media_daily"), days, ["media_id"])
    lake_io.write_window(
        spark, gold.reconciliation(fact), gold_uri(lake, "reconciliation"), days, ["media_id"]
    )
    fact_all = lake_io.read_table(spark, gold_uri(lake, "fact_media_daily"), fact.schema)
    if fact_all is None:  # nothing written yet and nothing to write
        fact_all = fact
    lake_io.write_whole(gold.dim_media(medias, fact_all), gold_uri(lake, "dim_media"), ["media_id"])
    spark.catalog.clearCache()
