"""The bodies of the two Glue jobs: bronze -> silver and silver -> gold for a window of days.

The scripts in ``glue_scripts/`` parse the job arguments and call :func:`run_silver` or
:func:`run_gold`; what each stream and table is comes from :mod:`.registry` and
``wistia_pipeline.streams``. Both jobs write through the run's
:class:`~wistia_pipeline.publishing.Stage`: new versions, staged, never published here.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor

from pyspark.sql import DataFrame, SparkSession

from wistia_pipeline import bronze
from wistia_pipeline.publishing import Stage, gold_uri, rejects_uri, silver_uri
from wistia_pipeline.storage import open_storage
from wistia_pipeline.streams import stream_info

from . import gold, lake_io, silver
from .empty import empty_silver
from .envelope import Checked, parse_envelopes
from .pii import PiiHasher
from .quality import RejectCount, check_reject_shares
from .registry import SILVER, Spec

log = logging.getLogger(__name__)


def _check_streams(
    spark: SparkSession, lake: str, days: list[dt.date]
) -> dict[str, tuple[Checked, list[dt.date]]]:
    """Per stream with complete bronze runs in the window: its checked rows and run days.

    Every complete run of a day is read, not only the latest: a record an older run captured
    and a later one lacks is still an observation. Every part is verified against its
    manifest before Spark reads it: the check runs in the background while Spark only plans
    (listing files and building the lazy, cached plans reads no part), and its first failure
    is raised before any Spark job runs.
    """
    storage = open_storage(lake)
    selected: dict[str, list[bronze.BronzeRun]] = {}
    for stream in SILVER:
        runs = bronze.select_observed_runs(storage, lake, stream, days)
        log.info("%s: runs %s", stream, [(r.dt.isoformat(), r.run_id) for r in runs])
        if runs:
            selected[stream] = runs
    every_run = [run for runs in selected.values() for run in runs]
    out: dict[str, tuple[Checked, list[dt.date]]] = {}
    with ThreadPoolExecutor(max_workers=1) as background:
        verified = background.submit(bronze.verified_file_uris, storage, every_run)
        for stream, runs in selected.items():
            uris = [uri for run in runs for uri in run.file_uris]
            lines = lake_io.read_bronze_lines(spark, uris)
            result = SILVER[stream].check(parse_envelopes(lines, stream), days[0], days[-1])
            out[stream] = (Checked(lake_io.persist(result.df)), sorted({r.dt for r in runs}))
        verified.result()  # raises the first part that failed its check
    return out


def _count(stream: str, checked: Checked) -> tuple[RejectCount, dict[dt.date, int]]:
    """The reject count of ``stream`` and its valid rows per ``dt`` (one pass over the rows)."""
    ok = checked.df["_reject_reason"].isNull().alias("ok")
    rows = checked.df.groupBy(ok, "dt").count().collect()
    rejected = sum(r["count"] for r in rows if not r["ok"])
    count = RejectCount(stream_info(stream).silver_table, sum(r["count"] for r in rows), rejected)
    return count, {r["dt"]: r["count"] for r in rows if r["ok"]}


def _write_rejects(
    stage: Stage,
    stream: str,
    checked: Checked,
    run_days: list[dt.date],
    hasher: PiiHasher,
    count: RejectCount,
) -> None:
    """Stage the run days' rejects of ``stream`` (empty when none)."""
    uri = rejects_uri(stage.lake_uri, stream_info(stream).silver_table)
    if count.rejected:
        # Cached: the write reads the rejects three times (counts, range bounds, files), and
        # each reading would otherwise scan every checked row twice (filter, line numbers).
        rejects = lake_io.persist(checked.rejects(hasher))
        lake_io.write_window(rejects, stage, uri, run_days, ["reason", "source_file", "line"])
        rejects.unpersist()
    else:
        lake_io.clear_partitions(stage, uri, run_days)


