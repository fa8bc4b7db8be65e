"""The run-state and watermark store interface, shared by the SQLite and DynamoDB backends.

Per data day one :class:`DayRun` (who runs it, its status, attempt, timings, counts, error and a
lease, so a crashed run does not block the day forever) and one forward-only watermark. The
interface validates arguments once; a backend implements each transition as one atomic
conditional write. Rules and the timestamp format: docs/state-store.md.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum

from wistia_pipeline.dates import days_between, format_ts, utcnow
from wistia_pipeline.dates import parse_ts as parse_ts  # importable from here, like format_ts

# Without a heartbeat (the Step Functions twin) a claim must outlast a whole run; the DAG's
# tasks renew a short lease instead (WISTIA_CLAIM_LEASE_SECONDS, renew_claim).
DEFAULT_LEASE_SECONDS = 6 * 3600
MAX_AUDIT_TEXT_CHARS = 500
MAX_ERROR_CHARS = 4000
MAX_RUN_ID_CHARS = 250
MAX_COUNT_KEYS = 100
# A range claim is one DynamoDB transaction (at most 100 items): its days plus the guard days.
MAX_CLAIM_ITEMS = 100
MAX_OVERRIDES = 20  # one per check, with room; a DynamoDB item must stay far below 400 KB
_TRUNCATION_MARK = "...[truncated {n} chars]"

Clock = Callable[[], datetime]


class DayStatus(str, Enum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class CheckOverride:
    """A data check an operator accepted for a run (the DAG params ``accept_failed_checks`` and
    ``override_reason``): what the check reported, why it was accepted and by whom.

    ``failures`` 0 means the override was unused: the check passed.
    """

    check: str
    failures: int
    detail: str
    reason: str
    by: str

    @property
    def used(self) -> bool:
        return self.failures > 0


@dataclass(frozen=True)
class DayRun:
    day: date
    status: DayStatus
    run_id: str
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int]
    error: str | None
    lease_expires_at: datetime
    # The check overrides the run that published the day relied on (or named unused); set by
    # mark_succeeded, cleared by the next claim.
    overrides: tuple[CheckOverride, ...] = ()


class StateStoreError(Exception):
    """Base class of run-state store errors."""


class DayAlreadyClaimed(StateStoreError):
    """Another run holds an unexpired RUNNING claim on the day."""

    def __init__(self, day: date, holder: DayRun | None) -> None:
        self.day = day
        self.holder = holder
        if holder is None:
            detail = "held by another run (record changed while claiming)"
        else:
            detail = (
                f"held by run {holder.run_id!r} (attempt {holder.attempt}, started "
                f"{format_ts(holder.started_at)}, lease expires "
                f"{format_ts(holder.lease_expires_at)})"
            )
        super().__init__(f"day {day.isoformat()} is already RUNNING, {detail}")


class NotClaimedByRun(StateStoreError):
    """A run tried to finish a day it does not hold (no record, not RUNNING, or another run)."""

    def __init__(self, day: date, run_id: str, current: DayRun | None) -> None:
        self.day = day
        self.run_id = run_id
        self.current = current
        if current is None:
            detail = "the day has no record"
        else:
            detail = f"the day is {current.status.value} by run {current.run_id!r}"
        super().__init__(
            f"run {run_id!r} cannot finish day {day.isoformat()}: it holds no RUNNING claim "
            f"({detail})"
        )


class HolderAlive(StateStoreError):
    """``release_day`` refused: the holder's lease is live (it may still be working)."""

    def __init__(self, holder: DayRun) -> None:
        self.holder = holder
        super().__init__(
            f"day {holder.day.isoformat()} is held by run {holder.run_id!r} whose lease runs "
            f"until {format_ts(holder.lease_expires_at)}: not released (wait for the lease to "
            "lapse, or pass --holder-dead if you know that run is dead)"
        )


class WatermarkChanged(StateStoreError):
    """``repair_watermark`` refused: the watermark is not the value the caller expected."""

    def __init__(self, expected: date | None, current: date | None) -> None:
        self.expected = expected
        self.current = current
        super().__init__(
            f"the watermark is {current}, not the expected {expected}: nothing changed"
        )


@dataclass(frozen=True)
class AuditEntry:
    """One manual intervention (``release_day``, ``repair_watermark``): who, when, what, why."""

    at: datetime
    action: str  # "release" | "repair_watermark"
    by: str
    reason: str
    day: date
    previous: str  # the value before: the holder run (release) or the old watermark


