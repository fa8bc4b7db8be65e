"""`make airflow`: Airflow standalone (api-server, scheduler, dag-processor, triggerer) with the
project's DAGs on the local target. Prints the UI URL and the login.

When WISTIA_API_TOKEN is unset it also starts the Wistia simulator and points the pipeline at it,
so catchup runs work out of the box. Catchup starts at WISTIA_START_DATE; unset, at the first data
day of the wistia_daily runs already in this AIRFLOW_HOME's metadata DB (what ``make demo`` /
``make backfill`` ran), else today (UTC) minus the lookback. Once the scheduler has created runs,
the date stays the same on every restart (Airflow needs a stable start date).
Ctrl-C stops everything it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from wistia_dev import local_runner
from wistia_pipeline.config import ensure_local_pii_key, load_settings
from wistia_simulator.process import free_port, start_simulator, stop_process, wait_until_up

PORT = int(os.environ.get("AIRFLOW_PORT", "8080"))
USER = "admin"


def wait_for_password(home: Path, proc: subprocess.Popen, timeout: float = 180.0) -> str:
    path = home / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"airflow standalone exited with code {proc.returncode}")
        if path.exists() and path.stat().st_size:
            return json.loads(path.read_text())[USER]
        time.sleep(1)
    raise TimeoutError(f"no generated password in {path} after {timeout}s")


def first_run_day(metadata_db: Path, dag_id: str = "wistia_daily") -> date | None:
    """The earliest data day (data interval start) of ``dag_id``'s runs in a SQLite metadata DB."""
    if not metadata_db.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{metadata_db}?mode=ro", uri=True)) as db:
            row = db.execute(
                "SELECT min(data_interval_start) FROM dag_run WHERE dag_id = ?", (dag_id,)
            ).fetchone()
    except sqlite3.Error:  # not migrated yet
        return None
    return date.fromisoformat(str(row[0])[:10]) if row and row[0] else None


def catchup_start(
    env: dict[str, str], airflow_home: Path, lookback_days: int, today: date | None = None
) -> str:
    """WISTIA_START_DATE for ``make airflow`` (see the module doc)."""
    if env.get("WISTIA_START_DATE"):
        return env["WISTIA_START_DATE"]
    first = first_run_day(airflow_home / "airflow.db")
    if first is not None:
        return first.isoformat()
    return ((today or datetime.now(UTC).date()) - timedelta(days=lookback_days)).isoformat()


def main() -> int:
    settings = load_settings()
    home = (settings.state_dir / "airflow").resolve()
    env = local_runner.airflow_env(home)
    env.update(
        {
            "AIRFLOW__API__PORT": str(PORT),
            # Tasks reach the api-server's execution API here (Airflow's default assumes 8080:
            # on another AIRFLOW_PORT every task failed with "connection refused").
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{PORT}/execution/",
            # On a busy 2-core machine the api-server starts after the scheduler has queued the
            # first catchup task, and its first answers take seconds: with the defaults (5 s
            # timeout, 5 retries ~30 s) that task failed (then waited its 2-minute retry delay).
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
            "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "10",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "WISTIA_TARGET": "local",
            # One DAG with max_active_runs=1 on a small machine: a few executor slots suffice.
            "AIRFLOW__CORE__PARALLELISM": "4",
        }
    )
    env["WISTIA_START_DATE"] = catchup_start(env, home, settings.lookback_days)
    if not env.get("WISTIA_PII_HASH_KEY"):
        env["WISTIA_PII_HASH_KEY"] = ensure_local_pii_key(settings.state_dir)
    children: list[subprocess.Popen] = []  # started before Airflow (the simulator)
    if not env.get("WISTIA_API_TOKEN"):
        token = secrets.token_hex(16)
        sim_port = free_port()
        children.append(start_simulator(sim_port, token, "--seed", "42"))
        env["WISTIA_API_URL"] = f"http://127.0.0.1:{sim_port}/modern"
        env["WISTIA_API_TOKEN"] = token
        print(f"Wistia simulator on http://127.0.0.1:{sim_port}/modern (no WISTIA_API_TOKEN set)")
    local_runner.ensure_metadata_db(home)
    # Its own process group: standalone's scheduler, workers and servers all stop with it.
    airflow = subprocess.Popen(
        [sys.executable, "-m", "airflow", "standalone"], env=env, start_new_session=True
    )
    try:
        password = wait_for_password(home, airflow)
        # The UI is ready once the api-server answers its unauthenticated health endpoint.
        wait_until_up(f"http://127.0.0.1:{PORT}/api/v2/monitor/health", airflow, timeout=300)
        print(
            f"\nAirflow UI:   http://localhost:{PORT}\n"
            f"Login:        {USER} / {password}\n"
            f"DAG:          wistia_daily (catchup from {env['WISTIA_START_DATE']}, target local)\n"
            f"AIRFLOW_HOME: {home}\nCtrl-C to stop.\n",
            flush=True,
        )
        return airflow.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop_process_group(airflow)
        for child in children:
            stop_process(child, timeout=30)


def stop_process_group(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM the whole group, then SIGKILL what is left after ``timeout``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)
    # Children (scheduler, executor workers) may outlive the standalone parent.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


if __name__ == "__main__":
    sys.exit(main())
