"""The daily report as data: pure functions from gold rows and the run state to a :class:`Report`.

No I/O here. :func:`build_report` takes the rows of the report's queries
(:mod:`wistia_pipeline.report.queries`), the day's run state (:class:`DayState`) and the totals
earlier reports recorded (:class:`Snapshot`), and decides everything the page shows:

- a day's numbers are shown only when the day is published (its run SUCCEEDED) or has no
  run-state record at all (a lake built outside the pipeline, said so on the page). A FAILED or
  RUNNING day shows its status and a link to the last published day, never numbers;
- the baseline is the average of the 7 days before ``D``, counting only days since the first
  day with gold rows in the 28-day trend window (a new account has fewer, the page says how
  many); a day without rows after that counts as zero;
- the top media by play rate need at least :data:`MIN_LOADS` loads;
- late data healed: the window's earlier days (``[D - L, D - 1]``, recomputed by this run)
  compared with the totals their own reports recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from wistia_pipeline.dates import days_between

BASELINE_DAYS = 7
TREND_DAYS = 28
TOP_N = 10
TOP_TREND_MEDIA = 5
# A video needs this many loads on the day to rank by play rate (3 loads, 3 plays is no story).
MIN_LOADS = 20

PUBLISHED = "published"
FAILED = "failed"
RUNNING = "running"
UNRECORDED = "unrecorded"
STATUSES = (PUBLISHED, FAILED, RUNNING, UNRECORDED)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator`` as a float; None when the denominator is 0 or missing."""
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class DayTotals:
    """Account totals of one day (gold summed over media; distinct viewers from events)."""

    day: date
    media_count: int = 0
    loads: int = 0
    plays: int = 0
    hours_watched: float = 0.0
    events: int = 0
    unique_visitors: int = 0
    recomputed_at: datetime | None = None

    @property
    def play_rate(self) -> float | None:
        return ratio(self.plays, self.loads)

    def as_json(self) -> dict[str, Any]:
        return {
            "media_count": self.media_count,
            "loads": self.loads,
            "plays": self.plays,
            "play_rate": self.play_rate,
            "hours_watched": self.hours_watched,
            "events": self.events,
            "unique_visitors": self.unique_visitors,
        }


def day_totals(row: Mapping[str, Any]) -> DayTotals:
    return DayTotals(
        day=as_date(row["dt"]),
        media_count=int(row.get("media_count") or 0),
        loads=int(row.get("loads") or 0),
        plays=int(row.get("plays") or 0),
        hours_watched=float(row.get("hours_watched") or 0.0),
        events=int(row.get("events") or 0),
        unique_visitors=int(row.get("unique_visitors") or 0),
        recomputed_at=row.get("recomputed_at"),
    )


@dataclass(frozen=True)
class Metric:
    """A headline number of ``D`` against the average of the days before it."""

    key: str
    label: str
    unit: str
    value: float | None
    baseline: float | None
    baseline_days: int

    @property
    def change(self) -> float | None:
        """Relative change against the baseline (0.12 = +12 %); None without a baseline."""
        if self.value is None or self.baseline is None or self.baseline == 0:
            return None
        return (self.value - self.baseline) / self.baseline


@dataclass(frozen=True)
class MediaRow:
    media_id: str
    media_name: str
    loads: int
    plays: int
    play_rate: float | None
    hours_watched: float
    unique_visitors: int
    events: int
    avg_percent_viewed: float | None


def media_row(row: Mapping[str, Any]) -> MediaRow:
    loads = int(row.get("loads") or 0)
    plays = int(row.get("plays") or 0)
    name = row.get("media_name")
    return MediaRow(
        media_id=str(row["media_id"]),
        media_name=str(name) if name is not None else str(row["media_id"]),
        loads=loads,
        plays=plays,
        play_rate=ratio(plays, loads),
        hours_watched=float(row.get("hours_watched") or 0.0),
        unique_visitors=int(row.get("unique_visitors") or 0),
        events=int(row.get("events") or 0),
        avg_percent_viewed=(
            float(row["avg_percent_viewed"]) if row.get("avg_percent_viewed") is not None else None
        ),
    )


