"""Shared fixtures: real servers on loopback (moto server, the Wistia simulator), local Spark.

Helpers here start real processes; nothing is mocked in-process.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from wistia_simulator.process import free_port, stop_process, wait_until_up

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _isolated_airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Any in-process Airflow import uses a throwaway home, never ~/airflow."""
    previous = os.environ.get("AIRFLOW_HOME")
    os.environ["AIRFLOW_HOME"] = str(tmp_path_factory.mktemp("airflow_home"))
    yield
    if previous is None:
        os.environ.pop("AIRFLOW_HOME", None)
    else:
        os.environ["AIRFLOW_HOME"] = previous


SIM_TOKEN = "sim-test-token-7c1e"  # the simulator's own test credential, not a real secret


class MotoServer:
    def __init__(self, port: int, proc: subprocess.Popen) -> None:
        self.port = port
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def configure(self, config: dict) -> None:
        requests.post(f"{self.url}/moto-api/config", json=config, timeout=10).raise_for_status()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """A real moto server on loopback (one per test session; reset it per test as needed)."""
    port = free_port()
    env = {**os.environ, "MOTO_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = MotoServer(port, proc)
    try:
        wait_until_up(f"{server.url}/moto-api/", proc)
        yield server
    finally:
        stop_process(proc)


@pytest.fixture
def aws_env(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """Point boto3 (and the Amazon provider) at the moto server for one test, from a clean state."""
    moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_server


class Simulator:
    """A running `python -m wistia_simulator` process."""

    def __init__(self, port: int, proc: subprocess.Popen, token: str) -> None:
        self.port = port
        self.proc = proc
        self.token = token
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/modern"

    def admin(self, method: str, path: str, **kwargs) -> dict | list:
        resp = requests.request(method, f"{self.base}/_admin/{path}", timeout=60, **kwargs)
        resp.raise_for_status()
        return resp.json()


def start_simulator(**options: object) -> Simulator:
    """Start the simulator; ``options`` become CLI flags (``latency_ms=5`` -> ``--latency-ms 5``)."""
    port = free_port()
    args = [sys.executable, "-m", "wistia_simulator", "--port", str(port), "--token", SIM_TOKEN]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is not False and value is not None:
            args += [flag, str(value)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sim = Simulator(port, proc, SIM_TOKEN)
    try:
        wait_until_up(f"{sim.base}/_admin/health", proc)
    except Exception:
        stop_process(proc)
        raise
    return sim


@pytest.fixture
def simulator_factory() -> Iterator:
    started: list[Simulator] = []

    def factory(**options: object) -> Simulator:
        sim = start_simulator(**options)
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        stop_process(sim.proc)


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole test run (UTC, small shuffle)."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("wistia-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .getOrCreate()
    )
    yield session
    session.stop()
    # py4j logs from __del__ at interpreter exit, after pytest closed the captured streams.
    logging.getLogger("py4j").setLevel(logging.WARNING)
