"""Airflow for the end-to-end tests: one metadata DB per session, one subprocess per backfill.

Each DAG run goes through ``scripts/backfill.py`` (``dag.test()`` of the real DAG file) in a fresh
interpreter, so Airflow's configuration comes from the environment given here and nothing leaks
between tests or into the pytest process.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
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


def parse_backfill(returncode: int, stdout: str, stderr: str) -> Backfill:
    """A finished ``scripts/backfill.py``'s result from its exit code and output."""
    lines = [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]
    days = [x for x in lines if "day" in x]
    summary = next((x for x in lines if "backfill" in x), {})
    return Backfill(returncode, days, summary, stdout + stderr)


class BackfillProcess:
    """A ``scripts/backfill.py`` started in its own process group (so a test can kill -9 the
    group: the runner and its spark-submit children), its output going to files: a pipe
    nobody reads would block a chatty run."""

    def __init__(self, argv: list[str], env: Mapping[str, str], logs: Path) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        self.stdout_path = logs / "stdout.txt"
        self.stderr_path = logs / "stderr.txt"
        self.started = time.monotonic()
        self.finished: float | None = None
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(
                argv, env=dict(env), stdout=out, stderr=err, text=True, start_new_session=True
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def poll(self) -> int | None:
        code = self.proc.poll()
        if code is not None and self.finished is None:
            self.finished = time.monotonic()
        return code

    def wait(self, timeout: float = 900) -> Backfill:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group: no orphaned spark-submit
            self.proc.wait()
            raise
        self.poll()
        return parse_backfill(
            self.proc.returncode, self.stdout_path.read_text(), self.stderr_path.read_text()
        )

    @property
    def seconds(self) -> float:
        """Wall time from start to exit (to now while it runs)."""
        return (self.finished or time.monotonic()) - self.started


def start_backfill(
    home: Path,
    start: date,
    end: date,
    env: Mapping[str, str],
    logs: Path,
    *extra: str,
    retries: int | None = 0,
    script: Path | None = None,
) -> BackfillProcess:
    """Start ``scripts/backfill.py`` (or ``script``, a wrapper taking the same arguments) for
    ``[start, end]`` in AIRFLOW_HOME ``home`` without waiting; ``retries=None`` keeps the DAG's
    own retries (what ``make backfill`` does without ``--retries``)."""
    argv = [
        sys.executable,
        str(script or REPO / "scripts" / "backfill.py"),
        "--start",
        start.isoformat(),
        "--end",
        end.isoformat(),
    ]
    if retries is not None:
        argv += ["--retries", str(retries)]
    run_env = local_runner.airflow_env(home, {**os.environ, **env})
    return BackfillProcess([*argv, *extra], run_env, logs)
