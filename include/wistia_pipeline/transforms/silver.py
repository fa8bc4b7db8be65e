"""Silver transforms: typed, de-duplicated, private tables from parsed bronze envelopes.

Each ``check_*`` takes the output of :func:`envelope.parse_envelopes` and returns
:class:`Checked` (typed columns + ``_reject_reason``); each ``*_silver`` takes the valid rows
and returns the table as written (one row per key, latest ingested copy wins).
:func:`latest_observations` then merges those rows with what silver already holds for the
same days: absence from a later run is not deletion (docs/architecture.md, "Metric contract").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


def latest_observations(
    new: DataFrame, existing: DataFrame | None, keys: Sequence[str], partitions: int | None = None
) -> DataFrame:
    """Per ``keys`` the latest observation among ``new`` rows and ``existing`` silver rows.

    A key that ``new`` lacks keeps its ``existing`` row: a run that did not return a media-day
    (a 404 after the media was deleted, a stream not fetched, pages that never came back) did
    not observe it, so it cannot erase what an earlier run captured; bronze expires, so the
    published silver partition is itself part of that history. A row that is present, even
    with zero counts, is an observation and wins when it is later (``_fetched_at``, then
    ``_run_id``). On a tie (the same bronze row read again) the ``new`` row wins, so a fixed
    transform reaches the day on a rerun. Columns and their order are ``new``'s; applying it
    twice changes nothing. With ``partitions`` the result comes in that many partitions, hashed
    by ``keys``.
    """
    if existing is None:
        rows = new if partitions is None else new.repartition(partitions, *keys)
        return latest_per_key(rows, keys, _latest())
    rows = new.withColumn("_existing", F.lit(False)).unionByName(
        existing.withColumn("_existing", F.lit(True)), allowMissingColumns=True
    )
    if partitions is not None:
        rows = rows.repartition(partitions, *keys)
    order = [*_latest(), F.col("_existing").asc()]
    return latest_per_key(rows, keys, order).select(*new.columns)


@dataclass(frozen=True)
class Field:
    """One typed column of a check: a row of a stream's field table.

    ``source`` is a path into the record (``"a.b"``; a tuple: the first non-null), or a column
    of the parsed envelope when it starts with ``_``. ``cast`` types the raw string (None keeps
    it). A ``required`` field rejects ``missing_<label>`` when absent and ``bad_<label>`` when
    untypable; a ``strict`` cast rejects ``bad_<label>`` when a given value cannot be typed.
    """

    name: str
    source: str | tuple[str, ...]
    cast: Callable[[Column], Column] | None = None
    required: bool = False
    strict: bool = True
    label: str = ""

    @property
    def reason(self) -> str:
        return self.label or self.name

    @property
    def keeps_raw(self) -> bool:
        """The raw value is kept beside the typed one, to tell "absent" from "untypable"."""
        return self.cast is not None and (self.required or self.strict)


def _source(source: str | tuple[str, ...]) -> Column:
    if isinstance(source, tuple):
        return F.coalesce(*(_source(s) for s in source))
    if source.startswith("_"):
        return F.col(source)
    column = F.col("rec")
    for part in source.split("."):
        column = column[part]
    return column


def _typed_columns(field: Field) -> list[Column]:
    raw = _source(field.source)
    typed = raw if field.cast is None else field.cast(raw)
    kept = [raw.alias(f"_{field.name}_raw")] if field.keeps_raw else []
    return [*kept, typed.alias(field.name)]


def _field_checks(fields: Sequence[Field]) -> list[tuple[Column, str | Column]]:
    """Reject checks in the order their reasons win: required fields, dt, then casts.

    ``missing_dt`` can only win for snapshots: a daily stream's dt comes from a required field.
    """
    required: list[tuple[Column, str | Column]] = []
    casts: list[tuple[Column, str | Column]] = []
    for field in fields:
        typed = F.col(field.name)
        raw = F.col(f"_{field.name}_raw") if field.keeps_raw else typed
        if field.required:
            required.append((~present(raw), f"missing_{field.reason}"))
            if field.cast is not None:
                required.append((typed.isNull(), f"bad_{field.reason}"))
        elif field.cast is not None and field.strict:
            casts.append((bad_cast(raw, typed), f"bad_{field.reason}"))
    return [*required, (F.col("dt").isNull(), "missing_dt"), *casts]


def _check(
    parsed: DataFrame, fields: Sequence[Field], window: tuple[dt.date, dt.date, str] | None
) -> Checked:
    """Type ``parsed`` by its field table (which has a ``dt``) and attach the reject reason.

    ``window`` is ``(start, end, reason)``: rows whose dt falls outside are rejected with it.
    ``_source_file`` and ``_row_id`` say where a rejected row is in bronze. The raw values
    kept to tell "absent" from "untypable" are dropped once the reason is known.
    """
    typed = parsed.select(
        "_source_file",
        "_row_id",
        "_run_id",
        "_fetched_at",
        "_bronze_dt",
        "_parse_error",
        *(column for field in fields for column in _typed_columns(field)),
    )
    checks: list[tuple[Column, str | Column]] = [
        (F.col("_parse_error").isNotNull(), F.col("_parse_error")),
        (F.col("_run_id").isNull(), "missing_run_id"),
        *_field_checks(fields),
    ]
    if window is not None:
        start, end, reason = window
        checks.append((~((F.col("dt") >= F.lit(start)) & (F.col("dt") <= F.lit(end))), reason))
    raw = [f"_{field.name}_raw" for field in fields if field.keeps_raw]
    return Checked(typed.withColumn("_reject_reason", first_reason(checks)).drop(*raw))


def _utc_day(raw: Column) -> Column:
    return F.to_date(to_timestamp_utc(raw))


_USER_AGENT = (
    Field("browser", "user_agent_details.browser"),
    Field("browser_version", "user_agent_details.browser_version"),
    Field("platform", "user_agent_details.platform"),
    Field("mobile", "user_agent_details.mobile", to_bool),
)


# ----------------------------------------------------------------------------- events


EVENT_FIELDS = (
    Field("event_key", "event_key", required=True),
    Field("received_at", "received_at", to_timestamp_utc, required=True),
    Field("dt", "received_at", _utc_day, strict=False),
    Field("media_id", "media_id", required=True),
    Field("media_name", "media_name"),
    Field("visitor_key", "visitor_key"),
    Field("percent_viewed", "percent_viewed", to_double),
    Field("embed_url", "embed_url"),
    Field("_ip", "ip"),
    Field("_email", "email"),
    Field("org", "org"),
    Field("country", "country"),
    Field("region", "region"),
    Field("city", "city"),
    Field("lat", "lat", to_double),
    Field("lon", "lon", to_double),
    Field("conversion_type", "conversion_type", blank_to_null, strict=False),
    Field("_conversion_email", "conversion_data.email"),
    *_USER_AGENT,  # mobile is checked before conversion_is_new_lead
    Field("conversion_is_new_lead", "conversion_data.is_new_lead", to_bool),
    Field("thumbnail_url", "thumbnail.url"),
)


def check_events(parsed: DataFrame, start: dt.date, end: dt.date) -> Checked:
    """Type event records; reject those without key fields, badly typed or outside the window.

    ``dt`` is the UTC date of ``received_at`` (the session time zone must be UTC).
    """
    return _check(parsed, EVENT_FIELDS, (start, end, "received_at_outside_window"))


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


MEDIA_BY_DATE_FIELDS = (
    Field("media_id", "_ingest_media_id", required=True),
    Field("dt", "date", to_date, required=True, label="date"),
    Field("load_count", "load_count", to_long),
    Field("play_count", "play_count", to_long),
    Field("hours_watched", "hours_watched", to_double),
)


def check_media_by_date(parsed: DataFrame, start: dt.date, end: dt.date) -> Checked:
    """Type ``/stats/medias/{id}/by_date`` rows; ``media_id`` comes from the envelope."""
    return _check(parsed, MEDIA_BY_DATE_FIELDS, (start, end, "date_outside_window"))


def media_daily_stats_silver(valid: DataFrame) -> DataFrame:
    """One row per (media_id, dt), latest ingested wins."""
    return latest_per_key(valid, ["media_id", "dt"], _latest()).select(
        *SILVER_MEDIA_DAILY_STATS_COLUMNS
    )


# -------------------------------------------------------------- media_analytics_daily

_RATE_METRICS = ("play_rate", "engagement_rate", "cta_conversion_rate")

ANALYTICS_FIELDS = (
    Field("media_id", "_ingest_media_id", required=True),
    Field("dt", ("timestamp", "date"), _utc_day, required=True, label="timestamp"),
    *(Field(m, m, to_double if m in _RATE_METRICS else to_long) for m in ANALYTICS_METRICS),
)


def check_analytics(parsed: DataFrame, start: dt.date, end: dt.date) -> Checked:
    """Type analytics timeseries buckets (``timestamp`` = start of the UTC day)."""
    return _check(parsed, ANALYTICS_FIELDS, (start, end, "date_outside_window"))


def media_analytics_silver(valid: DataFrame) -> DataFrame:
    return latest_per_key(valid, ["media_id", "dt"], _latest()).select(
        *SILVER_MEDIA_ANALYTICS_COLUMNS
    )


# ------------------------------------------------------------------------------ medias


MEDIA_FIELDS = (
    Field("dt", "_bronze_dt"),
    Field("media_id", "hashed_id", required=True, label="hashed_id"),
    Field("media_numeric_id", "id", to_long, label="id"),
    Field("name", "name"),
    Field("type", "type"),
    Field("archived", "archived", to_bool),
    Field("created", "created", to_timestamp_utc),
    Field("updated", "updated", to_timestamp_utc),
    Field("duration", "duration", to_double),
    Field("description", "description"),
    Field("progress", "progress", to_double),
    Field("status", "status"),
    Field("section", "section"),
    Field("thumbnail_url", "thumbnail.url"),
    Field("folder_id", "folder.id", to_long, strict=False),
    Field("folder_name", "folder.name"),
    Field("folder_hashed_id", "folder.hashedId"),
)


def check_medias(parsed: DataFrame) -> Checked:
    """Type catalogue snapshot rows; ``dt`` is the snapshot (run logical) date."""
    return _check(parsed, MEDIA_FIELDS, None)


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


VISITOR_FIELDS = (
    Field("dt", "_bronze_dt"),
    Field("visitor_key", "visitor_key", required=True),
    Field("created_at", "created_at", to_timestamp_utc),
    Field("last_active_at", "last_active_at", to_timestamp_utc),
    Field("last_event_key", "last_event_key"),
    Field("load_count", "load_count", to_long),
    Field("play_count", "play_count", to_long),
    Field("_name", "visitor_identity.name"),
    Field("_email", "visitor_identity.email"),
    Field("org_name", "visitor_identity.org.name"),
    Field("org_title", "visitor_identity.org.title"),
    *_USER_AGENT,
)


def check_visitors(parsed: DataFrame) -> Checked:
    """Type visitor snapshot rows; ``dt`` is the snapshot (run logical) date."""
    return _check(parsed, VISITOR_FIELDS, None)


def visitors_snapshot_silver(valid: DataFrame, hasher: PiiHasher) -> DataFrame:
    """One row per (visitor_key, snapshot dt), identity fields hashed."""
    latest = hasher.attach(latest_per_key(valid, ["visitor_key", "dt"], _latest()))
    hashed = latest.select(
        "*",
        hasher.hash_text(F.col("_name")).alias("name_hash"),
        hasher.hash_email(F.col("_email")).alias("email_hash"),
    )
    return hashed.select(*VISITOR_COLUMNS, "dt")


def _visitor_order() -> list[Column]:
    """Which snapshot row of a visitor is current: latest ``last_active_at``, then ``dt``,
    then the latest fetch."""
    return [F.col("last_active_at").desc_nulls_last(), F.col("dt").desc_nulls_last(), *_latest()]


def visitors_current(snapshots: DataFrame) -> DataFrame:
    """One row per ``visitor_key`` from all snapshots: latest ``last_active_at`` wins."""
    return latest_per_key(snapshots, ["visitor_key"], _visitor_order()).select(*VISITOR_COLUMNS)


def visitors_merged(
    current: DataFrame, staged: DataFrame, tail: DataFrame | None, run_days: Sequence[dt.date]
) -> DataFrame:
    """:func:`visitors_current` of every snapshot, from the published ``current`` table, the
    run days' ``staged`` snapshot rows and the published snapshot partitions from the first
    run day on (``tail``) instead of every snapshot ever taken.

    A current row is the ``visitors_current`` winner of the published snapshots; its snapshot
    day (not a column of the table) is the latest ``tail`` day holding the same fetch, or an
    earlier day when none does. A row from a run day is dropped: that partition is replaced by
    its staged one, which holds the same fetch or a later one of that visitor, and a later
    fetch's ``last_active_at`` is never earlier (the last time the visitor played). A row
    from any other day keeps competing with that day. The result equals ``visitors_current``
    over the published snapshots with the run days replaced by ``staged``; a visitor the run
    did not fetch keeps its row (absence is not deletion).
    """
    fetch = ["visitor_key", "_fetched_at", "_run_id"]
    if tail is None:
        origin = current.select("visitor_key", F.lit(None).cast("date").alias("dt")).limit(0)
    else:
        same = [current[c].eqNullSafe(tail[c]) for c in fetch]
        origin = (
            current.join(tail, same, "inner")
            .groupBy(current["visitor_key"])
            .agg(F.max(tail["dt"]).alias("dt"))
        )
    located = current.join(origin, "visitor_key", "left")
    kept = located.where(F.col("dt").isNull() | ~F.col("dt").isin(list(run_days)))
    rows = kept.select(*VISITOR_COLUMNS, "dt").unionByName(staged.select(*VISITOR_COLUMNS, "dt"))
    return visitors_current(rows)
