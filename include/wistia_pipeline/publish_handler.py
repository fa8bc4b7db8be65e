"""The publish Lambda: :func:`wistia_pipeline.publishing.publish` for the aws target.

Invoked by the DAG's ``publish`` task on MWAA and by the Step Functions twin's ``Publish`` state,
so the Airflow role never writes the lake. Event::

    {"start_date": "YYYY-MM-DD", "end_date": "YYYY-MM-DD", "run_id": "<the run whose stage>",
     "any_run": false}

``any_run`` publishes the stage of that window whoever staged it (a rerun of only the checks
and publish, after a failed run whose staged output is still there).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date
from typing import Any

from wistia_pipeline.config import load_settings
from wistia_pipeline.publishing import publish
from wistia_pipeline.storage import open_storage

log = logging.getLogger(__name__)


def _date(event: dict[str, Any], key: str) -> date:
    try:
        return date.fromisoformat(str(event[key]))
    except (KeyError, ValueError):
        raise ValueError(
            f"event field {key!r} must be YYYY-MM-DD, got {event.get(key)!r}"
        ) from None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Publish the event's window; the :class:`~wistia_pipeline.publishing.PublishResult`."""
    start, end = _date(event, "start_date"), _date(event, "end_date")
    run_id = event.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        raise ValueError("event field 'run_id' is required as a non-empty string")
    any_run = event.get("any_run", False)
    if not isinstance(any_run, bool):
        raise ValueError(f"event field 'any_run' must be a boolean, got {any_run!r}")
    lake = load_settings().lake_uri
    result = publish(open_storage(lake), lake, None if any_run else run_id, start, end)
    log.info("published %s", result)
    body = dataclasses.asdict(result)
    return {**body, "start": start.isoformat(), "end": end.isoformat()}
