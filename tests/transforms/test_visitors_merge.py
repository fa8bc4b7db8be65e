"""The current visitors table merged from the published one equals its full recomputation."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from tests.transforms.transform_helpers import publish_run, published_table, write_bronze_run
from wistia_pipeline.publishing import Stage
from wistia_pipeline.storage import open_storage
from wistia_pipeline.transforms import jobs
from wistia_pipeline.transforms.pii import PiiHasher

KEY = "visitors-merge-test-key-7c1"  # a test-only HMAC key
D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)


def visitor(key: str, last_active: str | None, plays: int, name: str = "") -> dict:
    return {
        "visitor_key": key,
        "created_at": "2026-01-01T00:00:00Z",
        "last_active_at": last_active,
        "last_event_key": f"e-{key}-{plays}",
        "load_count": plays + 1,
        "play_count": plays,
        "visitor_identity": {"name": name, "email": None, "org": {"name": None, "title": None}},
        "user_agent_details": {"browser": "Firefox", "mobile": False},
    }


def run(lake: Path, day: dt.date, run_id: str, fetched: str, visitors: list[dict]) -> None:
    write_bronze_run(lake, "visitors", day, run_id, [(v, None) for v in visitors], fetched)


def silver_and_publish(spark, lake: Path, start: dt.date, end: dt.date, run_id: str) -> None:
    """The pipeline's silver job and publish for ``[start, end]`` (gold has nothing to add)."""
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    jobs.run_silver(spark, str(lake), days, run_id, PiiHasher(KEY), 0.0)
    Stage.resume(open_storage(str(lake)), str(lake), run_id, start, end).finish_step("gold")
    publish_run(lake, run_id, start, end)


def recomputed(lake: Path) -> dict[str, dict]:
    """``visitors_current`` computed here, in Python, over every published snapshot."""
    best: dict[str, dict] = {}

    def rank(row: dict) -> tuple:
        return (
            row["last_active_at"] is not None, row["last_active_at"] or dt.datetime.min,
            row["dt"], str(row["_fetched_at"]), row["_run_id"],
        )  # fmt: skip

    for row in published_table(lake, "silver/wistia/visitors_snapshots", "dt, visitor_key"):
        if row["visitor_key"] not in best or rank(row) > rank(best[row["visitor_key"]]):
            best[row["visitor_key"]] = row
    return {k: {c: v for c, v in r.items() if c != "dt"} for k, r in best.items()}


def current(lake: Path) -> dict[str, dict]:
    rows = published_table(lake, "silver/wistia/visitors", "visitor_key")
    assert len(rows) == len({r["visitor_key"] for r in rows})
    return {r["visitor_key"]: r for r in rows}


def test_merge_equals_full_recomputation(spark, tmp_path, caplog):
    lake = tmp_path / "lake"
    caplog.set_level(logging.INFO, logger="wistia_pipeline.transforms.jobs")

    # day 1: nothing published yet, the table is built from the snapshots
    run(lake, D1, "r1", "2026-03-02T01:00:00Z", [
        visitor("v1", "2026-03-01T10:00:00Z", 1), visitor("v2", "2026-03-01T09:00:00Z", 1),
        visitor("v3", "2026-03-01T08:00:00Z", 1, name="Ann"), visitor("v7", None, 1),
    ])  # fmt: skip
    silver_and_publish(spark, lake, D1, D1, "s1")
    assert current(lake) == recomputed(lake) and len(current(lake)) == 4
    assert "merged the published table" not in caplog.text

    # day 2 with a lookback over day 1: v1 active again; v4 new
    run(lake, D2, "r2", "2026-03-03T01:00:00Z", [
        visitor("v1", "2026-03-02T10:00:00Z", 2), visitor("v4", "2026-03-02T07:00:00Z", 1),
    ])  # fmt: skip
    silver_and_publish(spark, lake, D1, D2, "s2")
    assert "merged the published table" in caplog.text
    assert current(lake) == recomputed(lake)
    assert current(lake)["v1"]["play_count"] == 2

    # day 3: v2 seen again with the same last_active_at (the later day wins the tie)
    run(lake, D3, "r3", "2026-03-04T01:00:00Z", [
        visitor("v2", "2026-03-01T09:00:00Z", 5), visitor("v5", "2026-03-03T06:00:00Z", 1),
    ])  # fmt: skip
    silver_and_publish(spark, lake, D3, D3, "s3")
    assert current(lake) == recomputed(lake)
    assert current(lake)["v2"]["play_count"] == 5

    # a rerun of day 1, fetched last: v2's day-3 row still wins its tie; v3 refetched (same
    # last_active_at, day 1 holds its current row: the later fetch replaces it); v6 new; v1
    # and v7 absent from the rerun keep their rows
    run(lake, D1, "r4", "2026-03-05T01:00:00Z", [
        visitor("v2", "2026-03-01T09:00:00Z", 9), visitor("v3", "2026-03-01T08:00:00Z", 4),
        visitor("v6", "2026-02-28T23:00:00Z", 1),
    ])  # fmt: skip
    silver_and_publish(spark, lake, D1, D1, "s4")
    got = current(lake)
    assert got == recomputed(lake)
    assert (got["v2"]["play_count"], got["v3"]["play_count"], got["v1"]["play_count"]) == (5, 4, 2)
    assert set(got) == {"v1", "v2", "v3", "v4", "v5", "v6", "v7"}
