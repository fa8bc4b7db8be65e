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


# What is left of an ISO-8601 UTC time with a "Z" once its digits are taken out.
_UTC_SHAPES = ("--T::Z", "--T::.Z", "-- ::Z", "-- ::.Z")


def to_timestamp_utc(raw: Column) -> Column:
    """ISO-8601 with or without milliseconds / zone (``...Z`` is UTC) -> timestamp.

    Relies on the session time zone being UTC (the jobs set it) for zone-less input: that
    also makes a ``Z`` redundant, and it is dropped from a plain ``date T time Z`` before the
    cast, since Spark resolves a zone id for every value that names one (two regular
    expressions compiled per value: 8 % of the silver job's CPU samples).
    """
    value = F.trim(raw)
    utc = F.translate(value, "0123456789", "").isin(*_UTC_SHAPES)
    zoneless = F.when(utc, value.substr(F.lit(1), F.length(value) - 1)).otherwise(value)
    return F.when(present(raw), zoneless.cast("timestamp")).otherwise(F.lit(None).cast("timestamp"))


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
