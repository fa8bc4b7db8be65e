"""The claim's preflight (token, lake) is tested on its own (tests/faults/test_preflight.py) and
end to end; here, where claim_day runs without a Wistia API, it only records that it ran."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def preflight_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def record(settings: Any, day: Any, run_id: str, **kwargs: Any) -> dict[str, Any]:
        calls.append({"day": day, "run_id": run_id, **kwargs})
        return {"recorded": True}

    monkeypatch.setattr("wistia_pipeline.preflight.preflight", record)
    return calls
