"""Fixtures for the run-state store contract tests: one factory per backend.

``make_store(clock=None)`` returns a new store object on the SAME underlying database (one
SQLite file on tmp_path, or one DynamoDB table on the moto server), so several stores act like
several workers sharing state.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests

from wistia_pipeline.state import RunStateStore
from wistia_pipeline.state.dynamodb import DynamoDBRunStateStore, create_table
from wistia_pipeline.state.sqlite_store import SQLiteRunStateStore
from wistia_simulator.process import free_port, stop_process, wait_until_up

TABLE = "wistia-state-test"


class FakeClock:
    """A settable UTC clock, so lease expiry is tested without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 10, 12, 0, 0, 123000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


StoreFactory = Callable[..., RunStateStore]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def dynamodb_table(aws_env) -> str:
    create_table(boto3.client("dynamodb"), TABLE)
    return TABLE


def _factory(kind: str, request: pytest.FixtureRequest, tmp_path, table_fixture: str):
    if kind == "sqlite":
        path = tmp_path / "state" / "state.sqlite"

        def factory(clock: Callable[[], datetime] | None = None) -> RunStateStore:
            return SQLiteRunStateStore(path, clock=clock)

    else:
        table = request.getfixturevalue(table_fixture)

        def factory(clock: Callable[[], datetime] | None = None) -> RunStateStore:
            return DynamoDBRunStateStore(table, client=boto3.client("dynamodb"), clock=clock)

    return factory


@pytest.fixture(params=["sqlite", "dynamodb"])
def make_store(request: pytest.FixtureRequest, tmp_path) -> StoreFactory:
    return _factory(request.param, request, tmp_path, "dynamodb_table")


# --- races against DynamoDB -----------------------------------------------------------------
# The moto server handles concurrent requests on several threads without DynamoDB's guarantee
# that each write to an item is applied atomically (two conditional updates can both pass their
# condition). Race tests therefore use a moto server that applies one request at a time, which
# is exactly DynamoDB's per-request atomicity, while the clients still race over real HTTP. A
# store that checked with one request and wrote with another would still show several winners.

_SERIAL_MOTO = """
import sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication, MotoRequestHandler, create_backend_app,
)
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()
def serial(environ, start_response):
    with lock:
        return list(app(environ, start_response))
run_simple("127.0.0.1", int(sys.argv[1]), serial, threaded=True,
           request_handler=MotoRequestHandler)
"""


@pytest.fixture(scope="session")
def serial_moto_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERIAL_MOTO, str(port)],
        env={**os.environ, "MOTO_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/moto-api/", proc, timeout=30)
        yield url
    finally:
        stop_process(proc)


@pytest.fixture
def serial_dynamodb_table(aws_env, serial_moto_url: str, monkeypatch) -> str:
    requests.post(f"{serial_moto_url}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", serial_moto_url)
    create_table(boto3.client("dynamodb"), TABLE)
    return TABLE


@pytest.fixture(params=["sqlite", "dynamodb"])
def make_racing_store(request: pytest.FixtureRequest, tmp_path) -> StoreFactory:
    """Like ``make_store``; DynamoDB on the one-request-at-a-time moto server."""
    return _factory(request.param, request, tmp_path, "serial_dynamodb_table")


@pytest.fixture
def store(make_store: StoreFactory, clock: FakeClock) -> RunStateStore:
    return make_store(clock)
