"""Glue job: bronze -> silver for the run window (AWS Glue 5.x and local spark-submit).

Arguments (Glue ``--name value`` form)::

    --start_date YYYY-MM-DD --end_date YYYY-MM-DD --lake_uri <path or s3://...>
    [--pii_secret_id <Secrets Manager id>] [--max_reject_share 0.01]

Reads, per stream and day of the window, the latest complete bronze run; writes the window's
``dt`` partitions of silver (dynamic partition overwrite) and ``_rejects``; fails without
publishing silver when a table's reject share is above ``--max_reject_share``. Days of the
window whose latest run has no valid rows are emptied (that run supersedes older data).
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession

import wistia_pipeline
from wistia_pipeline.bronze import select_complete_runs
from wistia_pipeline.glue_args import parse_date, parse_share, resolve_options, window_dates
from wistia_pipeline.storage import open_storage
from wistia_pipeline.transforms import lake_io, silver
from wistia_pipeline.transforms.envelope import Checked, parse_envelopes
from wistia_pipeline.transforms.pii import PiiHasher, resolve_pii_key
from wistia_pipeline.transforms.quality import RejectCount, check_reject_shares
from wistia_pipeline.transforms.tables import REJECT_TABLES, rejects_uri, silver_uri

log = logging.getLogger("wistia_silver")

REQUIRED = ("start_date", "end_date", "lake_uri")
OPTIONAL = {"pii_secret_id": None, "max_reject_share": "0.01"}


def _check(stream: str, parsed: DataFrame, start: dt.date, end: dt.date) -> Checked:
    if stream == "events":
        return silver.check_events(parsed, start, end)
    if stream == "media_by_date":
        return silver.check_media_by_date(parsed, start, end)
    if stream == "analytics":
        return silver.check_analytics(parsed, start, end)
    if stream == "medias":
        return silver.check_medias(parsed)
    return silver.check_visitors(parsed)


def _write_current(
    spark: SparkSession, lake: str, snapshots: DataFrame, snap_table: str, days: list[dt.date]
) -> DataFrame:
    """Write a snapshot table's window; return all its snapshots (for the current tables)."""
    lake_io.write_window(
        spark, snapshots, silver_uri(lake, snap_table), days, [snapshots.columns[0]]
    )
    every = lake_io.read_table(spark, silver_uri(lake, snap_table), snapshots.schema)
    if every is None:
        raise RuntimeError(f"silver table {snap_table} missing right after writing it")
    return lake_io.persist(every)


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = resolve_options(sys.argv if argv is None else argv, REQUIRED, OPTIONAL)
    start = parse_date(args["start_date"], "start_date")
    end = parse_date(args["end_date"], "end_date")
    days = window_dates(start, end)
    max_share = parse_share(args["max_reject_share"], "max_reject_share")
    lake = str(args["lake_uri"]).rstrip("/")
    log.info("wistia_pipeline loaded from %s", wistia_pipeline.__file__)

    hasher = PiiHasher(resolve_pii_key(args["pii_secret_id"]))
    spark = lake_io.spark_session("wistia-silver")
    storage = open_storage(lake)

    # 1. parse + check every stream that has complete bronze runs in the window
    checked: dict[str, Checked] = {}
    run_days: dict[str, list[dt.date]] = {}
    for stream in REJECT_TABLES:
        runs = select_complete_runs(storage, lake, stream, days)
        log.info("%s: runs %s", stream, [(r.dt.isoformat(), r.run_id) for r in runs])
        if not runs:
            continue
        run_days[stream] = [r.dt for r in runs]
        lines = lake_io.read_bronze_lines(spark, [u for r in runs for u in r.file_uris])
        result = _check(stream, parse_envelopes(lines, stream), start, end)
        checked[stream] = Checked(lake_io.persist(result.df))

    # 2. rejects are written (and counted) before anything is published
    counts = []
    for stream, result in checked.items():
        table = REJECT_TABLES[stream]
        ok = result.df["_reject_reason"].isNull().alias("ok")
        by_ok = {r["ok"]: r["count"] for r in result.df.groupBy(ok).count().collect()}
        counts.append(RejectCount(table, sum(by_ok.values()), by_ok.get(False, 0)))
        if counts[-1].rejected:
            lake_io.write_window(
                spark, result.rejects, rejects_uri(lake, table), run_days[stream], ["reason"]
            )
        else:
            lake_io.clear_partitions(spark, rejects_uri(lake, table), run_days[stream])
    log.info("reject counts: %s", counts)
    check_reject_shares(counts, max_share)

    # 3. silver tables, window partitions only
    daily = {
        "events": (silver.events_silver, "events", ["media_id", "received_at"]),
        "media_by_date": (silver.media_daily_stats_silver, "media_daily_stats", ["media_id"]),
        "analytics": (silver.media_analytics_silver, "media_analytics_daily", ["media_id"]),
    }
    for stream, (build, table, sort_by) in daily.items():
        if stream in checked:
            valid = checked[stream].valid
            df = build(valid, hasher) if stream == "events" else build(valid)
            df = lake_io.persist(df)
            lake_io.write_window(spark, df, silver_uri(lake, table), run_days[stream], sort_by)

    if "medias" in checked:
        snaps = lake_io.persist(silver.medias_snapshot_silver(checked["medias"].valid))
        every = _write_current(spark, lake, snaps, "medias_snapshots", run_days["medias"])
        lake_io.write_whole(silver.medias_current(every), silver_uri(lake, "medias"), ["media_id"])
        lake_io.write_whole(
            silver.medias_history(every),
            silver_uri(lake, "medias_history"),
            ["media_id", "valid_from_dt"],
        )
    if "visitors" in checked:
        snaps = lake_io.persist(silver.visitors_snapshot_silver(checked["visitors"].valid, hasher))
        every = _write_current(spark, lake, snaps, "visitors_snapshots", run_days["visitors"])
        lake_io.write_whole(
            silver.visitors_current(every), silver_uri(lake, "visitors"), ["visitor_key"]
        )
    spark.catalog.clearCache()
    log.info("silver done for %s..%s", start, end)


if __name__ == "__main__":
    main()
