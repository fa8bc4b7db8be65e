"""Bronze lines for transform tests, built with the ingestion's own envelope(), in memory."""

from __future__ import annotations

import datetime as dt
import json

from wistia_pipeline.bronze import RunContext, envelope

PII_KEY = "unit-test-key-0b5e"  # a test-only HMAC key


def make_line(
    stream: str,
    record: object,
    *,
    day: str,
    run_id: str = "run-1",
    fetched_at: str = "2026-03-05T01:00:00Z",
    media_id: str | None = None,
) -> tuple[str, str]:
    """(value, source_file) for one bronze line built with the ingestion's own envelope()."""
    d = dt.date.fromisoformat(day)
    ctx = RunContext(run_id, d, d - dt.timedelta(days=2), d, "2026-03", fetched_at)
    env = envelope(
        ctx, stream, d, record, fetched_at=fetched_at, request_path="/x", media_id=media_id
    )
    source = f"file:///lake/bronze/wistia/{stream}/dt={day}/{run_id}/part-00000.ndjson.gz"
    return json.dumps(env), source