class RunStateStore(abc.ABC):
    """Run state per data day plus one forward-only watermark.

    The public methods validate their arguments and take the time from the store's clock; the
    ``_``-methods a backend implements must make every state transition a single atomic
    conditional write, so concurrent callers in other threads, processes or machines see
    exactly one winner.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or utcnow

    def claim_day(
        self, day: date, run_id: str, lease_seconds: int = DEFAULT_LEASE_SECONDS
    ) -> DayRun:
        """Mark ``day`` RUNNING by ``run_id`` with a lease; ``attempt`` increments each claim.

        Succeeds if the day has no record, is SUCCEEDED or FAILED (a rerun), is RUNNING by the
        same ``run_id`` (task retry) or RUNNING by another run whose lease has expired.
        Otherwise raises :class:`DayAlreadyClaimed` naming the holder.
        """
        now = self._write_time(day, run_id)
        return self._claim(day, run_id, now, lease_until(now, lease_seconds))

    def claim_range(
        self,
        first: date,
        last: date,
        run_id: str,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
        guard_days: int = 0,
    ) -> list[DayRun]:
        """Claim every day of ``[first, last]`` for ``run_id`` in one atomic write.

        Refused with :class:`DayAlreadyClaimed` (naming a holder), having written nothing, when
        any day of ``[first - guard_days, last + guard_days]`` is RUNNING by another run whose
        lease is live: with ``guard_days`` = L that is the overlap guard (a day ``D'`` held by
        another run has that run's window ``[D' - L, D']``, overlapping ``[first - L, last]``).
        Each day's claim follows :meth:`claim_day`'s rules (attempt + 1, counts cleared).
        """
        check_day(first)
        check_day(last)
        if first > last:
            raise ValueError(f"claim_range: first {first} is after last {last}")
        if isinstance(guard_days, bool) or not isinstance(guard_days, int) or guard_days < 0:
            raise ValueError(f"guard_days must be an int >= 0, got {guard_days!r}")
        items = len(days_between(first, last)) + 2 * guard_days
        if items > MAX_CLAIM_ITEMS:
            raise ValueError(
                f"claim_range of {first}..{last} with {guard_days} guard days touches {items} "
                f"days; one claim takes at most {MAX_CLAIM_ITEMS}"
            )
        now = self._write_time(first, run_id)
        guard = timedelta(days=guard_days)
        return self._claim_range(
            first, last, first - guard, last + guard, run_id, now, lease_until(now, lease_seconds)
        )

    def mark_succeeded(
        self,
        day: date,
        run_id: str,
        counts: Mapping[str, int],
        overrides: Iterable[CheckOverride] = (),
    ) -> DayRun:
        """RUNNING by ``run_id`` -> SUCCEEDED with ``counts`` and the check ``overrides`` the
        run relied on; else :class:`NotClaimedByRun`."""
        clean = check_counts(counts)
        accepted = check_overrides(overrides)
        return self._succeed(day, run_id, self._write_time(day, run_id), clean, accepted)

    def mark_failed(self, day: date, run_id: str, error: str) -> DayRun:
        """RUNNING by ``run_id`` -> FAILED with ``error`` (truncated to
        :data:`MAX_ERROR_CHARS`), counts kept; else :class:`NotClaimedByRun`."""
        message = truncate_error(error)
        return self._fail(day, run_id, self._write_time(day, run_id), message)

    def get_day(self, day: date) -> DayRun | None:
        """The record of ``day`` or None."""
        return self._get_day(check_day(day))

    def list_days(self, start: date, end: date) -> list[DayRun]:
        """Records of the days in ``[start, end]`` (inclusive) that exist, ascending by day."""
        check_day(start)
        check_day(end)
        if start > end:
            raise ValueError(f"list_days: start {start} is after end {end}")
        return self._list_days(start, end)

    def advance_watermark(self, day: date, run_id: str) -> bool:
        """Set the watermark to ``day`` if it is unset or earlier; True if it moved."""
        return self._advance_watermark(day, run_id, self._write_time(day, run_id))

    @abc.abstractmethod
    def get_watermark(self) -> date | None:
        """The last fully published day, or None before the first publication."""

    def renew_claim(
        self, day: date, run_id: str, lease_seconds: int = DEFAULT_LEASE_SECONDS
    ) -> DayRun:
        """The heartbeat: RUNNING by ``run_id`` -> lease until now + ``lease_seconds``.

        Also after the lease lapsed, as long as no other run took the day over; otherwise
        :class:`NotClaimedByRun` (the run lost its day and must stop).
        """
        now = self._write_time(day, run_id)
        return self._renew(day, run_id, now, lease_until(now, lease_seconds))

    def release_day(
        self, day: date, run_id: str, *, by: str, reason: str, holder_dead: bool = False
    ) -> DayRun:
        """Release the claim of ``run_id`` on ``day`` by hand: RUNNING -> FAILED, with who/why
        in ``error`` and an :class:`AuditEntry`.

        Refused with :class:`HolderAlive` while the holder's lease is live unless
        ``holder_dead`` (the operator knows it is dead); :class:`NotClaimedByRun` when
        ``run_id`` holds no RUNNING claim on the day.
        """
        now = self._write_time(day, run_id)
        entry = AuditEntry(
            now, "release", check_text("by", by), check_text("reason", reason), day, run_id
        )
        return self._release(day, run_id, now, entry, holder_dead)

    def repair_watermark(self, day: date, *, expected: date | None, by: str, reason: str) -> None:
        """Move the watermark back to ``day``, explicitly: only from ``expected`` (the value
        the operator saw; :class:`WatermarkChanged` otherwise) and only backwards; recorded as
        an :class:`AuditEntry` with the previous value."""
        check_day(day)
        if expected is None or day >= expected:
            raise ValueError(
                f"repair_watermark moves the watermark back: {day} is not before {expected}"
            )
        entry = AuditEntry(
            now_ms(self._clock),
            "repair_watermark",
            check_text("by", by),
            check_text("reason", reason),
            day,
            expected.isoformat(),
        )
        self._repair_watermark(day, expected, entry)

    @abc.abstractmethod
    def audit_log(self) -> list[AuditEntry]:
        """Every recorded manual intervention, oldest first."""

    def _write_time(self, day: date, run_id: str) -> datetime:
        """Check a write's day and run id; the clock's time as the store keeps it."""
        check_day(day)
        check_run_id(run_id)
        return now_ms(self._clock)

    # --- what a backend implements (arguments already checked) ---------------------------

    @abc.abstractmethod
    def _claim(self, day: date, run_id: str, now: datetime, lease: datetime) -> DayRun:
        """The claim of :meth:`claim_day`, started at ``now`` and leased until ``lease``."""

    @abc.abstractmethod
    def _claim_range(
        self,
        first: date,
        last: date,
        guard_first: date,
        guard_last: date,
        run_id: str,
        now: datetime,
        lease: datetime,
    ) -> list[DayRun]:
        """:meth:`claim_range`: every claim and every guard check in one transaction."""

    @abc.abstractmethod
    def _succeed(
        self,
        day: date,
        run_id: str,
        now: datetime,
        counts: dict[str, int],
        overrides: tuple[CheckOverride, ...],
    ) -> DayRun:
        """:meth:`mark_succeeded` at ``now``."""

    @abc.abstractmethod
    def _fail(self, day: date, run_id: str, now: datetime, error: str) -> DayRun:
        """:meth:`mark_failed` at ``now``, ``error`` already truncated."""

    @abc.abstractmethod
    def _get_day(self, day: date) -> DayRun | None: ...

    @abc.abstractmethod
    def _list_days(self, start: date, end: date) -> list[DayRun]: ...

    @abc.abstractmethod
    def _advance_watermark(self, day: date, run_id: str, now: datetime) -> bool: ...

    @abc.abstractmethod
    def _renew(self, day: date, run_id: str, now: datetime, lease: datetime) -> DayRun:
        """:meth:`renew_claim` at ``now``."""

    @abc.abstractmethod
    def _release(
        self, day: date, run_id: str, now: datetime, entry: AuditEntry, holder_dead: bool
    ) -> DayRun:
        """:meth:`release_day`: the day's write and the audit entry in one transaction."""

    @abc.abstractmethod
    def _repair_watermark(self, day: date, expected: date, entry: AuditEntry) -> None:
        """:meth:`repair_watermark`: the watermark's write and the entry in one transaction."""


# --- argument checks and the stored time ------------------------------------------------------


def now_ms(clock: Clock) -> datetime:
    """The clock's time, UTC, truncated to milliseconds (what the stores can represent)."""
    value = clock()
    if value.tzinfo is None:
        raise ValueError(f"clock must return timezone-aware datetimes, got {value!r}")
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def live_holder(current: DayRun | None, run_id: str, now: datetime) -> bool:
    """``current`` is a claim of another run whose lease has not lapsed at ``now``."""
    return (
        current is not None
        and current.status is DayStatus.RUNNING
        and current.run_id != run_id
        and current.lease_expires_at >= now
    )


def lease_until(now: datetime, lease_seconds: int) -> datetime:
    if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, int) or lease_seconds <= 0:
        raise ValueError(f"lease_seconds must be a positive int, got {lease_seconds!r}")
    return now + timedelta(seconds=lease_seconds)


