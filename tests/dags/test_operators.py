"""The project's operators' pure helpers (wistia_airflow.operators)."""

from __future__ import annotations

import json

from wistia_airflow.operators import counts_from_summary


def test_counts_from_summary() -> None:
    summary = {
        "streams": {"events": {"records": 5, "requests": 2, "status": "ok"}, "medias": "x"},
        "requests_total": 9,
    }
    assert counts_from_summary(summary) == {
        "events_records": 5,
        "events_requests": 2,
        "requests_total": 9,
    }
    assert counts_from_summary(json.dumps(summary)) == counts_from_summary(summary)  # aws: text
    assert counts_from_summary("not a dict") == {}
    assert counts_from_summary('"a JSON string"') == {}
