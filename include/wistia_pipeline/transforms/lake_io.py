"""Spark I/O for the Glue jobs' ``main()``: session, bronze lines, staged table writes.

Kept apart from the pure transforms; works on local paths and ``s3://``. Tables are read and
written through a :class:`wistia_pipeline.publishing.Stage` (write-audit-publish).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from wistia_pipeline.publishing import Stage, data_files_of, version_dir

from .frames import local_frame

log = logging.getLogger(__name__)

# Session settings of both jobs, on Glue and locally alike.
JOB_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    # De-duplication keeps row_number() = 1 per key; keys are nearly unique, so the partial
    # per-task top-1 Spark would add first is one more sort of every row that drops nothing.
    "spark.sql.optimizer.windowGroupLimitThreshold": "-1",
    # The checked bronze rows are cached once and read a few times: compressing the cache
    # costs more CPU than building it (measured: about 2x for 1M events) and saves no pass.
    "spark.sql.inMemoryColumnarStorage.compressed": "false",
}
# Rows per written file (and task) of a partitioned table: silver events take ~100 bytes a row.
ROWS_PER_FILE = 500_000

LINES_SCHEMA = StructType(
    [
        StructField("value", StringType()),
        StructField("source_file", StringType()),
        StructField("row_id", LongType()),
    ]
)


_PATHS_SCHEMA = StructType([StructField("_spark_path", StringType())])


def spark_session(app_name: str) -> SparkSession:
    """The job's session (Glue's, spark-submit's or a test's) with :data:`JOB_CONF` set."""
    spark = SparkSession.builder.appName(app_name).getOrCreate()
    for name, value in JOB_CONF.items():
        spark.conf.set(name, value)
    return spark


def read_bronze_lines(spark: SparkSession, file_uris: Sequence[str]) -> DataFrame:
    """``value`` (one NDJSON line), ``source_file`` and ``row_id`` of gzip bronze parts.

    ``row_id`` turns into a line number (:func:`envelope.line_numbers`): gzip is not
    splittable, so a task reads a part whole, in order, and the ids of one part's lines are
    consecutive (``monotonically_increasing_id`` counts rows within a task). The line reader
    keeps this cheap; reading parts whole (``wholetext``) and splitting them was many times
    slower and held each part in memory several times over.
    """
    if not file_uris:
        return local_frame(spark, [], LINES_SCHEMA)
    unsplittable = [uri for uri in file_uris if not uri.endswith(".gz")]
    if unsplittable:
        raise ValueError(f"bronze parts must be gzip for line numbers: {unsplittable[:3]}")
    text = spark.read.text(list(file_uris))
    read = text.select(
        "value",
        F.input_file_name().alias("_spark_path"),
        F.monotonically_increasing_id().alias("row_id"),
    )
    # The URI of each part, worked out once per file rather than once per line.
    paths = local_frame(spark, [(path,) for path in text.inputFiles()], _PATHS_SCHEMA)
    names = paths.select("_spark_path", _part_uri(F.col("_spark_path")).alias("_uri"))
    named = read.join(F.broadcast(names), "_spark_path", "left")
    uri = F.coalesce(F.col("_uri"), _part_uri(F.col("_spark_path")))  # a path it did not list
    return named.select("value", uri.alias("source_file"), "row_id")


def _part_uri(spark_path: Column) -> Column:
    """The URI the lake names a part by: Spark reports local files as percent-encoded
    ``file:///...`` URLs, the manifest and ``Storage`` as plain paths (``s3://`` is as given)."""
    local = F.regexp_extract(spark_path, r"^file:(?://)?(/.*)$", 1)
    # url_decode reads "+" as a space; a literal "+" in a path is kept by escaping it first.
    decoded = F.url_decode(F.regexp_replace(local, r"\+", "%2B"))
    return F.when(local != "", decoded).otherwise(spark_path)


def _read_files(
    spark: SparkSession, table_uri: str, files: Sequence[str], schema: StructType | None
) -> DataFrame:
    """Data files of one table; ``dt`` (if partitioned) comes from the path, ``v`` is dropped."""
    reader = spark.read.option("basePath", table_uri.rstrip("/") + "/")
    if schema is not None:
        reader = reader.schema(schema)
    df = reader.parquet(*files)
    if "v" in df.columns:
        df = df.drop("v")
    if "dt" in df.columns:
        df = df.withColumn("dt", F.col("dt").cast("date"))
    return df