def check_day(day: date) -> date:
    if not isinstance(day, date) or isinstance(day, datetime):
        raise TypeError(f"day must be a datetime.date (not datetime), got {day!r}")
    return day


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not run_id.strip():
        raise ValueError(f"run_id must be a non-empty string, got {run_id!r}")
    if len(run_id) > MAX_RUN_ID_CHARS:
        raise ValueError(f"run_id longer than {MAX_RUN_ID_CHARS} chars: {run_id[:60]!r}...")
    return run_id


def check_counts(counts: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(counts, Mapping):
        raise TypeError(f"counts must be a mapping of str -> int, got {type(counts).__name__}")
    if len(counts) > MAX_COUNT_KEYS:
        raise ValueError(f"counts has {len(counts)} keys, at most {MAX_COUNT_KEYS} allowed")
    clean: dict[str, int] = {}
    for key, value in counts.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"counts keys must be non-empty strings, got {key!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"counts[{key!r}] must be an int, got {value!r}")
        clean[key] = value
    return clean


def check_overrides(overrides: Iterable[CheckOverride]) -> tuple[CheckOverride, ...]:
    """Validated overrides: one per check, reason and who non-empty, failures >= 0."""
    found = tuple(overrides)
    if len(found) > MAX_OVERRIDES:
        raise ValueError(f"{len(found)} overrides, at most {MAX_OVERRIDES} allowed")
    names = [o.check for o in found if isinstance(o, CheckOverride)]
    if len(names) != len(found):
        raise TypeError(f"overrides must be CheckOverride records, got {found!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"overrides name a check twice: {names}")
    for item in found:
        check_text("override check", item.check)
        check_text("override reason", item.reason)
        check_text("override by", item.by)
        if isinstance(item.failures, bool) or not isinstance(item.failures, int):
            raise ValueError(f"override failures must be an int, got {item.failures!r}")
        if item.failures < 0:
            raise ValueError(f"override failures must be >= 0, got {item.failures}")
    return found


def overrides_to_json(overrides: Iterable[CheckOverride]) -> str:
    """The stored form of overrides in both stores: a JSON list of objects (a string, so the
    Step Functions twin can write it with ``States.JsonToString``)."""
    return json.dumps([asdict(o) for o in overrides], sort_keys=True, ensure_ascii=False)


def overrides_from_json(text: str | None) -> tuple[CheckOverride, ...]:
    """The inverse of :func:`overrides_to_json`; None or empty text is no overrides. Numbers
    may come as text (the twin copies Athena's string results)."""
    if not text:
        return ()
    return tuple(
        CheckOverride(
            check=str(o["check"]),
            failures=int(o["failures"]),
            detail=str(o.get("detail") or ""),
            reason=str(o["reason"]),
            by=str(o["by"]),
        )
        for o in json.loads(text)
    )


def check_text(name: str, value: str) -> str:
    """A non-empty audit text (who, why), at most :data:`MAX_AUDIT_TEXT_CHARS`."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    if len(value) > MAX_AUDIT_TEXT_CHARS:
        raise ValueError(f"{name} longer than {MAX_AUDIT_TEXT_CHARS} chars")
    return value.strip()


def release_error(entry: AuditEntry, holder: DayRun, holder_dead: bool) -> str:
    """The ``error`` a released day records: who released whose claim, when and why."""
    how = "holder declared dead" if holder_dead else "its lease had lapsed"
    return truncate_error(
        f"released by {entry.by} at {format_ts(entry.at)} ({how}): {entry.reason} "
        f"[was RUNNING by {holder.run_id!r}, attempt {holder.attempt}, lease until "
        f"{format_ts(holder.lease_expires_at)}]"
    )


def truncate_error(error: str) -> str:
    """``error`` cut to at most :data:`MAX_ERROR_CHARS` characters, marking the cut."""
    if not isinstance(error, str):
        raise TypeError(f"error must be a string, got {type(error).__name__}")
    if len(error) <= MAX_ERROR_CHARS:
        return error
    # The mark's length depends on the number it carries; size it for the worst case.
    mark = _TRUNCATION_MARK.format(n=len(error))
    keep = MAX_ERROR_CHARS - len(mark)
    return error[:keep] + _TRUNCATION_MARK.format(n=len(error) - keep)
