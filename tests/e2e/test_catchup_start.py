"""Where catchup starts locally: ``make demo`` followed by ``make airflow`` must not make the
scheduler catch up from a hard-coded date (it created a run for 2026-01-01).

The demo's ``dag.test()`` runs register the DAG in Airflow's metadata DB with the start date of
their environment; ``make airflow``'s scheduler acts on that record before its dag-processor
parses the file again. Here the demo's registration is ``airflow dags reserialize`` in the
environment ``scripts/demo.py`` gives its runs, then a real scheduler runs a few loops in the
environment ``scripts/airflow_local.py`` builds, and the runs it created are read back.
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from wistia_dev import local_runner
from wistia_pipeline.config import UNSCHEDULED_START_DATE, resolve_start_date

REPO = Path(__file__).resolve().parents[2]


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{name}_script", REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_start_date_rules() -> None:
    # Unset: a constant no schedule reaches (stable across parses; nothing is caught up).
    assert resolve_start_date({}) == resolve_start_date({"WISTIA_START_DATE": ""})
    assert resolve_start_date({}).date() == date.fromisoformat(UNSCHEDULED_START_DATE)
    assert resolve_start_date({}) > datetime.now(UTC) + timedelta(days=300 * 365)
    demo = script("demo")
    first, last = demo.demo_days(date(2026, 12, 1))
    assert (first, last) == (date(2026, 11, 28), date(2026, 11, 30))
    assert demo.catchup_env(first, {}) == {"WISTIA_START_DATE": "2026-11-28"}
    assert demo.catchup_env(first, {"WISTIA_START_DATE": "2026-05-01"}) == {
        "WISTIA_START_DATE": "2026-05-01"
    }
    airflow_local = script("airflow_local")
    home = Path("/nonexistent-airflow-home")
    today = date(2026, 12, 1)
    assert airflow_local.catchup_start({}, home, 2, today) == "2026-11-29"
    assert airflow_local.catchup_start({"WISTIA_START_DATE": "2026-10-01"}, home, 2) == "2026-10-01"


def _sqlite(home: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(home / "airflow.db") as db:
        return db.execute(sql).fetchall()


@pytest.mark.slow
def test_make_airflow_after_make_demo_catches_up_from_the_demos_first_day(tmp_path: Path) -> None:
    demo, airflow_local = script("demo"), script("airflow_local")
    home = tmp_path / "airflow"
    base = {k: v for k, v in os.environ.items() if k != "WISTIA_START_DATE"}
    base |= {"WISTIA_TARGET": "local", "WISTIA_STATE_DIR": str(tmp_path / "state")}
    local_runner.ensure_metadata_db(home, base)
    first_day, _ = demo.demo_days()

    # make demo: its runs register the DAG with the environment demo.py gives them.
    demo_env = local_runner.airflow_env(home, base) | demo.catchup_env(first_day, base)
    subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "reserialize"],
        env=demo_env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (next_run,) = _sqlite(home, "SELECT next_dagrun FROM dag WHERE dag_id = 'wistia_daily'")[0]
    assert str(next_run).startswith(first_day.isoformat())

    # make airflow: the scheduler (before any new parse) in airflow_local.py's environment.
    env = local_runner.airflow_env(home, base)
    env["WISTIA_START_DATE"] = airflow_local.catchup_start(env, home, 2)
    assert env["WISTIA_START_DATE"] == (datetime.now(UTC).date() - timedelta(days=2)).isoformat()
    proc = subprocess.run(
        [sys.executable, "-m", "airflow", "scheduler", "--num-runs", "3"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    runs = _sqlite(home, "SELECT data_interval_start FROM dag_run WHERE dag_id = 'wistia_daily'")
    assert runs, proc.stdout[-3000:] + proc.stderr[-3000:]
    days = sorted(date.fromisoformat(str(r[0])[:10]) for r in runs)
    assert days[0] == first_day, days  # not 2026-01-01: nothing before the demo's first day
    # ... and a later `make airflow` keeps that start (the first run's day, stable).
    assert airflow_local.catchup_start(local_runner.airflow_env(home, base), home, 2) == str(
        first_day
    )
