"""Silver transforms: typed, de-duplicated, private tables from parsed bronze envelopes.

Each ``check_*`` takes the output of :func:`envelope.parse_envelopes` and returns
:class:`Checked` (typed columns + ``_reject_reason``); each ``*_silver`` takes the valid rows
and returns the table as written (one row per key, latest ingested copy wins).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from .casts import (
    bad_cast,
    first_reason,
    latest_per_key,
    present,
    to_bool,
    to_date,
    to_double,
    to_long,
    to_timestamp_utc,
)
from .envelope import Checked
from .pii import PiiHasher, blank_to_null
from .schemas import (
    ANALYTICS_METRICS,
    MEDIA_ATTRIBUTE_COLUMNS,
    SILVER_EVENTS_COLUMNS,
    SILVER_MEDIA_ANALYTICS_COLUMNS,
    SILVER_MEDIA_DAILY_STATS_COLUMNS,
    VISITOR_COLUMNS,
)


def _latest() -> list[Column]:
    """Order for "latest ingested copy first"."""
    return [F.col("_fetched_at").desc_nulls_last(), F.col("_run_id").desc_nulls_last()]


def _checked(typed: DataFrame, checks: list[tuple[Column, str | Column]]) -> Checked:
    """Attach the reject reason; ``raw`` is kept only on rejected rows (it is only needed
    there, and dropping it keeps the job's cached intermediate small)."""
    reason = first_reason(checks)
    return Checked(
        typed.withColumn("_reject_reason", reason).withColumn(
            "raw", F.when(F.col("_reject_reason").isNotNull(), F.col("raw"))
        )
    )


def _in_window(day: Column, start: dt.date, end: dt.date) -> Column:
    return (day >= F.lit(start)) & (day <= F.lit(end))


def _base_checks() -> list[tuple[Column, str | Column]]:
    return [
        (F.col("_parse_error").isNotNull(), F.col("_parse_error")),
        (F.col("_run_id").isNull(), "missing_run_id"),
    ]


# ----------------------------------------------------------------------------- events


def check_events(parsed: DataFrame, start: dt.date, end: dt.date) -> Checked:
    """Type event records; reject those without key fields, badly typed or outside the window.

    ``dt`` is the UTC date of ``received_at`` (the session time zone must be UTC).
    """
    r = F.col("rec")
    received_at = to_timestamp_utc(r["received_at"])
    typed = parsed.select(
        "raw",
        "_run_id",
        "_fetched_at",
        "_bronze_dt",
        "_parse_error",
        r["event_key"].alias("event_key"),
        r["received_at"].alias("_received_at_raw"),
        received_at.alias("received_at"),
        F.to_date(received_at).alias("dt"),
        r["media_id"].alias("media_id"),
        r["media_name"].alias("media_name"),
        r["visitor_key"].alias("visitor_key"),
        r["percent_viewed"].alias("_percent_viewed_raw"),
        to_double(r["percent_viewed"]).alias("percent_viewed"),
        r["embed_url"].alias("embed_url"),
        r["ip"].alias("_ip"),
        r["email"].alias("_email"),
        r["org"].alias("org"),
        r["country"].alias("country"),
        r["region"].alias("region"),
        r["city"].alias("city"),
        r["lat"].alias("_lat_raw"),
        to_double(r["lat"]).alias("lat"),
        r["lon"].alias("_lon_raw"),
        to_double(r["lon"]).alias("lon"),
        blank_to_null(r["conversion_type"]).alias("conversion_type"),
        r["conversion_data"]["email"].alias("_conversion_email"),
        r["conversion_data"]["is_new_lead"].alias("_is_new_lead_raw"),
        to_bool(r["conversion_data"]["is_new_lead"]).alias("conversion_is_new_lead"),
        r["user_agent_details"]["browser"].alias("browser"),
        r["user_agent_details"]["browser_version"].alias("browser_version"),
        r["user_agent_details"]["platform"].alias("platform"),
        r["user_agent_details"]["mobile"].alias("_mobile_raw"),
        to_bool(r["user_agent_details"]["mobile"]).alias("mobile"),
        r["thumbnail"]["url"].alias("thumbnail_url"),
    )
    checks: list[tuple[Column, str | Column]] = [
        *_base_checks(),
        (~present(F.col("event_key")), "missing_event_key"),
        (~present(F.col("_received_at_raw")), "missing_received_at"),
        (F.col("received_at").isNull(), "bad_received_at"),
        (~present(F.col("media_id")), "missing_media_id"),
        (bad_cast(F.col("_percent_viewed_raw"), F.col("percent_viewed")), "bad_percent_viewed"),
        (bad_cast(F.col("_lat_raw"), F.col("lat")), "bad_lat"),
        (bad_cast(F.col("_lon_raw"), F.col("lon")), "bad_lon"),
        (bad_cast(F.col("_mobile_raw"), F.col("mobile")), "bad_mobile"),
        (
            bad_cast(F.col("_is_new_lead_raw"), F.col("conversion_is_new_lead")),
            "bad_conversion_is_new_lead",
        ),
        (~_in_window(F.col("dt"), start, end), "received_at_outside_window"),
    ]
    return _checked(typed, checks)


def events_silver(valid: DataFrame, hasher: PiiHasher) -> DataFrame:
    """One row per ``event_key`` (latest ``_fetched_at``, then run id), PII hashed."""
    latest = hasher.attach(latest_per_key(valid, ["event_key"], _latest()))
    hashed = latest.select(
        "*",
        hasher.hash_text(F.col("_ip")).alias("ip_hash"),
        hasher.hash_email(F.col("_email")).alias("email_hash"),
        hasher.hash_email(F.col("_conversion_email")).alias("conversion_email_hash"),
    )
    return hashed.select(*SILVER_EVENTS_COLUMNS)


# ------------------------------------------------------------------ media_daily_stats


def check_media_by_date(parsed: DataFrame, start: dt.date, end: dt.date) -> Checked:
    """Type ``/stats/medias/{id}/by_date`` rows; ``media_id`` comes from the envelope."""
    r = F.col("rec")
    typed = parsed.select(
        "raw",
        "_run_id",
        "_fetched_at",
        "_bronze_dt",
        "_parse_error",
        F.col("_ingest_media_id").alias("media_id"),
        r["date"].alias("_date_raw"),
        to_date(r["date"]).alias("dt"),
        r["load_count"].alias("_load_raw"),
        to_long(r["load_count"]).alias("load_count"),
        r["play_count"].alias("_play_raw"),
        to_long(r["play_count"]).alias("play_count"),
        r["hours_watched"].alias("_hours_raw"),
        to_double(r["hours_watched"]).alias("hours_watched"),
    )
    checks: list[tuple[Column, str | Column]] = [
        *_base_checks(),
        (~present(F.col("media_id")), "missing_media_id"),
        (~present(F.col("_date_raw")), "missing_date"),
        (F.col("dt").isNull(), "bad_date"),
        (bad_cast(F.col("_load_raw"), F.col("load_count")), "bad_load_count"),
        (bad_cast(F.col("_play_raw"), F.col("play_count")), "bad_play_count"),
        (bad_cast(F.col("_hours_raw"), F.col("hours_watched")), "bad_hours_watched"),
        (~_in_window(F.col("dt"), start, end), "date_outside_window"),
    ]
    return _checked(typed, checks)


def media_daily_stats_silver(valid: DataFrame) -> DataFrame:
    """One row per (media_id, dt), latest ingested wins."""
    return latest_per_key(valid, ["media_id", "dt"], _latest()).select(
        *SILVER_MEDIA_DAILY_STATS_COLUMNS
    )


# -------------------------------------------------------------- media_analytics_daily

_RATE_METRICS = ("play_rate", "engagement_rate", "cta_conversion_rate")


def check_analytics(parsed: DataFrame, start: dt.date, end: dt.date) -> Checked:
    """Type analytics timeseries buckets (``timestamp`` = start of the UTC day)."""
    r = F.col("rec")
    day_raw = F.coalesce(r["timestamp"], r["date"])
    metrics = []
    checks: list[tuple[Column, str | Column]] = [
        *_base_checks(),
        (~present(F.col("media_id")), "missing_media_id"),
        (~present(F.col("_day_raw")), "missing_timestamp"),
        (F.col("dt").isNull(), "bad_timestamp"),
    ]
    for name in ANALYTICS_METRICS:
        cast = to_double if name in _RATE_METRICS else to_long
        metrics += [r[name].alias(f"_{name}_raw"), cast(r[name]).alias(name)]
        checks.append((bad_cast(F.col(f"_{name}_raw"), F.col(name)), f"bad_{name}"))
    checks.append((~_in_window(F.col("dt"), start, end), "date_outside_window"))
    typed = parsed.select(
        "raw",
        "_run_id",
        "_fetched_at",
        "_bronze_dt",
        "_parse_error",
        F.col("_ingest_media_id").alias("media_id"),
        day_raw.alias("_day_raw"),
        F.to_date(to_timestamp_utc(day_raw)).alias("dt"),
        *metrics,
    )
    return _checked(typed, checks)


def media_analytics_silver(valid: DataFrame) -> DataFrame:
    return latest_per_key(valid, ["media_id", "dt"], _latest()).select(
        *SILVER_MEDIA_ANALYTICS_COLUMNS
    )


# ------------------------------------------------------------------------------ medias


def check_medias(parsed: DataFrame) -> Checked:
    """Type catalogue snapshot rows; ``dt`` is the snapshot (run logical) date."""
    r = F.col("rec")
    typed = parsed.select(
        "raw",
        "_run_id",
        "_fetched_at",
        "_bronze_dt",
        "_parse_error",
        F.col("_bronze_dt").alias("dt"),
        r["hashed_id"].alias("media_id"),
        r["id"].alias("_id_raw"),
        to_long(r["id"]).alias("media_numeric_id"),
        r["name"].alias("name"),
        r["type"].alias("type"),
        r["archived"].alias("_archived_raw"),
        to_bool(r["archived"]).alias("archived"),
        r["created"].alias("_created_raw"),
        to_timestamp_utc(r["created"]).alias("created"),
        r["updated"].alias("_updated_raw"),
        to_timestamp_utc(r["updated"]).alias("updated"),
        r["duration"].alias("_duration_raw"),
        to_double(r["duration"]).alias("duration"),
        r["description"].alias("description"),
        r["progress"].alias("_progress_raw"),
        to_double(r["progress"]).alias("progress"),
        r["status"].alias("status"),
        r["section"].alias("section"),
        r["thumbnail"]["url"].alias("thumbnail_url"),
        to_long(r["folder"]["id"]).alias("folder_id"),
        r["folder"]["name"].alias("folder_name"),
        r["folder"]["hashedId"].alias("folder_hashed_id"),
    )
    checks: list[tuple[Column, str | Column]] = [
        *_base_checks(),
        (~present(F.col("media_id")), "missing_hashed_id"),
        (F.col("dt").isNull(), "missing_dt"),
        (bad_cast(F.col("_id_raw"), F.col("media_numeric_id")), "bad_id"),
        (bad_cast(F.col("_archived_raw"), F.col("archived")), "bad_archived"),
        (bad_cast(F.col("_created_raw"), F.col("created")), "bad_created"),
        (bad_cast(F.col("_updated_raw"), F.col("updated")), "bad_updated"),
        (bad_cast(F.col("_duration_raw"), F.col("duration")), "bad_duration"),
        (bad_cast(F.col("_progress_raw"), F.col("progress")), "bad_progress"),
    ]
    return _checked(typed, checks)


def medias_snapshot_silver(valid: DataFrame) -> DataFrame:
    """One row per (media_id, snapshot dt): the catalogue as listed that day."""
    return latest_per_key(valid, ["media_id", "dt"], _latest()).select(
        *MEDIA_ATTRIBUTE_COLUMNS, "_run_id", "_fetched_at", "dt"
    )


def medias_current(snapshots: DataFrame) -> DataFrame:
    """Current attributes per media from *all* snapshots: latest ``updated`` wins.

    A media missing from some day's listing keeps its last known row (``last_seen_dt`` tells
    when it was last listed).
    """
    seen = snapshots.groupBy("media_id").agg(
        F.min("dt").alias("first_seen_dt"), F.max("dt").alias("last_seen_dt")
    )
    latest = latest_per_key(
        snapshots,
        ["media_id"],
        [F.col("updated").desc_nulls_last(), F.col("dt").desc(), *_latest()],
    )
    return latest.join(seen, "media_id").select(
        *MEDIA_ATTRIBUTE_COLUMNS, "first_seen_dt", "last_seen_dt", "_run_id", "_fetched_at"
    )


def medias_history(snapshots: DataFrame) -> DataFrame:
    """One row per media version (distinct ``updated``), with the days it was valid.

    ``valid_from_dt`` is the first snapshot showing the version, ``valid_to_dt`` the day
    before the next version appeared (null for the current version).
    """
    version_key = ["media_id", F.coalesce(F.col("updated"), F.col("created")).alias("_version")]
    keyed = snapshots.select("*", *version_key[1:])
    first = keyed.groupBy("media_id", "_version").agg(F.min("dt").alias("valid_from_dt"))
    rows = latest_per_key(keyed, ["media_id", "_version"], [F.col("dt").asc(), *_latest()])
    versions = rows.join(first, ["media_id", "_version"])
    nxt = F.lead("valid_from_dt").over(
        Window.partitionBy("media_id").orderBy("valid_from_dt", "_version")
    )
    return versions.select(
        *MEDIA_ATTRIBUTE_COLUMNS,
        "valid_from_dt",
        F.date_sub(nxt, 1).alias("valid_to_dt"),
        nxt.isNull().alias("is_current"),
        "_run_id",
        "_fetched_at",
    )


# ---------------------------------------------------------------------------- visitors


def check_visitors(parsed: DataFrame) -> Checked:
    r = F.col("rec")
    identity = r["visitor_identity"]
    typed = parsed.select(
        "raw",
        "_run_id",
        "_fetched_at",
        "_bronze_dt",
        "_parse_error",
        F.col("_bronze_dt").alias("dt"),
        r["visitor_key"].alias("visitor_key"),
        r["created_at"].alias("_created_raw"),
        to_timestamp_utc(r["created_at"]).alias("created_at"),
        r["last_active_at"].alias("_last_active_raw"),
        to_timestamp_utc(r["last_active_at"]).alias("last_active_at"),
        r["last_event_key"].alias("last_event_key"),
        r["load_count"].alias("_load_raw"),
        to_long(r["load_count"]).alias("load_count"),
        r["play_count"].alias("_play_raw"),
        to_long(r["play_count"]).alias("play_count"),
        identity["name"].alias("_name"),
        identity["email"].alias("_email"),
        identity["org"]["name"].alias("org_name"),
        identity["org"]["title"].alias("org_title"),
        r["user_agent_details"]["browser"].alias("browser"),
        r["user_agent_details"]["browser_version"].alias("browser_version"),
        r["user_agent_details"]["platform"].alias("platform"),
        r["user_agent_details"]["mobile"].alias("_mobile_raw"),
        to_bool(r["user_agent_details"]["mobile"]).alias("mobile"),
    )
    checks: list[tuple[Column, str | Column]] = [
        *_base_checks(),
        (~present(F.col("visitor_key")), "missing_visitor_key"),
        (F.col("dt").isNull(), "missing_dt"),
        (bad_cast(F.col("_created_raw"), F.col("created_at")), "bad_created_at"),
        (bad_cast(F.col("_last_active_raw"), F.col("last_active_at")), "bad_last_active_at"),
        (bad_cast(F.col("_load_raw"), F.col("load_count")), "bad_load_count"),
        (bad_cast(F.col("_play_raw"), F.col("play_count")), "bad_play_count"),
        (bad_cast(F.col("_mobile_raw"), F.col("mobile")), "bad_mobile"),
    ]
    return _checked(typed, checks)


def visitors_snapshot_silver(valid: DataFrame, hasher: PiiHasher) -> DataFrame:
    """One row per (visitor_key, snapshot dt), identity fields hashed."""
    latest = hasher.attach(latest_per_key(valid, ["visitor_key", "dt"], _latest()))
    hashed = latest.select(
        "*",
        hasher.hash_text(F.col("_name")).alias("name_hash"),
        hasher.hash_email(F.col("_email")).alias("email_hash"),
    )
    return hashed.select(*VISITOR_COLUMNS, "dt")


def visitors_current(snapshots: DataFrame) -> DataFrame:
    """One row per ``visitor_key`` from all snapshots: latest ``last_active_at`` wins."""
    return latest_per_key(
        snapshots,
        ["visitor_key"],
        [F.col("last_active_at").desc_nulls_last(), F.col("dt").desc(), *_latest()],
    ).select(*VISITOR_COLUMNS)
