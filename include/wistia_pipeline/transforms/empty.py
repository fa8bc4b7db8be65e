"""Empty silver tables with their exact schema, for a gold run before a table exists.

The schema comes from running the table's own silver spec over no input, so it cannot drift
from what the silver job writes.
"""

from __future__ import annotations

import datetime as dt
import secrets

from pyspark.sql import DataFrame, SparkSession

from .envelope import parse_envelopes
from .frames import local_frame
from .lake_io import LINES_SCHEMA
from .pii import PiiHasher
from .registry import SILVER

_DAY = dt.date(2000, 1, 1)


def empty_silver(spark: SparkSession, table: str) -> DataFrame:
    """No rows, with the columns and types of silver ``table``."""
    streams = [stream for stream, spec in SILVER.items() if table in spec.tables]
    if not streams:
        raise ValueError(f"no empty schema for silver table {table!r}")
    stream, spec = streams[0], SILVER[streams[0]]
    lines = local_frame(spark, [], LINES_SCHEMA)
    # A random throwaway key: nothing is hashed (no rows); only the column types matter.
    hasher = PiiHasher(secrets.token_hex(32))
    rows = spec.build(spec.check(parse_envelopes(lines, stream), _DAY, _DAY).valid, hasher)
    derived = {d.table: d.build for d in spec.derived}
    schema = (derived[table](rows) if table in derived else rows).schema
    # A plain empty relation of that schema, not the plan that gave it: the gold queries that
    # read it stay small to optimise and compile (the optimiser drops an empty side outright).
    return local_frame(spark, [], schema)
