"""The bronze streams and the silver and gold tables: the one list of each.

Stdlib only: the DAG file imports it at parse time (through ``pipeline``), the Lambda and the
Glue jobs import it too. Layout and meaning of the tables: docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stream:
    """One bronze stream and the silver table it feeds."""

    name: str
    # True: a record's dt is its own day, so every day of the window gets a manifest.
    # False: a snapshot, one dt per run (the run's logical date).
    daily: bool
    # Fetched once per media: the envelope carries the media id the record belongs to.
    per_media: bool
    # The silver table the stream feeds; its rejects are filed under the same name.
    silver_table: str


BRONZE: dict[str, Stream] = {
    s.name: s
    for s in (
        Stream("medias", daily=False, per_media=False, silver_table="medias"),
        Stream("media_by_date", daily=True, per_media=True, silver_table="media_daily_stats"),
        Stream("events", daily=True, per_media=False, silver_table="events"),
        Stream("visitors", daily=False, per_media=False, silver_table="visitors"),
        Stream("analytics", daily=True, per_media=True, silver_table="media_analytics_daily"),
    )
}
# The streams the ingestion Lambda understands, in the order it fetches them.
ALL_STREAMS: tuple[str, ...] = tuple(BRONZE)
DAILY_STREAMS: tuple[str, ...] = tuple(s.name for s in BRONZE.values() if s.daily)

SILVER_TABLES: tuple[str, ...] = (
    "events",
    "media_daily_stats",
    "media_analytics_daily",
    "medias",
    "medias_history",
    "medias_snapshots",
    "visitors",
    "visitors_snapshots",
)
# Silver tables that hold rejects (under ``silver/wistia/_rejects/``): one per stream.
REJECT_TABLES: tuple[str, ...] = tuple(s.silver_table for s in BRONZE.values())
# Gold tables a successful run publishes (declared as Airflow Assets by the DAG).
GOLD_TABLES: tuple[str, ...] = ("fact_media_daily", "dim_media", "reconciliation")


def select(names: Sequence[str]) -> list[str]:
    """The named streams in fetch order, each once; unknown names (or a bare string) are errors."""
    if isinstance(names, str):
        raise ValueError("streams must be a list of stream names, not a string")
    unknown = sorted(set(names) - set(ALL_STREAMS))
    if unknown:
        raise ValueError(f"unknown streams {unknown}; known: {list(ALL_STREAMS)}")
    return [name for name in ALL_STREAMS if name in set(names)]


def stream_info(name: str) -> Stream:
    """The stream called ``name``; an unknown name is a ``ValueError``."""
    try:
        return BRONZE[name]
    except KeyError:
        raise ValueError(f"unknown bronze stream {name!r}; expected one of {ALL_STREAMS}") from None
