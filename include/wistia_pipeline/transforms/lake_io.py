"""Spark I/O for the Glue jobs' ``main()``: session, bronze lines, partitioned table writes.

Kept apart from the pure transforms; works on local paths and ``s3://`` (Hadoop FileSystem).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

log = logging.getLogger(__name__)

LINES_SCHEMA = StructType(
    [StructField("value", StringType()), StructField("source_file", StringType())]
)


def spark_session(app_name: str) -> SparkSession:
    """The job's session (Glue's, spark-submit's or a test's) with UTC and dynamic overwrite."""
    spark = SparkSession.builder.appName(app_name).getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    return spark


def _fs_and_path(spark: SparkSession, uri: str):  # -> (hadoop FileSystem, hadoop Path)
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def path_exists(spark: SparkSession, uri: str) -> bool:
    fs, path = _fs_and_path(spark, uri)
    return bool(fs.exists(path))


def delete_path(spark: SparkSession, uri: str) -> None:
    fs, path = _fs_and_path(spark, uri)
    if fs.exists(path) and not fs.delete(path, True):
        raise OSError(f"could not delete {uri}")


def partition_uri(table_uri: str, day: dt.date) -> str:
    return f"{table_uri.rstrip('/')}/dt={day.isoformat()}"


def read_bronze_lines(spark: SparkSession, file_uris: Sequence[str]) -> DataFrame:
    """``value`` (one NDJSON line; gzip by extension) and ``source_file`` of bronze parts."""
    if not file_uris:
        return spark.createDataFrame([], LINES_SCHEMA)
    return spark.read.text(list(file_uris)).select(
        "value", F.input_file_name().alias("source_file")
    )


def read_partitions(
    spark: SparkSession, table_uri: str, days: Iterable[dt.date]
) -> DataFrame | None:
    """The existing ``dt=`` partitions of a Parquet table among ``days``; None if there are none.

    Only the named partition directories are listed (no scan of the whole table history).
    """
    paths = [p for p in (partition_uri(table_uri, d) for d in days) if path_exists(spark, p)]
    if not paths:
        return None
    df = spark.read.option("basePath", table_uri).parquet(*paths)
    return df.withColumn("dt", F.col("dt").cast("date"))


def read_table(
    spark: SparkSession, table_uri: str, schema: StructType | None = None
) -> DataFrame | None:
    """A whole Parquet table (all partitions), or None when it does not exist yet.

    With ``schema`` (as written) a table whose partitions were all emptied reads as empty.
    """
    if not path_exists(spark, table_uri):
        return None
    reader = spark.read if schema is None else spark.read.schema(schema)
    df = reader.parquet(table_uri)
    if "dt" in df.columns:
        df = df.withColumn("dt", F.col("dt").cast("date"))
    return df


def write_window(
    spark: SparkSession,
    df: DataFrame,
    table_uri: str,
    authoritative_days: Iterable[dt.date],
    sort_by: Sequence[str] = (),
) -> dict[str, int]:
    """Overwrite only the ``dt`` partitions present in ``df`` (dynamic partition overwrite).

    Days in ``authoritative_days`` that ``df`` has no rows for are emptied (their partition is
    deleted), so a re-ingested day that became empty supersedes older data. Returns rows per dt.
    """
    counts = {r["dt"].isoformat(): int(r["count"]) for r in df.groupBy("dt").count().collect()}
    if counts:
        out = df.repartition("dt")
        if sort_by:
            out = out.sortWithinPartitions(*sort_by)
        out.write.mode("overwrite").partitionBy("dt").parquet(table_uri)
    clear_partitions(
        spark, table_uri, [d for d in authoritative_days if d.isoformat() not in counts]
    )
    log.info("wrote %s: %s", table_uri, counts)
    return counts


def clear_partitions(spark: SparkSession, table_uri: str, days: Iterable[dt.date]) -> None:
    """Delete the ``dt`` partitions of ``days`` (absent ones are fine)."""
    for day in sorted(set(days)):
        delete_path(spark, partition_uri(table_uri, day))


def write_whole(df: DataFrame, table_uri: str, sort_by: Sequence[str] = ()) -> None:
    """Replace a non-partitioned table. ``df`` must not be lazily read from ``table_uri``."""
    out = df.coalesce(1)
    if sort_by:
        out = out.sortWithinPartitions(*sort_by)
    out.write.mode("overwrite").parquet(table_uri)


def persist(df: DataFrame) -> DataFrame:
    return df.persist(StorageLevel.MEMORY_AND_DISK)
