"""The schedule of ``wistia_daily``: one run per UTC day when current, ranges of days when behind.

A run's data interval is ``[D1 00:00, D2 + 1 00:00)`` UTC: the run covers the data days
``[D1, D2]`` (docs/architecture.md, "Run semantics"). :class:`RangeCatchupTimetable` gives the
next run every complete day not yet covered, up to ``max_range_days`` of them: catchup after a
pause, the first unpause with an old start date and Airflow 3 backfills (CLI and the UI's
Backfill form, which create their runs from the same ``next_dagrun_info``) run in ranges, and once
the DAG is current the next interval is the single day that ends at the next midnight, scheduled
at that midnight, as with ``CronDataIntervalTimetable("0 0 * * *")``.

A custom timetable must be registered through a plugin (the scheduler deserializes the DAG's
timetable by class path): :class:`wistia_airflow.WistiaTimetablesPlugin` lists it.
Light at import: ``airflow.timetables.base`` (core, the same module on 3.0.6 .. 3.3.1) and
``pendulum``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable

from wistia_pipeline.config import DEFAULT_MAX_RANGE_DAYS, MAX_RANGE_DAYS

DAY = timedelta(days=1)


def _midnight(value: datetime) -> pendulum.DateTime:
    """UTC midnight of ``value``'s UTC day (floor)."""
    day = value.astimezone(UTC).date()
    return pendulum.datetime(day.year, day.month, day.day, tz="UTC")


def _ceil_midnight(value: datetime) -> pendulum.DateTime:
    """The first UTC midnight at or after ``value``."""
    floor = _midnight(value)
    return floor if floor == value else floor + DAY


class RangeCatchupTimetable(Timetable):
    """Daily UTC data intervals, merged into runs of up to ``max_range_days`` days when behind.

    The next interval starts where the last one ended (or at the start date). It ends at the
    earliest of: ``max_range_days`` days later, the last UTC midnight (only complete days), the
    day after ``restriction.latest`` (a backfill's end date, or the DAG's end date). When no
    complete day is left it is the next single day, run when it ends.
    """

    periodic = True
    can_be_scheduled = True
    run_ordering = ("data_interval_end", "logical_date")

    def __init__(self, max_range_days: int = DEFAULT_MAX_RANGE_DAYS) -> None:
        self.max_range_days = max_range_days
        self.description = f"daily at 00:00 UTC; up to {max_range_days} days per run when behind"

    @property
    def summary(self) -> str:
        return f"0 0 * * * (UTC), ranges of <= {self.max_range_days} days when behind"

    def serialize(self) -> dict[str, Any]:
        return {"max_range_days": self.max_range_days}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> RangeCatchupTimetable:
        return cls(int(data["max_range_days"]))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RangeCatchupTimetable) and other.max_range_days == self.max_range_days
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.max_range_days))

    def validate(self) -> None:
        from airflow.exceptions import AirflowTimetableInvalid

        if not 1 <= self.max_range_days <= MAX_RANGE_DAYS:
            raise AirflowTimetableInvalid(
                f"max_range_days must be in 1..{MAX_RANGE_DAYS}, got {self.max_range_days}"
            )

    def infer_manual_data_interval(self, *, run_after: pendulum.DateTime) -> DataInterval:
        # A triggered run covers the last complete day before it, as the cron timetable does.
        end = _midnight(run_after)
        return DataInterval(start=end - DAY, end=end)

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        start = self._next_start(last_automated_data_interval, restriction)
        if start is None:
            return None
        if restriction.latest is not None and start > restriction.latest:
            return None
        complete_until = _midnight(pendulum.now("UTC"))
        if restriction.latest is not None:
            complete_until = min(complete_until, _midnight(restriction.latest) + DAY)
        if start >= complete_until:
            return DagRunInfo.interval(start, start + DAY)  # current: the next single day
        end = min(start + self.max_range_days * DAY, complete_until)
        return DagRunInfo.interval(start, end)

    @staticmethod
    def _next_start(
        last: DataInterval | None, restriction: TimeRestriction
    ) -> pendulum.DateTime | None:
        if last is not None:
            start = _ceil_midnight(last.end)
        elif restriction.earliest is None:
            return None  # no start date: nothing to schedule
        else:
            start = _ceil_midnight(restriction.earliest)
        if not restriction.catchup:
            # Without catchup only the latest complete day runs (the cron timetable's rule).
            start = max(start, _midnight(pendulum.now("UTC")) - DAY)
        return start
