"""Fault knobs for tests: make a named Glue job fail or a named Lambda raise or time out.

A knob changes what the worker does, never what the API returns: a failing Glue run goes
through STARTING/RUNNING to FAILED with the given message; a Lambda fault runs in the function's
sandbox (raising in place of the handler, or sleeping past the function's timeout), so the
response is the one the Lambda runtime produces.

Set them through ``POST /_awslocal/faults`` (JSON body, replaces all), read with ``GET``,
clear with ``DELETE``; or at start-up with ``$WISTIA_AWSLOCAL_FAULTS`` (the same JSON)::

    {"glue_fail": {"<job name>": "<error message>"},
     "lambda_error": {"<function name>": "<error message>"},
     "lambda_timeout": ["<function name>"]}
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

KNOWN = ("glue_fail", "lambda_error", "lambda_timeout")
_faults: dict[str, Any] = {}
_lock = threading.Lock()


def set_faults(faults: dict[str, Any]) -> dict[str, Any]:
    """Replace every knob (unknown keys are rejected)."""
    unknown = sorted(set(faults) - set(KNOWN))
    if unknown:
        raise ValueError(f"unknown fault knob(s): {', '.join(unknown)}; known: {', '.join(KNOWN)}")
    with _lock:
        _faults.clear()
        _faults.update(json.loads(json.dumps(faults)))
        return dict(_faults)


def get_faults() -> dict[str, Any]:
    """A copy of the current knobs."""
    with _lock:
        return json.loads(json.dumps(_faults))


def glue_failure(job_name: str) -> str | None:
    """The error message a run of ``job_name`` must fail with, if any."""
    with _lock:
        return _faults.get("glue_fail", {}).get(job_name)


def lambda_fault(function_name: str) -> dict[str, str] | None:
    """``{"error": message}`` or ``{"timeout": "1"}`` for ``function_name``, if any."""
    with _lock:
        if function_name in _faults.get("lambda_timeout", []):
            return {"timeout": "1"}
        message = _faults.get("lambda_error", {}).get(function_name)
    return None if message is None else {"error": message}


def load_from_env() -> None:
    """Initial knobs from ``$WISTIA_AWSLOCAL_FAULTS`` (JSON), if set."""
    raw = os.environ.get("WISTIA_AWSLOCAL_FAULTS")
    if raw:
        set_faults(json.loads(raw))