@dataclass(frozen=True)
class TrendPoint:
    day: date
    plays: int
    hours_watched: float
    published: bool = True  # False: the day's run FAILED (or runs): its gold is unchecked


@dataclass(frozen=True)
class MediaTrendPoint:
    day: date
    media_id: str
    media_name: str
    plays: int
    hours_watched: float


@dataclass(frozen=True)
class ReconDay:
    """Events from ``/stats/events`` vs plays from ``by_date`` for one day of the window."""

    day: date
    events: int
    plays: int
    abs_difference: int
    media_with_gap: int
    provisional: bool  # D itself: late events may still arrive

    @property
    def relative_gap(self) -> float | None:
        return ratio(self.abs_difference, self.plays)


@dataclass(frozen=True)
class Snapshot:
    """What an earlier report of ``day`` showed (its ``summary.json``)."""

    day: date
    status: str
    totals: Mapping[str, Any] | None
    generated_at: str | None = None


@dataclass(frozen=True)
class LateChange:
    """A window day recomputed by this run: its totals now vs what its own report showed."""

    day: date
    before: Mapping[str, Any] | None  # None: never reported (or reported as not published)
    now: DayTotals
    reported_at: str | None

    def delta(self, key: str) -> float | None:
        if self.before is None or self.before.get(key) is None:
            return None
        return float(getattr(self.now, key)) - float(self.before[key])

    @property
    def changed(self) -> bool:
        return any(self.delta(k) for k in ("loads", "plays", "events", "hours_watched"))


@dataclass(frozen=True)
class CheckInfo:
    name: str
    failures: int
    detail: str


@dataclass(frozen=True)
class DayState:
    """The run state of ``D`` as the report needs it (from the run-state store / the run)."""

    status: str
    run_id: str | None = None
    finished_at: datetime | None = None
    error: str | None = None
    checks_passed: int | None = None
    checks: tuple[CheckInfo, ...] = ()
    watermark: date | None = None
    # The check overrides the publishing run used (state.CheckOverride: check, failures,
    # detail, reason, by); failures 0 = named but unused.
    overrides: tuple[Any, ...] = ()

    @property
    def overridden(self) -> tuple[Any, ...]:
        return tuple(o for o in self.overrides if o.failures)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def failed_step(self) -> str | None:
        """The step named by the error (``checks: DataCheckFailed: ...`` -> ``checks``)."""
        if not self.error:
            return None
        head, sep, _ = self.error.partition(":")
        return head.strip() if sep and head.strip().isidentifier() else None


def day_state_from_record(record: Any, watermark: date | None) -> DayState:
    """:class:`DayState` of a run-state ``DayRun`` (or None: no record)."""
    if record is None:
        return DayState(status=UNRECORDED, watermark=watermark)
    status = str(getattr(record.status, "value", record.status))
    counts = dict(record.counts or {})
    return DayState(
        status={"SUCCEEDED": PUBLISHED, "FAILED": FAILED, "RUNNING": RUNNING}[status],
        run_id=record.run_id,
        finished_at=record.finished_at,
        error=record.error,
        checks_passed=counts.get("checks_passed"),
        watermark=watermark,
        overrides=tuple(getattr(record, "overrides", ()) or ()),
    )


@dataclass(frozen=True)
class Report:
    day: date
    generated_at: datetime
    state: DayState
    lookback_days: int
    metrics: tuple[Metric, ...] = ()
    baseline_days: tuple[date, ...] = ()
    first_data_day: date | None = None
    media_count: int = 0
    top_by_plays: tuple[MediaRow, ...] = ()
    top_by_rate: tuple[MediaRow, ...] = ()
    min_loads: int = MIN_LOADS
    account_trend: tuple[TrendPoint, ...] = ()
    media_trend: tuple[MediaTrendPoint, ...] = ()
    trend_media: tuple[MediaRow, ...] = ()
    reconciliation: tuple[ReconDay, ...] = ()
    late: tuple[LateChange, ...] = ()
    totals: DayTotals | None = None
    previous_report_day: date | None = None
    last_published_day: date | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def shows_numbers(self) -> bool:
        return self.state.status in (PUBLISHED, UNRECORDED)

    @property
    def has_plays(self) -> bool:
        return bool(self.totals and self.totals.plays)

    def summary(self) -> dict[str, Any]:
        """What ``summary.json`` records (later reports compare their window with it)."""
        return {
            "day": self.day.isoformat(),
            "status": self.state.status,
            "generated_at": self.generated_at.isoformat(),
            "totals": self.totals.as_json() if self.totals and self.shows_numbers else None,
        }