def _write_silver(
    spark: SparkSession,
    stage: Stage,
    spec: Spec,
    valid: DataFrame,
    valid_by_day: dict[dt.date, int],
    run_days: list[dt.date],
    hasher: PiiHasher,
) -> None:
    """Stage the run days of ``spec.table`` built from the ``valid`` rows (``valid_by_day``
    of them per dt), then its derived tables: merged into the published one when the table
    has a ``merge`` (the run's partitions only), else rebuilt from every partition.

    What is staged per key is the latest observation over the rows just built and the rows
    the published partition has, so a day re-ingested without a key keeps that key's row.
    The rows are hash-partitioned by the key once, into tasks of about
    ``lake_io.ROWS_PER_FILE`` rows: the de-duplication needs exactly that, and each task then
    writes its files as they are (no count, no range sampling, no second shuffle).
    """
    uri = silver_uri(stage.lake_uri, spec.table)
    partitions = lake_io.file_partitions(sum(valid_by_day.values()))
    built = spec.build(valid.repartition(partitions, *spec.keys), hasher)
    existing = lake_io.read_partitions(spark, stage, uri, run_days, published_only=True)
    # Nothing published for these days: ``built`` is already one row per key (each build keeps
    # the latest per ``spec.keys``), so a second de-duplication would only sort every row again.
    if existing is None:
        latest = built
    else:
        latest = silver.latest_observations(built, existing, spec.keys, partitions)
    # the derived tables read the rows again
    rows = lake_io.persist(latest) if spec.derived else latest
    # a published row's dt is a run day: a row staged here has a dt of a valid row or a run day
    lake_io.write_partitions(rows, stage, uri, valid_by_day, run_days, spec.sort_by)
    every: DataFrame | None = None
    for table in spec.derived:
        derived_uri = silver_uri(stage.lake_uri, table.table)
        # not staged by this run yet: what it reads is the published table
        current = lake_io.read_table(spark, stage, derived_uri) if table.merge else None
        if table.merge is not None and current is not None:
            later = [d for d in stage.days(uri) if d >= run_days[0]]
            tail = lake_io.read_partitions(spark, stage, uri, later, published_only=True)
            out = table.merge(lake_io.persist(current), rows, tail, run_days)
            log.info("%s: merged the published table with %s", table.table, run_days)
        else:
            if every is None:
                every = lake_io.read_table(spark, stage, uri, rows.schema)
                if every is None:
                    raise RuntimeError(f"silver table {spec.table} missing right after staging")
                every = lake_io.persist(every)
            out = table.build(every)
        lake_io.write_whole(out, stage, derived_uri, table.sort_by)


def run_silver(
    spark: SparkSession,
    lake: str,
    days: list[dt.date],
    run_id: str,
    hasher: PiiHasher,
    max_share: float,
) -> None:
    """Bronze -> silver for ``days``, staged for run ``run_id``: rejects first, then nothing
    staged above ``max_share``.

    Only the dt partitions of days with a complete bronze run are staged, each with the
    latest observation per key over all of that day's complete runs and the rows its published
    partition had; a run without a key (or without any rows) never removes it. The rejects of
    those days are replaced by the rejects of the runs read.
    """
    stage = Stage.begin(open_storage(lake), lake, run_id, days[0], days[-1])
    checked = _check_streams(spark, lake, days)
    counted = {stream: _count(stream, result) for stream, (result, _) in checked.items()}
    rejects = {stream: count for stream, (count, _) in counted.items()}
    for stream, (result, run_days) in checked.items():
        _write_rejects(stage, stream, result, run_days, hasher, rejects[stream])
    log.info("reject counts: %s", list(rejects.values()))
    check_reject_shares(list(rejects.values()), max_share)
    for stream, (result, run_days) in checked.items():
        valid_by_day = counted[stream][1]
        _write_silver(spark, stage, SILVER[stream], result.valid, valid_by_day, run_days, hasher)
    stage.finish_step("silver")
    spark.catalog.clearCache()


def _silver_window(spark: SparkSession, stage: Stage, table: str, days: list[dt.date]) -> DataFrame:
    """The window's partitions of a silver table as the run sees them; empty (typed) when none."""
    df = lake_io.read_partitions(spark, stage, silver_uri(stage.lake_uri, table), days)
    return df if df is not None else empty_silver(spark, table)


def _snapshot_days(spark: SparkSession, stage: Stage) -> DataFrame:
    """``dt`` of every ``/medias`` snapshot silver holds: the days the catalogue was listed."""
    empty = empty_silver(spark, "medias_snapshots")
    uri = silver_uri(stage.lake_uri, "medias_snapshots")
    snapshots = lake_io.read_table(spark, stage, uri, empty.schema)
    return (empty if snapshots is None else snapshots).select("dt").distinct()


def run_gold(spark: SparkSession, lake: str, days: list[dt.date], run_id: str) -> None:
    """Silver -> gold, staged for run ``run_id`` (reading the silver it staged): the window of
    the fact and reconciliation, and a rebuilt dim_media."""
    stage = Stage.resume(open_storage(lake), lake, run_id, days[0], days[-1])
    medias = lake_io.read_table(spark, stage, silver_uri(lake, "medias"))
    if medias is None:
        medias = empty_silver(spark, "medias")
    events, stats, analytics = (
        _silver_window(spark, stage, table, days)
        for table in ("events", "media_daily_stats", "media_analytics_daily")
    )
    fact = lake_io.persist(gold.fact_media_daily(events, stats, analytics, medias))
    lake_io.write_window(fact, stage, gold_uri(lake, "fact_media_daily"), days, ["media_id"])
    recon = gold.reconciliation(fact)
    lake_io.write_window(recon, stage, gold_uri(lake, "reconciliation"), days, ["media_id"])
    fact_all = lake_io.read_table(spark, stage, gold_uri(lake, "fact_media_daily"), fact.schema)
    if fact_all is None:  # nothing written yet and nothing to write
        fact_all = fact
    dim = gold.dim_media(medias, fact_all, _snapshot_days(spark, stage))
    lake_io.write_whole(dim, stage, gold_uri(lake, "dim_media"), ["media_id"])
    stage.finish_step("gold")
    spark.catalog.clearCache()
