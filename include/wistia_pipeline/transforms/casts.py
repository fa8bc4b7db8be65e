"""Typing helpers: strict casts of tolerant (string) bronze fields, reject reasons, de-dup."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F


def present(raw: Column) -> Column:
    """True when the raw field carries a value (not null, not blank)."""
    return raw.isNotNull() & (F.trim(raw) != "")


def to_long(raw: Column) -> Column:
    """Integer value of a raw field; null when blank, non-numeric or fractional."""
    as_double = F.trim(raw).cast("double")
    return F.when(
        present(raw) & (as_double == F.floor(as_double)), as_double.cast("bigint")
    ).otherwise(F.lit(None).cast("bigint"))


def to_double(raw: Column) -> Column:
    return F.when(present(raw), F.trim(raw).cast("double")).otherwise(F.lit(None).cast("double"))


def to_bool(raw: Column) -> Column:
    return F.when(present(raw), F.trim(raw).cast("boolean")).otherwise(F.lit(None).cast("boolean"))


def to_timestamp_utc(raw: Column) -> Column:
    """ISO-8601 with or without milliseconds / zone (``...Z`` is UTC) -> timestamp.

    Relies on the session time zone being UTC (the jobs set it) for zone-less input.
    """
    return F.when(present(raw), F.trim(raw).cast("timestamp")).otherwise(
        F.lit(None).cast("timestamp")
    )


def to_date(raw: Column) -> Column:
    return F.when(present(raw), F.to_date(F.substring(F.trim(raw), 1, 10), "yyyy-MM-dd"))


def bad_cast(raw: Column, typed: Column) -> Column:
    """A value was given but could not be typed."""
    return present(raw) & typed.isNull()


def first_reason(checks: Sequence[tuple[Column, str | Column]]) -> Column:
    """The reason of the first failing check (condition true), or null when all pass."""
    return F.coalesce(*[F.when(cond, F.lit(r) if isinstance(r, str) else r) for cond, r in checks])


def latest_per_key(df: DataFrame, keys: Sequence[str], order: Sequence[Column]) -> DataFrame:
    """One row per ``keys``: the first row by ``order`` (pass descending columns for latest)."""
    window = Window.partitionBy(*keys).orderBy(*order)
    return df.withColumn("_rank", F.row_number().over(window)).where("_rank = 1").drop("_rank")
