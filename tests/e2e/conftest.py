"""Airflow for the end-to-end tests: one metadata DB per session, one subprocess per backfill.

Each DAG run goes through ``scripts/backfill.py`` (``dag.test()`` of the real DAG file) in a fresh
interpreter, so Airflow's configuration comes from the environment given here and nothing leaks
between tests or into the pytest process.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from wistia_dev import local_runner

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Backfill:
    returncode: int
    days: list[dict]
    summary: dict
    output: str


class AirflowRunner:
    def __init__(self, home: Path) -> None:
        self.home = home

    def backfill(self, start: date, end: date, env: dict[str, str], *extra: str) -> Backfill:
        run_env = local_runner.airflow_env(self.home, {**os.environ, **env})
        proc = subprocess.run(
            [
                sys.executable,
                str(REPO / "scripts" / "backfill.py"),
                "--start",
                start.isoformat(),
                "--end",
                end.isoformat(),
                "--retries",
                "0",
                *extra,
            ],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
        days = [x for x in lines if "day" in x]
        summary = next((x for x in lines if "backfill" in x), {})
        return Backfill(proc.returncode, days, summary, proc.stdout + proc.stderr)

    def task_durations(self, task_id: str) -> list[float]:
        """Seconds of every successful try of ``task_id`` in this Airflow home."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            rows = db.execute(
                "SELECT duration FROM task_instance WHERE dag_id = ? AND task_id = ? "
                "AND state = 'success'",
                ("wistia_daily", task_id),
            ).fetchall()
        return [float(r[0]) for r in rows if r[0] is not None]

    def xcom(self, task_id: str, run_id: str, key: str = "return_value") -> object:
        with sqlite3.connect(self.home / "airflow.db") as db:
            row = db.execute(
                "SELECT value FROM xcom WHERE dag_id = ? AND task_id = ? AND run_id = ? "
                "AND key = ?",
                ("wistia_daily", task_id, run_id, key),
            ).fetchone()
        if row is None:
            return None
        value = row[0]
        # Stored as JSON; a task that returns JSON text (the Lambda's payload) adds a level.
        while isinstance(value, (str, bytes)):
            try:
                value = json.loads(value)
            except ValueError:
                break
        return value


@pytest.fixture(scope="session")
def airflow_runner(tmp_path_factory: pytest.TempPathFactory) -> AirflowRunner:
    home = tmp_path_factory.mktemp("airflow_home")
    local_runner.ensure_metadata_db(home)
    return AirflowRunner(home)
