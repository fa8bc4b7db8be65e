"""The run's ingestion record: one asynchronous ingestion Lambda invocation and its outcome.

The orchestrator (the DAG's ``ingest`` task, the Step Functions twin) never holds a connection
open while the Lambda works: it writes the record ``INVOKED`` with a start deadline, invokes
the function asynchronously and then reads the record with short calls until it ends. The
Lambda moves it to ``RUNNING`` (refused unless the record names its invocation), renews a
short lease from a thread while it works (the heartbeat) and ends it ``SUCCEEDED`` with the
ingestion summary or ``FAILED`` with the error; a crash that writes nothing shows as a lapsed
lease. Keyed by the run id, in the run-state store (never in the lake: the orchestrators do
not read bronze). Design and item shapes: docs/ingestion.md, docs/state-store.md.

:class:`IngestionRecords` is the store interface (a mixin of both backends);
:func:`waiter_verdict` is the one rule every waiter applies to a record it reads.
"""

from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from wistia_pipeline.dates import format_ts, parse_ts
from wistia_pipeline.state.base import (
    Clock,
    StateStoreError,
    check_run_id,
    lease_until,
    now_ms,
    truncate_error,
)

# A DynamoDB item must stay below 400 KB; the summary (counts and manifest URIs) is a few KB.
MAX_SUMMARY_CHARS = 300_000
MAX_ERROR_TYPE_CHARS = 200
MAX_ID_CHARS = 200
# The waiters' defaults (WISTIA_INGEST_START_SECONDS / WISTIA_INGEST_LEASE_SECONDS; the twin
# bakes them in): how long an invocation may take to start, the Lambda's heartbeat lease, and
# how often at least a waiter reads the record. A crash is seen within lease + poll (75 s) of
# the last heartbeat, a start that never happens within start + poll (105 s) of the invoke.
INGEST_START_SECONDS = 90
INGEST_LEASE_SECONDS = 60
MAX_WAIT_POLL_SECONDS = 15.0


class IngestionStatus(str, Enum):
    INVOKED = "INVOKED"  # the waiter invoked the Lambda; it has not started yet
    RUNNING = "RUNNING"  # the Lambda works and renews its lease
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


LIVE_STATUSES = (IngestionStatus.INVOKED, IngestionStatus.RUNNING)


@dataclass(frozen=True)
class IngestionRecord:
    """One run's latest ingestion invocation (``attempt`` counts the invocations)."""

    run_id: str
    status: IngestionStatus
    invocation_id: str
    request_key: str  # what was asked (payload + claim): a SUCCEEDED record serves only it
    attempt: int
    invoked_at: datetime
    lease_expires_at: datetime  # INVOKED: the start deadline; RUNNING: the heartbeat's lease
    started_at: datetime | None = None
    finished_at: datetime | None = None
    request_id: str | None = None  # the Lambda's request id (set when it starts)
    log_group: str | None = None  # the Lambda's log group (set when it starts)
    summary: dict[str, Any] | None = None
    error_type: str | None = None
    error: str | None = None

    def live(self, now: datetime) -> bool:
        """INVOKED or RUNNING with a lease that has not lapsed at ``now``."""
        return self.status in LIVE_STATUSES and self.lease_expires_at >= now

    def lapsed(self, now: datetime) -> bool:
        return self.status in LIVE_STATUSES and self.lease_expires_at < now


class IngestionRefused(StateStoreError):
    """An ingestion write whose condition failed: ``current`` is the record as it is."""

    def __init__(self, run_id: str, action: str, current: IngestionRecord | None) -> None:
        self.run_id = run_id
        self.current = current
        if current is None:
            detail = "the run has no ingestion record"
        else:
            detail = (
                f"the record is {current.status.value} by invocation {current.invocation_id!r} "
                f"(attempt {current.attempt}, lease until {format_ts(current.lease_expires_at)})"
            )
        super().__init__(f"ingestion of run {run_id!r}: cannot {action}: {detail}")


