"""Range runs end to end on the local target (Airflow dag.test(), local Spark, the simulator).

The gold of one 10-day range run equals, row for row, the gold of the same 10 days run one day
at a time; a range run followed by daily runs keeps the correctness rules (late events healed
by the next run's lookback, no duplicates, every day SUCCEEDED, the watermark at the last day).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.e2e.test_local_target import gold_events, gold_rows, simulator_events
from wistia_pipeline.config import load_settings
from wistia_pipeline.state import DayStatus, open_state_store

pytestmark = pytest.mark.slow

FIRST, LAST = date(2026, 3, 3), date(2026, 3, 12)  # the 10 days
SIM = {"seed": 23, "start_date": date(2026, 2, 25), "end_date": date(2026, 3, 16),
       "media_count": 4, "events_per_day": 40, "visitor_count": 30}  # fmt: skip


def env_for(sim, tmp: Path, name: str) -> dict[str, str]:
    return {
        "WISTIA_TARGET": "local",
        "WISTIA_STATE_DIR": str(tmp / name / "state"),
        "WISTIA_LAKE_URI": str(tmp / name / "lake"),
        "WISTIA_API_URL": sim.url,
        "WISTIA_API_TOKEN": sim.token,
        "WISTIA_PII_HASH_KEY": "e2e-range-test-key",
        "WISTIA_LOOKBACK_DAYS": "2",
        "WISTIA_CHECK_TOLERANCE": "0.5",
    }


# Eleven pipeline runs (one range, ten daily): ~11 min alone, longer on a loaded machine.
@pytest.mark.timeout(2400)
def test_ten_day_range_run_equals_ten_daily_runs(simulator_factory, airflow_runner, tmp_path):
    sim = simulator_factory(**SIM)
    ranged, daily = env_for(sim, tmp_path, "range"), env_for(sim, tmp_path, "daily")
    one = airflow_runner.backfill(FIRST, LAST, ranged, "--max-range-days", "10")
    assert one.returncode == 0, one.output[-8000:]
    assert [(d["first_day"], d["day"]) for d in one.days] == [(str(FIRST), str(LAST))]
    ten = airflow_runner.backfill(FIRST, LAST, daily)
    assert ten.returncode == 0, ten.output[-8000:]
    assert len(ten.days) == 10
    window_start = FIRST - timedelta(days=2)
    rows = gold_rows(Path(ranged["WISTIA_LAKE_URI"]), window_start, LAST)
    assert rows and rows == gold_rows(Path(daily["WISTIA_LAKE_URI"]), window_start, LAST)
    store = open_state_store(load_settings(ranged))
    records = store.list_days(FIRST - timedelta(days=5), LAST + timedelta(days=5))
    assert [r.day for r in records] == [FIRST + timedelta(days=n) for n in range(10)]
    assert {(r.status, r.run_id) for r in records} == {(DayStatus.SUCCEEDED, one.days[0]["run_id"])}
    assert store.get_watermark() == LAST


def test_range_run_then_daily_runs_heal_late_events(simulator_factory, airflow_runner, tmp_path):
    sim = simulator_factory(**SIM, late_event_share=0.15)
    env = env_for(sim, tmp_path, "heal")
    lake = Path(env["WISTIA_LAKE_URI"])
    first = airflow_runner.backfill(FIRST, LAST - timedelta(days=2), env, "--max-range-days", "8")
    assert first.returncode == 0, first.output[-8000:]
    before = gold_events(lake, FIRST, LAST - timedelta(days=2))
    assert before == simulator_events(sim, FIRST, LAST - timedelta(days=2), include_late=False)
    sim.admin("POST", "release-late-events")
    # daily runs of the next two days: their lookback re-ingests the range's last two days
    later = airflow_runner.backfill(LAST - timedelta(days=1), LAST, env)
    assert later.returncode == 0, later.output[-8000:]
    after = gold_events(lake, LAST - timedelta(days=3), LAST)
    assert after == simulator_events(sim, LAST - timedelta(days=3), LAST, include_late=True)
    # A rerun of the range (the late events now released for all of it) heals the days the
    # daily runs' lookback did not reach and duplicates nothing: every event once, all of them.
    again = airflow_runner.backfill(FIRST, LAST - timedelta(days=2), env, "--max-range-days", "8")
    assert again.returncode == 0, again.output[-8000:]
    assert gold_events(lake, FIRST, LAST) == simulator_events(sim, FIRST, LAST, include_late=True)
    rows = gold_rows(lake, FIRST - timedelta(days=2), LAST)
    assert len(rows) == len(set(rows))  # no duplicated row
