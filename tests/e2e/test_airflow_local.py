"""`make airflow`: Airflow standalone comes up with the project's DAG on the local target and
prints a URL and a login that work (a JWT from the printed password, then the DAG via the API)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from wistia_simulator.process import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_make_airflow_serves_the_dag(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "AIRFLOW_PORT": str(port),
        "WISTIA_STATE_DIR": str(tmp_path / "state"),
        # No complete daily interval yet: the scheduler has nothing to run during the test.
        "WISTIA_START_DATE": datetime.now(UTC).date().isoformat(),
    }
    env.pop("WISTIA_API_TOKEN", None)
    env.pop("AIRFLOW_HOME", None)
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "airflow_local.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 360
        login = None
        for line in proc.stdout:
            output.append(line)
            login = login or re.match(r"Login:\s+(\S+) / (\S+)", line)
            if line.startswith("AIRFLOW_HOME:") or time.monotonic() > deadline:
                break
        assert login, "no login printed:\n" + "".join(output[-40:])
        assert f"Airflow UI:   http://localhost:{port}" in "".join(output)
        base = f"http://127.0.0.1:{port}"
        token = requests.post(
            f"{base}/auth/token",
            json={"username": login.group(1), "password": login.group(2)},
            timeout=30,
        )
        assert token.status_code in (200, 201), token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        dag = None
        for _ in range(90):  # the dag-processor registers the DAG shortly after start-up
            resp = requests.get(f"{base}/api/v2/dags/wistia_daily", headers=headers, timeout=10)
            if resp.status_code == 200:
                dag = resp.json()
                break
            time.sleep(2)
        assert dag is not None, "wistia_daily never appeared in the API"
        assert dag["dag_id"] == "wistia_daily"
        assert {t["name"] for t in dag["tags"]} >= {"wistia"}
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