def request_key(payload: Mapping[str, Any], claim_attempt: int | str) -> str:
    """The fingerprint of one request: the Lambda payload and the claim it belongs to.

    A retry of the same task asks the same (reuses a SUCCEEDED record); a cleared and
    re-claimed run, or other params, ask anew.
    """
    text = json.dumps({"payload": dict(payload), "claim": str(claim_attempt)}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def summary_to_json(summary: Mapping[str, Any]) -> str:
    text = json.dumps(dict(summary), sort_keys=True, default=str)
    if len(text) > MAX_SUMMARY_CHARS:
        raise ValueError(f"ingestion summary of {len(text)} chars exceeds {MAX_SUMMARY_CHARS}")
    return text


def record_from_fields(get: Callable[[str], Any]) -> IngestionRecord:
    """An :class:`IngestionRecord` from its stored fields (``get(name)``: the value, None when
    absent), as both stores keep them: timestamps as text, the summary as JSON text."""

    def ts(name: str) -> datetime | None:
        value = get(name)
        return None if value is None else parse_ts(value)

    return IngestionRecord(
        run_id=get("run_id"),
        status=IngestionStatus(get("status")),
        invocation_id=get("invocation_id"),
        request_key=get("request_key"),
        attempt=int(get("attempt")),
        invoked_at=parse_ts(get("invoked_at")),
        lease_expires_at=parse_ts(get("lease_expires_at")),
        started_at=ts("started_at"),
        finished_at=ts("finished_at"),
        request_id=get("request_id"),
        log_group=get("log_group"),
        summary=summary_from_json(get("summary")),
        error_type=get("error_type"),
        error=get("error"),
    )


def summary_from_json(text: str | None) -> dict[str, Any] | None:
    return None if not text else dict(json.loads(text))


def _check_id(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_CHARS:
        raise ValueError(f"{name} must be a non-empty string of at most {MAX_ID_CHARS} chars")
    return value


@dataclass(frozen=True)
class Verdict:
    """What a waiter does next: ``done`` with ``summary`` or ``error``, else read again."""

    done: bool
    summary: dict[str, Any] | None = None
    error: str | None = None


def waiter_verdict(
    record: IngestionRecord | None, invocation_id: str, now: datetime, function: str
) -> Verdict:
    """The one rule of every waiter, on the record read at ``now``.

    SUCCEEDED -> its summary; FAILED -> the Lambda's error text (its type first, so a permanent
    error is recognised by name); a lapsed lease -> a crash or a start that never happened,
    naming the request id and the log group; otherwise (INVOKED or RUNNING, live) wait. A
    record of another invocation means this one was superseded: an error.
    """
    if record is None:
        return Verdict(True, error=f"ingestion record of invocation {invocation_id} vanished")
    if record.invocation_id != invocation_id:
        return Verdict(
            True,
            error=f"ingestion invocation {invocation_id} was superseded by "
            f"{record.invocation_id} (attempt {record.attempt}, {record.status.value})",
        )
    if record.status is IngestionStatus.SUCCEEDED:
        return Verdict(True, summary=record.summary or {})
    if record.status is IngestionStatus.FAILED:
        return Verdict(True, error=f"{record.error_type or 'IngestionFailed'}: {record.error}")
    if record.lapsed(now):
        return Verdict(True, error=lapse_message(record, function))
    return Verdict(False)


def log_group_of(function: str) -> str:
    """The default log group of a function (name or ARN): ``/aws/lambda/<name>``."""
    name = function.split(":function:", 1)[-1].split(":", 1)[0]
    return f"/aws/lambda/{name}"


def lapse_message(record: IngestionRecord, function: str) -> str:
    """The error of a record whose lease lapsed: the Lambda crashed or never started."""
    where = record.log_group or log_group_of(function)
    lease = format_ts(record.lease_expires_at)
    if record.status is IngestionStatus.INVOKED:
        return (
            f"IngestionLambdaLost: the ingestion Lambda {function} did not start invocation "
            f"{record.invocation_id} by {lease} (throttled past its maximum event age, or its "
            f"init failed); see the log group {where}"
        )
    return (
        f"IngestionLambdaLost: the ingestion Lambda {function} (request id {record.request_id}) "
        f"stopped renewing its lease, which lapsed at {lease} (killed, out of memory or "
        f"crashed); see the log group {where}, request id {record.request_id}"
    )


class IngestionRecords(abc.ABC):
    """The ingestion record operations of a run-state store (SQLite and DynamoDB).

    Every transition is one conditional write; a refused one raises :class:`IngestionRefused`
    with the record as it is.
    """

    _clock: Clock

    def get_ingestion(self, run_id: str) -> IngestionRecord | None:
        """The run's ingestion record or None."""
        return self._get_ingestion(check_run_id(run_id))

    def begin_ingestion(
        self, run_id: str, invocation_id: str, key: str, start_seconds: int
    ) -> IngestionRecord:
        """The waiter, before invoking: INVOKED by ``invocation_id`` with the start deadline
        now + ``start_seconds``; ``attempt`` + 1.

        Allowed when the run has no record, its record FAILED, SUCCEEDED for another request
        key, or its lease lapsed. Refused while an invocation is live or the record SUCCEEDED
        for ``key`` (the caller reads the record first: reuse it or wait on it).
        """
        now = self._now()
        lease = lease_until(now, start_seconds)
        return self._begin_ingestion(
            check_run_id(run_id), _check_id("invocation_id", invocation_id), key, now, lease
        )

    def start_ingestion(
        self,
        run_id: str,
        invocation_id: str,
        request_id: str,
        log_group: str,
        lease_seconds: int,
    ) -> IngestionRecord:
        """The Lambda, as it starts: INVOKED by ``invocation_id`` -> RUNNING with its lease.
        Refused for any other invocation or state (a stale or duplicate event)."""
        now = self._now()
        values = (
            _check_id("request_id", request_id),
            _check_id("log_group", log_group),
            lease_until(now, lease_seconds),
        )
        return self._start_ingestion(
            check_run_id(run_id), _check_id("invocation_id", invocation_id), now, *values
        )

    def renew_ingestion(self, run_id: str, invocation_id: str, lease_seconds: int) -> None:
        """The heartbeat: RUNNING by ``invocation_id`` -> lease until now + ``lease_seconds``."""
        now = self._now()
        self._renew_ingestion(
            check_run_id(run_id), invocation_id, now, lease_until(now, lease_seconds)
        )

    def succeed_ingestion(
        self, run_id: str, invocation_id: str, summary: Mapping[str, Any]
    ) -> IngestionRecord:
        """RUNNING by ``invocation_id`` -> SUCCEEDED with the ingestion summary."""
        text = summary_to_json(summary)
        return self._succeed_ingestion(check_run_id(run_id), invocation_id, self._now(), text)

    def fail_ingestion(
        self,
        run_id: str,
        invocation_id: str,
        error_type: str,
        error: str,
        *,
        lapsed_only: bool = False,
    ) -> IngestionRecord:
        """INVOKED or RUNNING by ``invocation_id`` -> FAILED with the error; with
        ``lapsed_only`` (a waiter giving up on a silent Lambda) only once its lease lapsed."""
        kind = (error_type or "Exception")[:MAX_ERROR_TYPE_CHARS]
        return self._fail_ingestion(
            check_run_id(run_id),
            invocation_id,
            self._now(),
            kind,
            truncate_error(error),
            lapsed_only,
        )

    def _now(self) -> datetime:
        return now_ms(self._clock)

    # --- what a backend implements ----------------------------------------------------------

    @abc.abstractmethod
    def _get_ingestion(self, run_id: str) -> IngestionRecord | None: ...

    @abc.abstractmethod
    def _begin_ingestion(
        self, run_id: str, invocation_id: str, key: str, now: datetime, lease: datetime
    ) -> IngestionRecord: ...

    @abc.abstractmethod
    def _start_ingestion(
        self,
        run_id: str,
        invocation_id: str,
        now: datetime,
        request_id: str,
        log_group: str,
        lease: datetime,
    ) -> IngestionRecord: ...

    @abc.abstractmethod
    def _renew_ingestion(
        self, run_id: str, invocation_id: str, now: datetime, lease: datetime
    ) -> None: ...

    @abc.abstractmethod
    def _succeed_ingestion(
        self, run_id: str, invocation_id: str, now: datetime, summary: str
    ) -> IngestionRecord: ...

    @abc.abstractmethod
    def _fail_ingestion(
        self,
        run_id: str,
        invocation_id: str,
        now: datetime,
        error_type: str,
        error: str,
        lapsed_only: bool,
    ) -> IngestionRecord: ...


def may_begin(current: IngestionRecord | None, key: str, now: datetime) -> bool:
    """:meth:`IngestionRecords.begin_ingestion`'s rule (the backends' conditions encode it)."""
    if current is None or current.status is IngestionStatus.FAILED:
        return True
    if current.status is IngestionStatus.SUCCEEDED:
        return current.request_key != key
    return current.lease_expires_at < now
