"""The local target end to end through Airflow: simulator -> in-process ingestion -> Glue scripts
on local Spark -> checks on DuckDB -> SQLite run state, one dag.test() run per day.

Covers, in five runs: three consecutive days (D1, D2, then D3); a fault injected in D3's gold
step leaves the watermark where it was and marks D3 FAILED; the rerun of D3 completes and its
lookback picks up the late events released in the simulator after D1 and D2 ran; a further rerun
of D3 gives identical gold.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from wistia_pipeline.config import load_settings
from wistia_pipeline.sql import run_query_local
from wistia_pipeline.state import DayStatus, open_state_store

pytestmark = pytest.mark.slow

SIM_START = date(2026, 3, 1)
SIM_END = date(2026, 3, 12)
D1, D2, D3 = (date(2026, 3, 6) + timedelta(days=i) for i in range(3))


def gold_rows(lake: Path, start: date, end: date) -> list[tuple]:
    """Published fact_media_daily rows of [start, end] (what readers see, through the SQL
    layer) without the ingestion timestamp, sorted."""
    columns, _ = run_query_local(str(lake), "SELECT * FROM ${database}.fact_media_daily LIMIT 0")
    cols = ", ".join(f'"{c}"' for c in columns if c != "gold_ingested_at")
    return run_query_local(
        str(lake),
        f"SELECT {cols} FROM ${{database}}.fact_media_daily "
        f"WHERE dt BETWEEN '{start}' AND '{end}' ORDER BY {cols}",
    )[1]


def gold_events(lake: Path, start: date, end: date) -> Counter:
    _, rows = run_query_local(
        str(lake),
        "SELECT dt, media_id, events FROM ${database}.fact_media_daily "
        f"WHERE dt BETWEEN '{start}' AND '{end}'",
    )
    return Counter({(dt, media): n for dt, media, n in rows if n})


def simulator_events(sim, start: date, end: date, include_late: bool) -> Counter:
    """Ground truth from the simulator: events per (UTC day of received_at, media)."""
    records = sim.admin(
        "GET", "dataset", params={"kind": "events", "start_date": str(start), "end_date": str(end)}
    )
    counts: Counter = Counter()
    for rec in records:
        if rec["late"] and not include_late:
            continue
        received = datetime.fromisoformat(rec["received_at"].replace("Z", "+00:00"))
        if start <= received.date() <= end:
            counts[(received.date().isoformat(), rec["media_id"])] += 1
    return counts


def test_local_target_days_rerun_late_events_and_fault(
    simulator_factory, airflow_runner, tmp_path: Path, monkeypatch
) -> None:
    sim = simulator_factory(
        seed=11,
        start_date=SIM_START,
        end_date=SIM_END,
        media_count=6,
        events_per_day=120,
        visitor_count=60,
        late_event_share=0.15,
    )
    lake = tmp_path / "lake"
    env = {
        "WISTIA_TARGET": "local",
        "WISTIA_STATE_DIR": str(tmp_path / "state"),
        "WISTIA_LAKE_URI": str(lake),
        "WISTIA_API_URL": sim.url,
        "WISTIA_API_TOKEN": sim.token,
        "WISTIA_PII_HASH_KEY": "e2e-local-test-key",
        "WISTIA_LOOKBACK_DAYS": "2",
        # Unreleased late events make events < plays until they arrive; allow that gap here
        # (the check's own exactness is tested with the SQL).
        "WISTIA_CHECK_TOLERANCE": "0.5",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    store = open_state_store(load_settings())

    # --- two consecutive days, then late events arrive -----------------------------------------
    result = airflow_runner.backfill(D1, D2, env)
    assert result.returncode == 0, result.output[-8000:]
    assert [d["day"] for d in result.days] == [str(D1), str(D2)]
    for day in (D1, D2):
        assert store.get_day(day).status is DayStatus.SUCCEEDED
    assert store.get_watermark() == D2
    before = gold_events(lake, D1, D2)
    assert before == simulator_events(sim, D1, D2, include_late=False)
    assert sum(before.values()) > 0
    sim.admin("POST", "release-late-events")

    # --- the third day's gold step fails (its output path is blocked) -------------------------
    blocked = lake / "gold" / "wistia" / "reconciliation"
    moved = tmp_path / "reconciliation.moved"
    shutil.move(blocked, moved)
    blocked.write_text("not a directory: injected fault for the gold step\n")
    failed = airflow_runner.backfill(D3, D3, env)
    assert failed.returncode == 1, failed.output[-8000:]
    assert "gold" in failed.days[0]["failed_tasks"]
    record = store.get_day(D3)
    assert record.status is DayStatus.FAILED
    assert record.error.startswith("gold:")
    assert store.get_watermark() == D2
    # The report task wrote D3's status page (not published, why), never unchecked numbers.
    page = (lake / "reports" / "wistia" / f"dt={D3}" / "index.html").read_text()
    assert "is not published" in page and "at the <strong>gold</strong> step" in page
    assert "data-metric=" not in page

    # --- the fault is gone: a rerun completes and its lookback picks up the late events -------
    blocked.unlink()
    shutil.move(moved, blocked)
    fixed = airflow_runner.backfill(D3, D3, env)
    assert fixed.returncode == 0, fixed.output[-8000:]
    assert store.get_day(D3).status is DayStatus.SUCCEEDED
    assert store.get_watermark() == D3
    after = gold_events(lake, D1, D3)
    assert after == simulator_events(sim, D1, D3, include_late=True)
    late = sum(after.values()) - sum(simulator_events(sim, D1, D3, False).values())
    assert late > 0  # the late events of D1 and D2 really changed gold
    # D3's report: published, its plays are gold's, and it shows the late events healed since
    # D1's and D2's own reports (written by the first backfill, before they arrived).
    reports = lake / "reports" / "wistia"
    summary = json.loads((reports / "latest" / "summary.json").read_text())
    assert (summary["day"], summary["status"]) == (str(D3), "published")
    plays = run_query_local(
        str(lake), f"SELECT sum(plays) FROM ${{database}}.fact_media_daily WHERE dt = '{D3}'"
    )[1][0][0]
    assert summary["totals"]["plays"] == plays
    page = (reports / f"dt={D3}" / "index.html").read_text()
    assert "since its report (late data)" in page

    # --- a rerun of the same day gives identical gold for its window -------------------------
    snapshot = gold_rows(lake, D1, D3)
    rerun = airflow_runner.backfill(D3, D3, env)
    assert rerun.returncode == 0, rerun.output[-8000:]
    assert gold_rows(lake, D1, D3) == snapshot
    assert store.get_day(D3).run_id == rerun.days[0]["run_id"]
