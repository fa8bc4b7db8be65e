"""AWS Lambda entry point of the ingestion (also called in-process by the local target).

Handler: ``wistia_pipeline.lambda_handler.handler``. Event::

    {"logical_date": "YYYY-MM-DD", "lookback_days": 2, "streams": [...], "run_id": "...",
     "visitors_max_pages": 50, "dry_run": false}

``logical_date`` and ``run_id`` are required; ``lookback_days`` defaults to
``WISTIA_LOOKBACK_DAYS``; ``streams`` defaults to all five; ``dry_run`` fetches only ``/medias``
page 1 (a credentials check) and writes nothing. The token comes from ``WISTIA_API_TOKEN``
locally or Secrets Manager (``WISTIA_SECRET_ID``) on AWS. Returns the JSON summary of
:func:`wistia_pipeline.ingest.ingest_day`; raises on any failure so the invoker sees a
``FunctionError``.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from typing import Any

from wistia_pipeline.client import WistiaClient
from wistia_pipeline.config import load_settings
from wistia_pipeline.ingest import ALL_STREAMS, check_access, ingest_day

log = logging.getLogger(__name__)

_KNOWN_KEYS = {
    "logical_date",
    "lookback_days",
    "streams",
    "run_id",
    "visitors_max_pages",
    "dry_run",
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


def parse_event(event: Any) -> dict[str, Any]:
    """Validate the invocation event; raise ``ValueError`` with a clear message when bad."""
    if not isinstance(event, dict):
        raise ValueError(f"event must be a JSON object, got {type(event).__name__}")
    unknown = sorted(set(event) - _KNOWN_KEYS)
    if unknown:
        raise ValueError(f"unknown event field(s) {unknown}; allowed: {sorted(_KNOWN_KEYS)}")
    raw_date = event.get("logical_date")
    if not isinstance(raw_date, str):
        raise ValueError("event field 'logical_date' is required as a 'YYYY-MM-DD' string")
    try:
        logical_date = date.fromisoformat(raw_date)
    except ValueError:
        raise ValueError(
            f"event field 'logical_date' is not a YYYY-MM-DD date: {raw_date!r}"
        ) from None
    if len(raw_date) != 10:
        raise ValueError(f"event field 'logical_date' is not a YYYY-MM-DD date: {raw_date!r}")
    run_id = event.get("run_id")
    if not isinstance(run_id, str) or not run_id.strip():
        raise ValueError("event field 'run_id' is required as a non-empty string")
    streams = event.get("streams")
    if streams is None:
        streams = list(ALL_STREAMS)
    if not isinstance(streams, list) or not all(isinstance(s, str) for s in streams):
        raise ValueError(f"event field 'streams' must be a list of strings, got {streams!r}")
    unknown_streams = [s for s in streams if s not in ALL_STREAMS]
    if unknown_streams or not streams:
        raise ValueError(
            f"event field 'streams' must be a non-empty subset of {list(ALL_STREAMS)}, "
            f"got {streams!r}"
        )
    dry_run = event.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise ValueError(f"event field 'dry_run' must be true or false, got {dry_run!r}")
    return {
        "logical_date": logical_date,
        "lookback_days": _int_field(event, "lookback_days", 0),
        "streams": streams,
        "run_id": run_id,
        "visitors_max_pages": _int_field(event, "visitors_max_pages", 1),
        "dry_run": dry_run,
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda handler (see the module docstring)."""
    started = time.monotonic()
    args = parse_event(event)
    settings = load_settings()
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
        )
