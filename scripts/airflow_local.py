"""`make airflow`: Airflow standalone (api-server, scheduler, dag-processor, triggerer) with the
project's DAGs on the local target. Prints the UI URL and the login.

When WISTIA_API_TOKEN is unset it also starts the Wistia simulator and points the pipeline at it,
so catchup runs work out of the box. Catchup starts at WISTIA_START_DATE (default: 3 days ago).
Ctrl-C stops everything it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
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


def main() -> int:
    settings = load_settings()
    home = (settings.state_dir / "airflow").resolve()
    env = local_runner.airflow_env(home)
    env.update(
        {
            "AIRFLOW__API__PORT": str(PORT),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "WISTIA_TARGET": "local",
            # One DAG with max_active_runs=1 on a small machine: a few executor slots suffice.
            "AIRFLOW__CORE__PARALLELISM": "4",
        }
    )
    env.setdefault("WISTIA_START_DATE", (datetime.now(UTC).date() - timedelta(days=3)).isoformat())
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
