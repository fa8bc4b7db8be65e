"""Read schemas for bronze and the column contracts of silver and gold.

Bronze is read with *tolerant* schemas: every scalar leaf is a string, so a number where a
string was expected (or the reverse, e.g. ``conversion_type`` as ``3`` or ``""``) never nulls a
whole record; typing happens afterwards with explicit casts that can be checked and rejected.
Fields the schema does not name are ignored (schema drift), missing ones come back null.
"""

from __future__ import annotations

from pyspark.sql.types import StringType, StructField, StructType


def _strings(*names: str) -> list[StructField]:
    return [StructField(name, StringType()) for name in names]


def _struct(*fields: StructField | str) -> StructType:
    return StructType(
        [f if isinstance(f, StructField) else StructField(f, StringType()) for f in fields]
    )


# Only what the transforms read: the parser skips every other field of a line without
# building a value for it (the envelope's window, API version and request path stay in bronze).
INGEST_SCHEMA = _struct("run_id", "dt", "fetched_at", "media_id")

# One bronze line: the record stays raw JSON text (a StringType field keeps the JSON source of
# an object), parsed in a second step with the stream's record schema.
ENVELOPE_SCHEMA = StructType(
    [StructField("_ingest", INGEST_SCHEMA), StructField("record", StringType())]
)

_USER_AGENT = _struct("browser", "browser_version", "platform", "mobile")

EVENT_RECORD = _struct(
    *_strings(
        "received_at",
        "event_key",
        "visitor_key",
        "embed_url",
        "percent_viewed",
        "ip",
        "org",
        "country",
        "region",
        "city",
        "lat",
        "lon",
        "email",
        "media_id",
        "media_name",
        "conversion_type",
    ),
    StructField("thumbnail", _struct("url")),
    StructField("conversion_data", _struct("email", "is_new_lead")),
    StructField("user_agent_details", _USER_AGENT),
)

BY_DATE_RECORD = _struct("date", "load_count", "play_count", "hours_watched")

ANALYTICS_METRICS = (
    "unique_loads",
    "unique_plays",
    "plays",
    "play_rate",
    "played_time",
    "unique_visitors",
    "engagement_rate",
    "cta_impressions",
    "cta_conversions",
    "cta_conversion_rate",
    "form_conversions",
)
ANALYTICS_RECORD = _struct("timestamp", "date", *ANALYTICS_METRICS)

MEDIA_RECORD = _struct(
    *_strings(
        "id",
        "hashed_id",
        "name",
        "type",
        "archived",
        "created",
        "updated",
        "duration",
        "description",
        "progress",
        "status",
        "section",
    ),
    StructField("thumbnail", _struct("url")),
    StructField("folder", _struct("id", "name", "hashedId")),
)

VISITOR_RECORD = _struct(
    *_strings(
        "visitor_key",
        "created_at",
        "last_active_at",
        "last_event_key",
        "load_count",
        "play_count",
    ),
    StructField(
        "visitor_identity",
        _struct("name", "email", StructField("org", _struct("name", "title"))),
    ),
    StructField("user_agent_details", _USER_AGENT),
)

RECORD_SCHEMAS: dict[str, StructType] = {
    "events": EVENT_RECORD,
    "media_by_date": BY_DATE_RECORD,
    "analytics": ANALYTICS_RECORD,
    "medias": MEDIA_RECORD,
    "visitors": VISITOR_RECORD,
}

# ---- output contracts (docs/architecture.md); tests assert the written tables match ----

SILVER_EVENTS_COLUMNS = (
    "event_key",
    "received_at",
    "media_id",
    "media_name",
    "visitor_key",
    "percent_viewed",
    "embed_url",
    "ip_hash",
    "email_hash",
    "org",
    "country",
    "region",
    "city",
    "lat",
    "lon",
    "conversion_type",
    "conversion_email_hash",
    "conversion_is_new_lead",
    "browser",
    "browser_version",
    "platform",
    "mobile",
    "thumbnail_url",
    "_run_id",
    "_fetched_at",
    "dt",
)

SILVER_MEDIA_DAILY_STATS_COLUMNS = (
    "media_id",
    "load_count",
    "play_count",
    "hours_watched",
    "_run_id",
    "_fetched_at",
    "dt",
)

SILVER_MEDIA_ANALYTICS_COLUMNS = ("media_id", *ANALYTICS_METRICS, "_run_id", "_fetched_at", "dt")

MEDIA_ATTRIBUTE_COLUMNS = (
    "media_id",
    "media_numeric_id",
    "name",
    "type",
    "archived",
    "created",
    "updated",
    "duration",
    "description",
    "progress",
    "status",
    "section",
    "thumbnail_url",
    "folder_id",
    "folder_name",
    "folder_hashed_id",
)

VISITOR_COLUMNS = (
    "visitor_key",
    "created_at",
    "last_active_at",
    "last_event_key",
    "load_count",
    "play_count",
    "name_hash",
    "email_hash",
    "org_name",
    "org_title",
    "browser",
    "browser_version",
    "platform",
    "mobile",
    "_run_id",
    "_fetched_at",
)

# A reject names its bronze line (file, 1-based line) and carries only hashed identifiers.
REJECT_COLUMNS = ("reason", "source_file", "line", "_run_id", "ip_hash", "email_hash", "dt")

GOLD_FACT_COLUMNS = (
    "media_id",
    "media_name",
    "loads",
    "plays",
    "play_rate",
    "hours_watched",
    "unique_visitors",
    "events",
    "avg_percent_viewed",
    "analytics_unique_visitors",
    "analytics_play_rate",
    "analytics_engagement_rate",
    "gold_ingested_at",
    "dt",
)

GOLD_RECONCILIATION_COLUMNS = ("media_id", "events_count", "play_count", "difference", "dt")

GOLD_DIM_MEDIA_COLUMNS = (
    "media_id",
    "media_name",
    "media_numeric_id",
    "type",
    "archived",
    "created",
    "updated",
    "duration",
    "status",
    "section",
    "thumbnail_url",
    "folder_name",
    "catalogue_first_seen_dt",
    "catalogue_last_seen_dt",
    "in_latest_listing",
    "deleted",
    "deleted_detected_dt",
    "first_activity_dt",
    "last_activity_dt",
)
