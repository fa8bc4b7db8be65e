"""The silver specs: per bronze stream, how it is checked and which silver tables it builds.

One table drives the silver job, :func:`empty.empty_silver` and the schemas the gold job falls
back to; the stream list itself (and each stream's rejects table) is ``wistia_pipeline.streams``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame

from . import silver
from .envelope import Checked
from .pii import PiiHasher

CheckFn = Callable[[DataFrame, dt.date, dt.date], Checked]
BuildFn = Callable[[DataFrame, PiiHasher], DataFrame]
# (published table, staged rows of the run days, published partitions from the first run day
# on or None, run days) -> the table
MergeFn = Callable[[DataFrame, DataFrame, DataFrame | None, Sequence[dt.date]], DataFrame]


@dataclass(frozen=True)
class Derived:
    """A whole (not partitioned) silver table built from every partition of a snapshot table.

    ``build`` computes it from all partitions. ``merge``, when set, gives the same table from
    the published one and the run's partitions, without reading every partition; ``build``
    is then used only while nothing is published yet.
    """

    table: str
    build: Callable[[DataFrame], DataFrame]
    sort_by: tuple[str, ...]
    merge: MergeFn | None = None


@dataclass(frozen=True)
class Spec:
    """How one bronze stream becomes silver.

    ``check`` types and rejects the parsed envelopes of the window; ``build`` turns the valid
    rows into ``table`` (partitioned by ``dt``, rows sorted by ``sort_by`` within a file);
    ``keys`` is the table's natural key: per key the latest observation is kept across runs
    and the already published rows (:func:`silver.latest_observations`); ``derived`` tables
    are built from ``table`` afterwards (snapshot streams; see :class:`Derived`).
    """

    check: CheckFn
    build: BuildFn
    table: str
    sort_by: tuple[str, ...]
    keys: tuple[str, ...]
    derived: tuple[Derived, ...] = ()

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.table, *(d.table for d in self.derived))


def _snapshot(check: Callable[[DataFrame], Checked]) -> CheckFn:
    """A snapshot's dt is its run's logical date, so the window does not filter its rows."""
    return lambda parsed, _start, _end: check(parsed)


def _without_pii(build: Callable[[DataFrame], DataFrame]) -> BuildFn:
    return lambda valid, _hasher: build(valid)


# In the order the job processes them (and lists them in reject-share errors).
SILVER: dict[str, Spec] = {
    "events": Spec(
        silver.check_events,
        silver.events_silver,
        "events",
        ("media_id", "received_at"),
        keys=("event_key",),
    ),
    "media_by_date": Spec(
        silver.check_media_by_date,
        _without_pii(silver.media_daily_stats_silver),
        "media_daily_stats",
        ("media_id",),
        keys=("media_id", "dt"),
    ),
    "analytics": Spec(
        silver.check_analytics,
        _without_pii(silver.media_analytics_silver),
        "media_analytics_daily",
        ("media_id",),
        keys=("media_id", "dt"),
    ),
    "medias": Spec(
        _snapshot(silver.check_medias),
        _without_pii(silver.medias_snapshot_silver),
        "medias_snapshots",
        ("media_id",),
        keys=("media_id", "dt"),
        derived=(
            Derived("medias", silver.medias_current, ("media_id",)),
            Derived("medias_history", silver.medias_history, ("media_id", "valid_from_dt")),
        ),
    ),
    "visitors": Spec(
        _snapshot(silver.check_visitors),
        silver.visitors_snapshot_silver,
        "visitors_snapshots",
        ("visitor_key",),
        keys=("visitor_key", "dt"),
        derived=(
            Derived(
                "visitors",
                silver.visitors_current,
                ("visitor_key",),
                merge=silver.visitors_merged,
            ),
        ),
    ),
}