def read_partitions(
    spark: SparkSession,
    stage: Stage,
    table_uri: str,
    days: Iterable[dt.date],
    *,
    published_only: bool = False,
) -> DataFrame | None:
    """The ``dt`` partitions of ``days`` as this run sees them (staged, else published), or
    only the published ones; None when none of them has any data file."""
    pick = stage.published_files if published_only else stage.current_files
    files = [f for day in sorted(set(days)) for f in (pick(table_uri, day) or [])]
    return _read_files(spark, table_uri, files, None) if files else None


def read_table(
    spark: SparkSession, stage: Stage, table_uri: str, schema: StructType | None = None
) -> DataFrame | None:
    """A whole table as this run sees it: every partition (staged, else published), or the
    whole-table manifest. None when it has no data yet; with ``schema`` an emptied table
    reads as empty."""
    days = stage.days(table_uri)
    if days:
        listed = [stage.current_files(table_uri, day) for day in days]
    else:
        listed = [stage.current_files(table_uri, None)]
    if all(files is None for files in listed):
        return None
    files = [f for group in listed for f in (group or [])]
    if not files:
        return local_frame(spark, [], schema) if schema is not None else None
    return _read_files(spark, table_uri, files, schema)


def file_partitions(rows: int) -> int:
    """How many tasks (and files per ``dt``) write ``rows`` rows: about ``ROWS_PER_FILE`` each."""
    return max(1, round(rows / ROWS_PER_FILE))


def write_window(
    df: DataFrame,
    stage: Stage,
    table_uri: str,
    authoritative_days: Iterable[dt.date],
    sort_by: Sequence[str] = (),
) -> dict[str, int]:
    """Count ``df``'s rows per ``dt``, then write its partitions as a new version and stage
    them (:func:`write_partitions`). Returns rows per dt.

    The rows are range-partitioned by ``dt`` and ``sort_by`` into tasks of about
    ``ROWS_PER_FILE`` rows, so a big day is written by several tasks at once and a small one
    stays one file. ``df`` is read three times (counts, range bounds, files): cache it.
    """
    counts = {r["dt"].isoformat(): int(r["count"]) for r in df.groupBy("dt").count().collect()}
    log.info("%s: rows per dt %s", table_uri, counts)
    if not counts:
        clear_partitions(stage, table_uri, authoritative_days)
        return counts
    ranged = df.repartitionByRange(file_partitions(sum(counts.values())), "dt", *sort_by)
    days = {dt.date.fromisoformat(d) for d in counts}
    write_partitions(ranged, stage, table_uri, days, authoritative_days, sort_by)
    return counts


def write_partitions(
    df: DataFrame,
    stage: Stage,
    table_uri: str,
    days: Iterable[dt.date],
    authoritative_days: Iterable[dt.date],
    sort_by: Sequence[str] = (),
) -> None:
    """Write ``df``'s ``dt`` partitions as a new version, as ``df`` is partitioned (each task
    writes a file per ``dt`` it holds, rows sorted by ``sort_by``), and stage them.

    ``days``: every ``dt`` ``df`` may hold (a day it holds no rows for is left as it is);
    ``authoritative_days`` with no rows are staged empty. Nothing is overwritten: readers keep
    seeing the published version until the run is published.
    """
    # Sorted by the partition columns first, as the writer needs: else it sorts again by them
    # alone and the rows within a file lose the ``sort_by`` order.
    out = df.withColumn("v", F.lit(stage.version)).sortWithinPartitions("dt", "v", *sort_by)
    out.write.mode("append").partitionBy("dt", "v").parquet(table_uri)
    authoritative = set(authoritative_days)
    staged: dict[str, int] = {}
    for day in sorted(set(days) | authoritative):
        files = data_files_of(stage.storage, version_dir(table_uri, day, stage.version))
        if files or day in authoritative:
            stage.stage(table_uri, day, files)
            staged[day.isoformat()] = len(files)
    log.info("staged %s: files per dt %s", table_uri, staged)


def clear_partitions(stage: Stage, table_uri: str, days: Iterable[dt.date]) -> None:
    """Stage the ``dt`` partitions of ``days`` empty."""
    for day in sorted(set(days)):
        stage.stage(table_uri, day, [])


def write_whole(df: DataFrame, stage: Stage, table_uri: str, sort_by: Sequence[str] = ()) -> None:
    """Write a non-partitioned table as a new version and stage it."""
    out = df.coalesce(1)
    if sort_by:
        out = out.sortWithinPartitions(*sort_by)
    written = version_dir(table_uri, None, stage.version)
    out.write.mode("overwrite").parquet(written)
    stage.stage(table_uri, None, data_files_of(stage.storage, written))


def persist(df: DataFrame) -> DataFrame:
    return df.persist(StorageLevel.MEMORY_AND_DISK)
