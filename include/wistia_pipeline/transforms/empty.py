"""Empty silver tables with their exact schema, for a gold run before a table exists.

The schema comes from running the silver transforms themselves over no input, so it cannot
drift from what the silver job writes.
"""

from __future__ import annotations

import datetime as dt
import secrets

from pyspark.sql import DataFrame, SparkSession

from . import silver
from .envelope import parse_envelopes
from .lake_io import LINES_SCHEMA
from .pii import PiiHasher

_DAY = dt.date(2000, 1, 1)


def empty_silver(spark: SparkSession, table: str) -> DataFrame:
    lines = spark.createDataFrame([], LINES_SCHEMA)
    # A random throwaway key: nothing is hashed (no rows); only the column types matter.
    hasher = PiiHasher(secrets.token_hex(32))
    if table == "events":
        checked = silver.check_events(parse_envelopes(lines, "events"), _DAY, _DAY)
        return silver.events_silver(checked.valid, hasher)
    if table == "media_daily_stats":
        checked = silver.check_media_by_date(parse_envelopes(lines, "media_by_date"), _DAY, _DAY)
        return silver.media_daily_stats_silver(checked.valid)
    if table == "media_analytics_daily":
        checked = silver.check_analytics(parse_envelopes(lines, "analytics"), _DAY, _DAY)
        return silver.media_analytics_silver(checked.valid)
    if table == "medias":
        checked = silver.check_medias(parse_envelopes(lines, "medias"))
        return silver.medias_current(silver.medias_snapshot_silver(checked.valid))
    raise ValueError(f"no empty schema for silver table {table!r}")