def metrics_for(today: DayTotals, baseline: Sequence[DayTotals]) -> tuple[Metric, ...]:
    """The five headline metrics of ``today`` against the mean of ``baseline`` days."""
    n = len(baseline)

    def mean(key: str) -> float | None:
        return sum(float(getattr(t, key)) for t in baseline) / n if n else None

    rate_baseline = ratio(sum(t.plays for t in baseline), sum(t.loads for t in baseline))
    return (
        Metric("loads", "Loads", "loads", today.loads, mean("loads"), n),
        Metric("plays", "Plays", "plays", today.plays, mean("plays"), n),
        Metric("play_rate", "Play rate", "%", today.play_rate, rate_baseline if n else None, n),
        Metric(
            "hours_watched", "Hours watched", "h", today.hours_watched, mean("hours_watched"), n
        ),
        Metric(
            "unique_visitors",
            "Unique viewers",
            "viewers",
            today.unique_visitors,
            mean("unique_visitors"),
            n,
        ),
    )


def rank_by_plays(media: Iterable[MediaRow], n: int = TOP_N) -> tuple[MediaRow, ...]:
    """Media with plays, most plays first (ties by media id, as the trend query orders)."""
    played = [m for m in media if m.plays > 0]
    return tuple(sorted(played, key=lambda m: (-m.plays, m.media_id))[:n])


def rank_by_play_rate(
    media: Iterable[MediaRow], min_loads: int = MIN_LOADS, n: int = TOP_N
) -> tuple[MediaRow, ...]:
    """Media with at least ``min_loads`` loads, highest play rate first (ties: more loads)."""
    eligible = [m for m in media if m.loads >= min_loads and m.play_rate is not None]
    return tuple(sorted(eligible, key=lambda m: (-(m.play_rate or 0.0), -m.loads, m.media_id))[:n])


def recon_days(rows: Iterable[Mapping[str, Any]], day: date) -> tuple[ReconDay, ...]:
    return tuple(
        ReconDay(
            day=as_date(r["dt"]),
            events=int(r.get("events_count") or 0),
            plays=int(r.get("play_count") or 0),
            abs_difference=int(r.get("abs_difference") or 0),
            media_with_gap=int(r.get("media_with_gap") or 0),
            provisional=as_date(r["dt"]) == day,
        )
        for r in rows
    )


def not_published(
    day: date,
    state: DayState,
    lookback_days: int,
    generated_at: datetime,
    last_published_day: date | None = None,
) -> Report:
    """The report of a day whose numbers must not be shown (FAILED or RUNNING)."""
    return Report(
        day=day,
        generated_at=generated_at,
        state=state,
        lookback_days=lookback_days,
        last_published_day=last_published_day,
    )


def _baseline_days(day: date, first: date | None, skipped: set[date]) -> tuple[date, ...]:
    """The published days of the 7 before ``day`` that the account has data for."""
    before = days_between(day - timedelta(days=BASELINE_DAYS), day - timedelta(days=1))
    return tuple(d for d in before if first is not None and d >= first and d not in skipped)


def _account_trend(
    trend_days: Sequence[date], by_day: Mapping[date, DayTotals], skipped: set[date]
) -> tuple[TrendPoint, ...]:
    return tuple(
        TrendPoint(
            d,
            by_day.get(d, DayTotals(d)).plays,
            by_day.get(d, DayTotals(d)).hours_watched,
            published=d not in skipped,
        )
        for d in trend_days
    )


