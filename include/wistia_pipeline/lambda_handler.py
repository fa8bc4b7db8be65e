"""AWS Lambda entry point of the ingestion (also called in-process by the local target).

Validates the invocation event, then runs :func:`wistia_pipeline.ingest.ingest_day` (or only a
credentials check when ``dry_run``) and returns its JSON summary; any failure raises, so the
invoker sees a ``FunctionError``. With ``invocation`` (the asynchronous invocation of the aws
target, whose caller does not wait on the answer) the run's ingestion record carries the
outcome: RUNNING with a heartbeat, then SUCCEEDED with the summary or FAILED with the error
(:mod:`wistia_pipeline.ingestion_tracker`). The event's fields and defaults: docs/ingestion.md.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from typing import Any

from wistia_pipeline.client import WistiaClient
from wistia_pipeline.config import MAX_RANGE_DAYS, Settings, load_settings
from wistia_pipeline.ingest import check_access, ingest_day
from wistia_pipeline.ingestion_tracker import InvocationTracker, check_lease_seconds
from wistia_pipeline.state.ingestion import IngestionRefused
from wistia_pipeline.streams import ALL_STREAMS

log = logging.getLogger(__name__)

_KNOWN_KEYS = {
    "logical_date",
    "range_start",
    "lookback_days",
    "streams",
    "run_id",
    "visitors_max_pages",
    "dry_run",
    "invocation",
}
# Stop starting new retries this long before Lambda's own timeout, so the error is ours.
_DEADLINE_MARGIN_S = 20.0


def _int_field(event: dict[str, Any], key: str, minimum: int) -> int | None:
    value = event.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"event field {key!r} must be an integer >= {minimum}, got {value!r}")
    return value


def _date_field(event: dict[str, Any], key: str) -> date:
    raw = event.get(key)
    if not isinstance(raw, str):
        raise ValueError(f"event field {key!r} is required as a 'YYYY-MM-DD' string")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    # fromisoformat also takes "20260305" and week dates; the contract is YYYY-MM-DD only
    if day is None or len(raw) != 10:
        raise ValueError(f"event field {key!r} is not a YYYY-MM-DD date: {raw!r}")
    return day


def _logical_date(event: dict[str, Any]) -> date:
    return _date_field(event, "logical_date")


def _range_start(event: dict[str, Any], last_day: date) -> date:
    """``range_start`` ``D1`` of a range run (absent: the daily run, ``D1 = D``)."""
    if event.get("range_start") is None:
        return last_day
    first_day = _date_field(event, "range_start")
    days = (last_day - first_day).days + 1
    if not 1 <= days <= MAX_RANGE_DAYS:
        raise ValueError(
            f"event field 'range_start' {first_day} must be at most {MAX_RANGE_DAYS - 1} days "
            f"before logical_date {last_day} and not after it"
        )
    return first_day


def _run_id(event: dict[str, Any]) -> str:
    run_id = event.get("run_id")
    if not isinstance(run_id, str) or not run_id.strip():
        raise ValueError("event field 'run_id' is required as a non-empty string")
    return run_id


def _streams(event: dict[str, Any]) -> list[str]:
    streams = event.get("streams")
    if streams is None:
        return list(ALL_STREAMS)
    if not isinstance(streams, list) or not all(isinstance(s, str) for s in streams):
        raise ValueError(f"event field 'streams' must be a list of strings, got {streams!r}")
    if not streams or any(s not in ALL_STREAMS for s in streams):
        raise ValueError(
            f"event field 'streams' must be a non-empty subset of {list(ALL_STREAMS)}, "
            f"got {streams!r}"
        )
    return streams


def _dry_run(event: dict[str, Any]) -> bool:
    dry_run = event.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise ValueError(f"event field 'dry_run' must be true or false, got {dry_run!r}")
    return dry_run


def _invocation(event: dict[str, Any]) -> dict[str, Any] | None:
    """``invocation``: ``{"id": <the record's invocation id>, "lease_seconds": <heartbeat lease>}``
    (absent: an untracked, synchronous invocation)."""
    raw = event.get("invocation")
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"id", "lease_seconds"}:
        raise ValueError(
            f"event field 'invocation' must be {{'id': str, 'lease_seconds': int}}, got {raw!r}"
        )
    if not isinstance(raw["id"], str) or not raw["id"].strip():
        raise ValueError("event field 'invocation.id' must be a non-empty string")
    if event.get("dry_run"):
        raise ValueError("a dry_run is never tracked: drop 'invocation'")
    return {"id": raw["id"], "lease_seconds": check_lease_seconds(raw["lease_seconds"])}


def parse_event(event: Any) -> dict[str, Any]:
    """Validate the invocation event; raise ``ValueError`` with a clear message when bad."""
    if not isinstance(event, dict):
        raise ValueError(f"event must be a JSON object, got {type(event).__name__}")
    unknown = sorted(set(event) - _KNOWN_KEYS)
    if unknown:
        raise ValueError(f"unknown event field(s) {unknown}; allowed: {sorted(_KNOWN_KEYS)}")
    # checked in this order, so the first bad field is the one reported
    logical_date = _logical_date(event)
    return {
        "logical_date": logical_date,
        "range_start": _range_start(event, logical_date),
        "run_id": _run_id(event),
        "streams": _streams(event),
        "dry_run": _dry_run(event),
        "lookback_days": _int_field(event, "lookback_days", 0),
        "visitors_max_pages": _int_field(event, "visitors_max_pages", 1),
        "invocation": _invocation(event),
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda handler: ingest the event's day, or only check credentials on ``dry_run``."""
    started = time.monotonic()
    try:
        args = parse_event(event)
    except ValueError as exc:
        _record_bad_event(event, exc)
        raise
    settings = load_settings()
    if args["invocation"] is not None:
        return _tracked(args, settings, context, started)
    return _run(args, settings, context, started)


def _record_bad_event(event: Any, exc: ValueError) -> None:
    """A tracked invocation whose event is invalid: its record says so (FAILED from INVOKED),
    so the waiter fails at once instead of waiting for the start deadline."""
    invocation = event.get("invocation") if isinstance(event, dict) else None
    run_id = event.get("run_id") if isinstance(event, dict) else None
    if not isinstance(invocation, dict) or not isinstance(run_id, str) or not run_id.strip():
        return
    from wistia_pipeline.state import open_state_store

    try:
        store = open_state_store(load_settings())
        store.fail_ingestion(run_id, str(invocation.get("id")), type(exc).__name__, str(exc))  # type: ignore[attr-defined]
    except Exception as record_error:  # the event's own error is the one raised
        log.warning("could not record the invalid event in the ingestion record: %s", record_error)


def _tracked(
    args: dict[str, Any], settings: Settings, context: Any, started: float
) -> dict[str, Any]:
    """:func:`_run` with the run's ingestion record: RUNNING (refused unless the record names
    this invocation), heartbeat and watchdog, then SUCCEEDED or FAILED."""
    from wistia_pipeline.state import open_state_store

    invocation = args["invocation"]
    tracker = InvocationTracker(
        open_state_store(settings),  # type: ignore[arg-type]  # both backends keep the record
        args["run_id"],
        invocation["id"],
        invocation["lease_seconds"],
        context,
    )
    try:
        tracker.start()
    except IngestionRefused as exc:
        # A stale or twice-delivered event: the invocation the record names does the work.
        log.warning("not ingesting: %s", exc)
        return {"run_id": args["run_id"], "refused": str(exc)}
    try:
        summary = _run(args, settings, context, started)
    except Exception as exc:
        tracker.fail(exc)
        raise
    tracker.succeed(summary)
    return summary


def _run(args: dict[str, Any], settings: Settings, context: Any, started: float) -> dict[str, Any]:
    lookback = args["lookback_days"]
    if lookback is None:
        lookback = settings.lookback_days
    deadline = None
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining_ms):
        deadline = time.monotonic() + remaining_ms() / 1000.0 - _DEADLINE_MARGIN_S
    with WistiaClient.from_settings(settings, deadline=deadline) as client:
        if args["dry_run"]:
            result = check_access(client)
            return {
                "run_id": args["run_id"],
                "logical_date": args["logical_date"].isoformat(),
                "dry_run": True,
                **result,
                "requests_total": client.stats.requests,
                "duration_s": round(time.monotonic() - started, 3),
            }
        return ingest_day(
            settings,
            args["logical_date"],
            lookback,
            args["streams"],
            args["run_id"],
            client,
            visitors_max_pages=args["visitors_max_pages"],
            first_day=args["range_start"],
        )
