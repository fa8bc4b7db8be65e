"""``make smoke``'s DAG trigger against a real Airflow REST API (api-server of the pinned
Airflow, the project's DAG serialized into its metadata DB).

MWAA is not emulated by the local AWS, so a small stand-in of MWAA's ``InvokeRestApi`` forwards
the calls of a real boto3 ``mwaa`` client to the api-server and answers as MWAA does: 200 with
``RestApiStatusCode``/``RestApiResponse``, or, for an Airflow 4xx, a ``RestApiClientException``
carrying both. The case that broke every deploy after the first day: yesterday's scheduled run
already holds yesterday 00:00, and Airflow answers a second run at that logical date with 409.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from wistia_dev import local_runner
from wistia_simulator.process import free_port, wait_until_up

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DAY = date(2026, 3, 9)
ENVIRONMENT = "wistia-smoke"


@pytest.fixture(scope="module")
def airflow_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    """(base URL, auth headers) of an ``airflow api-server`` serving wistia_daily."""
    home = tmp_path_factory.mktemp("airflow_smoke")
    port = free_port()
    env = local_runner.airflow_env(home, dict(os.environ))
    env |= {
        "WISTIA_TARGET": "local",
        "WISTIA_START_DATE": (DAY - timedelta(days=2)).isoformat(),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
    }
    local_runner.ensure_metadata_db(home, env)
    subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "reserialize"],
        env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    log = (home / "api-server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow", "api-server", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/api/v2/monitor/health", proc, timeout=240)
        password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
        token = requests.post(
            f"{base}/auth/token",
            json={"username": "admin", "password": password["admin"]},
            timeout=30,
        )
        token.raise_for_status()
        yield base, {"Authorization": f"Bearer {token.json()['access_token']}"}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def mwaa(airflow_api: tuple[str, dict]) -> Iterator[object]:
    """A boto3 ``mwaa`` client whose InvokeRestApi reaches ``airflow_api`` (see module doc)."""
    base, headers = airflow_api

    class InvokeRestApi(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            answer = requests.request(
                request["Method"],
                f"{base}/api/v2{request['Path']}",
                json=request.get("Body"),
                headers=headers,
                timeout=60,
            )
            body = {"RestApiStatusCode": answer.status_code, "RestApiResponse": answer.json()}
            status, extra = 200, {}
            if answer.status_code >= 400:
                kind = "Client" if answer.status_code < 500 else "Server"
                status = 400 if kind == "Client" else 500
                extra = {"X-Amzn-ErrorType": f"RestApi{kind}Exception"}
                body["message"] = f"Airflow answered {answer.status_code}"
            data = json.dumps(body).encode()
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **extra}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), InvokeRestApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield boto3.client(
            "mwaa",
            endpoint_url=f"http://127.0.0.1:{server.server_port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
        )
    finally:
        server.shutdown()


def smoke_module():
    sys.path.insert(0, str(REPO / "scripts"))  # smoke.py imports its sibling deploy.py
    try:
        import smoke
    finally:
        sys.path.remove(str(REPO / "scripts"))
    return smoke


def runs(airflow_api: tuple[str, dict]) -> list[dict]:
    base, headers = airflow_api
    resp = requests.get(f"{base}/api/v2/dags/wistia_daily/dagRuns", headers=headers, timeout=30)
    resp.raise_for_status()
    return resp.json()["dag_runs"]


def test_smoke_triggers_a_small_run_when_the_days_scheduled_run_exists(airflow_api, mwaa) -> None:
    smoke = smoke_module()
    midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    # Yesterday's run at yesterday 00:00, where the scheduler puts it ("scheduled__" run ids
    # are reserved for the scheduler: the uniqueness that matters is the logical date's).
    scheduled = {
        "dag_run_id": f"nightly__{midnight.isoformat()}",
        "logical_date": midnight.isoformat(),
        "data_interval_start": midnight.isoformat(),
        "data_interval_end": (midnight + timedelta(days=1)).isoformat(),
    }
    base, headers = airflow_api
    created = requests.post(
        f"{base}/api/v2/dags/wistia_daily/dagRuns", json=scheduled, headers=headers, timeout=30
    )
    assert created.status_code == 200, created.text
    # A second run at that logical date is what Airflow refuses (the old smoke trigger's), and
    # MWAA passes the refusal on as RestApiClientException.
    with pytest.raises(ClientError) as refused:
        mwaa.invoke_rest_api(
            Name=ENVIRONMENT,
            Path="/dags/wistia_daily/dagRuns",
            Method="POST",
            Body={**scheduled, "dag_run_id": "smoke__old_style"},
        )
    assert refused.value.response["Error"]["Code"] == "RestApiClientException"
    assert refused.value.response["RestApiStatusCode"] == 409

    first = smoke.trigger_dag_run(mwaa, ENVIRONMENT, DAY)
    second = smoke.trigger_dag_run(mwaa, ENVIRONMENT, DAY)  # every deploy runs smoke again
    assert first["dag_run_id"] != second["dag_run_id"]
    by_id = {run["dag_run_id"]: run for run in runs(airflow_api)}
    for run_id in (first["dag_run_id"], second["dag_run_id"]):
        run = by_id[run_id]
        assert run_id.startswith(f"smoke__{DAY.isoformat()}__")
        # data day = yesterday (D = the data interval's start), a small run, not the midnight
        assert datetime.fromisoformat(run["data_interval_start"]) == midnight
        assert datetime.fromisoformat(run["data_interval_end"]) == midnight + timedelta(days=1)
        assert datetime.fromisoformat(run["logical_date"]) != midnight
        assert run["conf"] == {"lookback_days": 0, "streams": ["medias"]}
    assert by_id[scheduled["dag_run_id"]]["conf"] in ({}, None)  # untouched
