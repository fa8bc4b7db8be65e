"""The ingestion Lambda's side of the run's ingestion record (:mod:`wistia_pipeline.state.ingestion`).

An asynchronous invocation has no caller waiting on its answer: the record is the answer.
:class:`InvocationTracker` moves the record the waiter wrote (INVOKED by this invocation) to
RUNNING, renews its lease from a thread (the heartbeat, every lease / 4 seconds), writes FAILED
("timed out") shortly before Lambda's own timeout would kill the function without a word (the
watchdog), and SUCCEEDED with the summary or FAILED with the error when the work ends. Should
the record be taken from it (the waiter declared the invocation lost after its lease lapsed)
the tracker stops the process, so two invocations never write one run's bronze at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from wistia_pipeline.state.ingestion import IngestionRecord, IngestionRecords, IngestionRefused

log = logging.getLogger(__name__)

# The watchdog writes FAILED this long before the function's timeout (a DynamoDB write or two).
WATCHDOG_MARGIN_S = 10.0
MIN_LEASE_SECONDS, MAX_LEASE_SECONDS = 10, 900
EXIT_LOST = 70


def _exit_process(message: str) -> None:  # pragma: no cover - ends the Lambda's process
    log.error("%s: stopping this invocation", message)
    logging.shutdown()
    os._exit(EXIT_LOST)


class InvocationTracker:
    """The record of ``run_id``'s ingestion, kept by invocation ``invocation_id``."""

    def __init__(
        self,
        store: IngestionRecords,
        run_id: str,
        invocation_id: str,
        lease_seconds: int,
        context: Any,
        on_lost: Callable[[str], None] = _exit_process,
    ) -> None:
        self.store, self.run_id, self.invocation_id = store, run_id, invocation_id
        self.lease_seconds = lease_seconds
        self.request_id = str(getattr(context, "aws_request_id", None) or "local")
        self.log_group = str(getattr(context, "log_group_name", None) or "(in-process)")
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        self._remaining_ms: Callable[[], int] | None = remaining if callable(remaining) else None
        self._timeout_s = self._remaining_ms() / 1000.0 if self._remaining_ms else None
        self._on_lost = on_lost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ingestion-heartbeat", daemon=True)
        self.timed_out = False

    def start(self) -> IngestionRecord:
        """INVOKED by this invocation -> RUNNING; :class:`IngestionRefused` otherwise (another
        invocation holds the record, or this event was delivered twice)."""
        record = self.store.start_ingestion(
            self.run_id, self.invocation_id, self.request_id, self.log_group, self.lease_seconds
        )
        self._thread.start()
        return record

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def succeed(self, summary: Mapping[str, Any]) -> None:
        self.stop()
        self.store.succeed_ingestion(self.run_id, self.invocation_id, summary)

    def fail(self, exc: BaseException) -> None:
        """Record the error (its type and text; never a traceback with local values)."""
        self.stop()
        try:
            self.store.fail_ingestion(self.run_id, self.invocation_id, type(exc).__name__, str(exc))
        except IngestionRefused as refused:  # e.g. the watchdog wrote it first
            log.warning("ingestion record not marked failed: %s", refused)

    def _seconds_to_watchdog(self) -> float | None:
        if self._remaining_ms is None:
            return None
        return self._remaining_ms() / 1000.0 - WATCHDOG_MARGIN_S

    def _loop(self) -> None:
        interval = max(1.0, self.lease_seconds / 4)
        next_beat = time.monotonic() + interval
        while not self._stop.is_set():
            to_watchdog = self._seconds_to_watchdog()
            wait = next_beat - time.monotonic()
            if to_watchdog is not None and to_watchdog <= 0:
                self._watchdog()
                return
            if self._stop.wait(
                max(0.0, min(wait, to_watchdog if to_watchdog is not None else wait))
            ):
                return
            if time.monotonic() >= next_beat:
                self._beat()
                next_beat = time.monotonic() + interval

    def _beat(self) -> None:
        try:
            self.store.renew_ingestion(self.run_id, self.invocation_id, self.lease_seconds)
        except IngestionRefused as exc:
            if not self._stop.is_set():
                self._on_lost(f"lost the ingestion record: {exc}")
        except Exception as exc:  # a transient store error: the next beat tries again
            log.warning("could not renew the ingestion lease of run %s: %s", self.run_id, exc)

    def _watchdog(self) -> None:
        """Lambda is about to kill the function: say so in the record while it still can."""
        self.timed_out = True
        timeout = f"{self._timeout_s:.2f}" if self._timeout_s is not None else "?"
        message = (
            f"RequestId: {self.request_id} Task timed out after {timeout} seconds (the "
            f"function's timeout; the watchdog recorded it {WATCHDOG_MARGIN_S:.0f} s before "
            f"Lambda stops the function); see the log group {self.log_group}"
        )
        log.error("ingestion of run %s: %s", self.run_id, message)
        try:
            self.store.fail_ingestion(self.run_id, self.invocation_id, "Sandbox.Timedout", message)
        except Exception as exc:
            log.error("the watchdog could not record the timeout: %s", exc)


def check_lease_seconds(value: object) -> int:
    """The lease an invocation asks for: an int in ``[MIN_LEASE_SECONDS, MAX_LEASE_SECONDS]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"invocation lease_seconds must be an integer, got {value!r}")
    if not MIN_LEASE_SECONDS <= value <= MAX_LEASE_SECONDS:
        raise ValueError(
            f"invocation lease_seconds must be in {MIN_LEASE_SECONDS}..{MAX_LEASE_SECONDS}, "
            f"got {value}"
        )
    return value
