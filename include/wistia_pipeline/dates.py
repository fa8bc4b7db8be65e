"""Days, windows and timestamps: the one place the pipeline does date arithmetic.

Stdlib only: the DAG file, the Lambda, the Glue jobs and the state stores all import it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def days_between(start: date, end: date) -> list[date]:
    """Every day of the inclusive range ``[start, end]``; ``start`` after ``end`` is an error."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def check_lookback(lookback_days: object) -> int:
    """``lookback_days`` as an int >= 0 (bools and other types are refused)."""
    if isinstance(lookback_days, bool) or not isinstance(lookback_days, int) or lookback_days < 0:
        raise ValueError(f"lookback_days must be an int >= 0, got {lookback_days!r}")
    return lookback_days


def window(day: date, lookback_days: int) -> tuple[date, date]:
    """The processing window ``[D - L, D]`` of data day ``D`` (inclusive)."""
    return day - timedelta(days=check_lookback(lookback_days)), day


def range_window(first_day: date, last_day: date, lookback_days: int) -> tuple[date, date]:
    """The processing window ``[D1 - L, D2]`` of a run covering data days ``[D1, D2]``.

    The daily run is ``D1 = D2`` (:func:`window`); a range run re-ingests the lookback of its
    first day once and every later day of the range as new data.
    """
    if first_day > last_day:
        raise ValueError(f"range start {first_day} is after its end {last_day}")
    return first_day - timedelta(days=check_lookback(lookback_days)), last_day


def split_range(start: date, end: date, max_days: int) -> list[tuple[date, date]]:
    """``[start, end]`` cut into consecutive ranges of at most ``max_days`` days, in order."""
    if max_days < 1:
        raise ValueError(f"max_days must be >= 1, got {max_days}")
    days = days_between(start, end)
    return [
        (chunk[0], chunk[-1])
        for chunk in (days[i : i + max_days] for i in range(0, len(days), max_days))
    ]


def window_days(day: date, lookback_days: int) -> list[date]:
    """Every day of :func:`window`."""
    return days_between(*window(day, lookback_days))


def utcnow() -> datetime:
    return datetime.now(UTC)


class DayNotFinished(ValueError):
    """A run was asked for a data day that has not ended in UTC yet."""

    def __init__(self, day: date, now: datetime) -> None:
        self.day = day
        self.ends_at = day_end(day)
        super().__init__(
            f"refusing data day {day.isoformat()}: it has not ended in UTC (it ends at "
            f"{format_ts(self.ends_at)}, now {format_ts(now)}); a run of an unfinished day "
            "would publish partial numbers and move the watermark past days to come"
        )


def day_end(day: date) -> datetime:
    """The instant data day ``D`` ends: ``D + 1`` 00:00 UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def require_finished_day(day: date, now: datetime | None = None) -> date:
    """``day`` if it has ended in UTC (``D + 1`` 00:00 <= now), else :class:`DayNotFinished`.

    The one rule both orchestrators and the local runner apply before claiming a day: the
    watermark only moves forward, so a published partial day could never be corrected by it.
    """
    now = utcnow() if now is None else now
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, got {now!r}")
    if day_end(day) > now:
        raise DayNotFinished(day, now)
    return day


def format_ts(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.sssZ`` (UTC, millisecond precision, fixed width)."""
    if value.tzinfo is None:
        raise ValueError(f"timestamp must be timezone-aware, got naive {value!r}")
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_ts(text: str) -> datetime:
    """Parse a stored timestamp (any ISO-8601 form with an offset or ``Z``) to aware UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"stored timestamp {text!r} has no UTC offset")
    return value.astimezone(UTC)


def now_iso() -> str:
    """The current time as :func:`format_ts` text."""
    return format_ts(utcnow())
