"""Gold transforms: the per media-day fact, the media dimension and the reconciliation."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .casts import latest_per_key
from .schemas import GOLD_DIM_MEDIA_COLUMNS, GOLD_FACT_COLUMNS, GOLD_RECONCILIATION_COLUMNS


def _per_event(events: DataFrame) -> DataFrame:
    """Per (media_id, dt) of silver events: counts, mean percent viewed, latest fetch.

    Every aggregation buffer is fixed-width, so Spark hash-aggregates (a ``max_by`` here would
    make it sort every event; :func:`_event_names` keeps that to the few that need it).
    """
    return events.groupBy("media_id", "dt").agg(
        F.count(F.lit(1)).alias("events"),
        F.countDistinct("visitor_key").alias("unique_visitors"),
        F.avg("percent_viewed").alias("avg_percent_viewed"),
        F.max("_fetched_at").alias("_events_fetched_at"),
    )


def _event_names(events: DataFrame, catalogue_names: DataFrame) -> DataFrame:
    """Per (media_id, dt): the name its latest event (``received_at``, then ``event_key``)
    carried, for the media the catalogue gives no name (the fact's ``media_name`` falls back
    to it only for those). ``catalogue_names``: ``media_id``, ``_catalogue_name``, one row per
    media (the catalogue's size, so it is broadcast)."""
    named = catalogue_names.where(F.col("_catalogue_name").isNotNull()).select("media_id")
    unnamed = events.join(F.broadcast(named), "media_id", "left_anti")
    return unnamed.groupBy("media_id", "dt").agg(
        F.max_by("media_name", F.struct("received_at", "event_key")).alias("_event_media_name")
    )


def _day_stats(stats: DataFrame) -> DataFrame:
    return stats.select(
        "media_id",
        "dt",
        F.col("load_count").alias("loads"),
        F.col("play_count").alias("plays"),
        F.col("hours_watched").cast("double").alias("hours_watched"),
        F.col("_fetched_at").alias("_stats_fetched_at"),
    )


def _day_analytics(analytics: DataFrame) -> DataFrame:
    return analytics.select(
        "media_id",
        "dt",
        F.col("unique_visitors").cast("bigint").alias("analytics_unique_visitors"),
        F.col("play_rate").cast("double").alias("analytics_play_rate"),
        F.col("engagement_rate").cast("double").alias("analytics_engagement_rate"),
        F.col("_fetched_at").alias("_analytics_fetched_at"),
    )


def fact_media_daily(
    events: DataFrame,
    stats: DataFrame,
    analytics: DataFrame,
    medias: DataFrame,
) -> DataFrame:
    """One row per (media_id, dt) with by_date stats or events that day.

    - ``loads``/``plays``/``hours_watched`` from by_date (null when the day has no stats row);
      ``play_rate`` = plays / loads as a double, null when loads is 0 or unknown.
    - ``events``, ``unique_visitors`` (distinct ``visitor_key`` among that media's events whose
      UTC ``received_at`` date is dt) and ``avg_percent_viewed`` from silver events.
    - ``analytics_*`` from Wistia's analytics timeseries, null when the plan has none.
    - ``media_name``: the catalogue's current name, else the latest name events carried.
    - ``gold_ingested_at``: the latest ``_fetched_at`` of the bronze data behind the row
      (deterministic, so recomputing a window leaves identical data).
    """
    names = medias.select("media_id", F.col("name").alias("_catalogue_name"))
    per_event = _per_event(events).join(_event_names(events, names), ["media_id", "dt"], "left")
    joined = (
        _day_stats(stats)
        .join(per_event, ["media_id", "dt"], "full_outer")
        .join(_day_analytics(analytics), ["media_id", "dt"], "left")
        .join(names, "media_id", "left")
    )
    loads = F.col("loads")
    return joined.select(
        "media_id",
        F.coalesce("_catalogue_name", "_event_media_name").alias("media_name"),
        loads.cast("bigint").alias("loads"),
        F.col("plays").cast("bigint").alias("plays"),
        F.when(loads > 0, F.col("plays").cast("double") / loads.cast("double")).alias("play_rate"),
        "hours_watched",
        F.coalesce("unique_visitors", F.lit(0)).cast("bigint").alias("unique_visitors"),
        F.coalesce("events", F.lit(0)).cast("bigint").alias("events"),
        F.col("avg_percent_viewed").cast("double").alias("avg_percent_viewed"),
        "analytics_unique_visitors",
        "analytics_play_rate",
        "analytics_engagement_rate",
        F.greatest("_stats_fetched_at", "_events_fetched_at", "_analytics_fetched_at").alias(
            "gold_ingested_at"
        ),
        "dt",
    ).select(*GOLD_FACT_COLUMNS)


def reconciliation(fact: DataFrame) -> DataFrame:
    """Per media-day: events counted from /stats/events vs play_count from by_date.

    ``difference`` = events_count - play_count; a missing by_date row counts as 0 plays.
    """
    plays = F.coalesce(F.col("plays"), F.lit(0)).cast("bigint")
    return fact.select(
        "media_id",
        F.col("events").cast("bigint").alias("events_count"),
        plays.alias("play_count"),
        (F.col("events") - plays).cast("bigint").alias("difference"),
        "dt",
    ).select(*GOLD_RECONCILIATION_COLUMNS)


def _listing_status(medias: DataFrame, snapshot_days: DataFrame) -> DataFrame:
    """Per catalogue media: ``in_latest_listing``, ``deleted`` and ``deleted_detected_dt``.

    ``snapshot_days`` (column ``dt``) are the days a ``/medias`` snapshot was taken. The
    listing is requested without the ``archived`` filter, which then returns archived and
    active media alike (Wistia API spec), so an archived media stays listed (``archived``
    true) and only a media that is gone from the catalogue misses a later snapshot.
    """
    later = snapshot_days.select(F.col("dt").alias("_snapshot_dt"))
    missed = (
        medias.join(later, F.col("_snapshot_dt") > F.col("last_seen_dt"))
        .groupBy("media_id")
        .agg(F.min("_snapshot_dt").alias("deleted_detected_dt"))
    )
    # Every snapshot day lists every media still in the catalogue: one that a snapshot after
    # its last listing missed is gone, and is not in the latest listing either.
    status = medias.select("media_id").join(missed, "media_id", "left")
    deleted = F.col("deleted_detected_dt").isNotNull()
    return status.select(
        "media_id",
        (~deleted).alias("in_latest_listing"),
        deleted.alias("deleted"),
        "deleted_detected_dt",
    )


def dim_media(medias: DataFrame, fact_all: DataFrame, snapshot_days: DataFrame) -> DataFrame:
    """One row per media ever seen: in the catalogue (any snapshot) or in any gold fact day.

    Catalogue attributes are the latest known: a media missing from a later listing keeps
    them, with ``in_latest_listing`` false, ``deleted`` true and ``deleted_detected_dt`` the
    first snapshot day that no longer listed it (its captured fact days stay as they were).
    Media known only from activity get their latest event name and ``deleted`` null (the
    catalogue never said).
    """
    activity = fact_all.groupBy("media_id").agg(
        F.min("dt").alias("first_activity_dt"),
        F.max("dt").alias("last_activity_dt"),
    )
    latest_name = latest_per_key(
        fact_all.where(F.col("media_name").isNotNull()), ["media_id"], [F.col("dt").desc()]
    ).select("media_id", F.col("media_name").alias("_activity_name"))
    catalogue = medias.join(_listing_status(medias, snapshot_days), "media_id")
    joined = catalogue.join(activity, "media_id", "full_outer").join(
        latest_name, "media_id", "left"
    )
    named = joined.select(
        "*",
        F.coalesce("name", "_activity_name").alias("media_name"),
        F.col("first_seen_dt").alias("catalogue_first_seen_dt"),
        F.col("last_seen_dt").alias("catalogue_last_seen_dt"),
    ).withColumn("in_latest_listing", F.coalesce("in_latest_listing", F.lit(False)))
    return named.select(*GOLD_DIM_MEDIA_COLUMNS)