def _media_trend(
    trend_days: Sequence[date], trend_media: Sequence[Any], rows: Iterable[Mapping[str, Any]]
) -> tuple[MediaTrendPoint, ...]:
    points = {(as_date(r["dt"]), str(r["media_id"])): r for r in rows}
    return tuple(
        MediaTrendPoint(
            day=d,
            media_id=m.media_id,
            media_name=m.media_name,
            plays=int((points.get((d, m.media_id)) or {}).get("plays") or 0),
            hours_watched=float((points.get((d, m.media_id)) or {}).get("hours_watched") or 0.0),
        )
        for m in trend_media
        for d in trend_days
    )


def _late_changes(
    day: date,
    lookback_days: int,
    by_day: Mapping[date, DayTotals],
    snapshots: Mapping[date, Snapshot],
) -> tuple[LateChange, ...]:
    """The earlier days of the window: what their own reports said, and gold now."""
    return tuple(
        LateChange(
            day=d,
            before=(snapshots[d].totals if d in snapshots else None),
            now=by_day.get(d, DayTotals(d)),
            reported_at=snapshots[d].generated_at if d in snapshots else None,
        )
        for d in days_between(day - timedelta(days=lookback_days), day)[:-1]
    )


def _notes(
    day: date, state: DayState, by_day: Mapping[date, DayTotals], skipped: set[date]
) -> tuple[str, ...]:
    notes = []
    if state.status == UNRECORDED:
        notes.append(
            f"The run-state store has no record of {day.isoformat()}: these numbers were not "
            "published by a recorded pipeline run."
        )
    if day not in by_day:
        notes.append(f"Gold has no rows for {day.isoformat()}: every number is zero.")
    left_out = sorted(d for d in skipped if day - timedelta(days=BASELINE_DAYS) <= d < day)
    if left_out:
        names = ", ".join(d.isoformat() for d in left_out)
        notes.append(f"Not published, so left out of the 7-day average: {names}.")
    return tuple(notes)


def build_report(
    day: date,
    state: DayState,
    rows: Mapping[str, Sequence[Mapping[str, Any]]],
    lookback_days: int,
    generated_at: datetime,
    snapshots: Mapping[date, Snapshot] | None = None,
    previous_report_day: date | None = None,
    min_loads: int = MIN_LOADS,
    unpublished: Iterable[date] = (),
) -> Report:
    """The report of ``day`` from the rows of :func:`~.queries.report_queries`.

    ``unpublished``: earlier days whose run FAILED or is running: their gold did not pass the
    checks, so they are left out of the baseline and marked in the trend.
    """
    last_published = state.watermark if state.watermark and state.watermark != day else None
    if state.status not in (PUBLISHED, UNRECORDED):
        return not_published(day, state, lookback_days, generated_at, last_published)
    skipped = set(unpublished) - {day}
    by_day = {t.day: t for t in map(day_totals, rows.get("daily_totals", ()))}
    trend_start = day - timedelta(days=TREND_DAYS - 1)
    first = min((d for d in by_day if trend_start <= d <= day), default=None)
    today = by_day.get(day, DayTotals(day))
    baseline_days = _baseline_days(day, first, skipped)
    trend_days = days_between(first, day) if first else [day]
    media = [media_row(r) for r in rows.get("media_day", ())]
    top_plays = rank_by_plays(media)
    trend_media = top_plays[:TOP_TREND_MEDIA]
    return Report(
        day=day,
        generated_at=generated_at,
        state=state,
        lookback_days=lookback_days,
        metrics=metrics_for(today, [by_day.get(d, DayTotals(d)) for d in baseline_days]),
        baseline_days=baseline_days,
        first_data_day=first,
        media_count=len(media),
        top_by_plays=top_plays,
        top_by_rate=rank_by_play_rate(media, min_loads),
        min_loads=min_loads,
        account_trend=_account_trend(trend_days, by_day, skipped),
        media_trend=_media_trend(trend_days, trend_media, rows.get("media_trend", ())),
        trend_media=trend_media,
        reconciliation=recon_days(rows.get("reconciliation", ()), day),
        late=_late_changes(day, lookback_days, by_day, snapshots or {}),
        totals=today,
        previous_report_day=previous_report_day,
        last_published_day=last_published,
        notes=_notes(day, state, by_day, skipped),
    )
