"""One local-target day through Airflow's ``dag.test()`` against the simulator.

What ``make test-compat`` runs on every supported MWAA Airflow version besides DAG integrity and
the parse budget: simulator -> in-process ingestion -> Glue scripts on local Spark -> checks on
DuckDB -> publish, with the real DAG file and operators. The multi-day, rerun and fault
scenarios are in ``tests/e2e/test_local_target.py``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from wistia_pipeline.config import load_settings
from wistia_pipeline.sql import run_query_local
from wistia_pipeline.state import DayStatus, open_state_store

pytestmark = pytest.mark.slow

DAY = date(2026, 3, 6)


def test_one_local_day(simulator_factory, airflow_runner, tmp_path: Path, monkeypatch) -> None:
    sim = simulator_factory(
        seed=5,
        start_date=date(2026, 3, 1),
        end_date=date(2026, 3, 8),
        media_count=3,
        events_per_day=60,
        visitor_count=30,
        late_event_share=0.0,
    )
    lake = tmp_path / "lake"
    env = {
        "WISTIA_TARGET": "local",
        "WISTIA_STATE_DIR": str(tmp_path / "state"),
        "WISTIA_LAKE_URI": str(lake),
        "WISTIA_API_URL": sim.url,
        "WISTIA_API_TOKEN": sim.token,
        "WISTIA_PII_HASH_KEY": "compat-test-key",
        "WISTIA_LOOKBACK_DAYS": "1",
        "WISTIA_START_DATE": str(DAY),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    result = airflow_runner.backfill(DAY, DAY, env)

    assert result.returncode == 0, result.output[-8000:]
    assert [d["day"] for d in result.days] == [str(DAY)]
    # Every task succeeded (a failed teardown, e.g. the report, would not fail the run).
    assert result.days[0]["state"] == "success"
    assert result.days[0]["failed_tasks"] == [], result.output[-8000:]
    store = open_state_store(load_settings())
    assert store.get_day(DAY).status is DayStatus.SUCCEEDED
    assert store.get_watermark() == DAY
    _, [(events,)] = run_query_local(  # the published gold, as readers see it
        str(lake), f"SELECT sum(events) FROM ${{database}}.fact_media_daily WHERE dt = '{DAY}'"
    )
    assert events and events > 0
