"""The Lambda's side of the ingestion record: the real handler in-process (SQLite store, the
simulator), its heartbeat, its watchdog and what it does when the record is taken from it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from wistia_pipeline.ingestion_tracker import WATCHDOG_MARGIN_S, InvocationTracker
from wistia_pipeline.lambda_handler import handler
from wistia_pipeline.state.ingestion import IngestionStatus, request_key
from wistia_pipeline.state.sqlite_store import SQLiteRunStateStore

RUN = "manual__2026-03-09T00:00:00+00:00"
EVENT = {"logical_date": "2026-03-09", "lookback_days": 1, "run_id": RUN, "streams": ["medias"]}


@dataclass
class FakeContext:
    remaining_s: float = 900.0
    aws_request_id: str = "req-123"
    log_group_name: str = "/aws/lambda/wistia-test-ingest"

    def __post_init__(self) -> None:
        self._end = time.monotonic() + self.remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self._end - time.monotonic()) * 1000)


@pytest.fixture
def local_env(tmp_path, monkeypatch, simulator_factory):
    sim = simulator_factory(
        seed=3, start_date="2026-03-01", end_date="2026-03-12", media_count=2, rate_limit=0
    )
    monkeypatch.setenv("WISTIA_TARGET", "local")
    monkeypatch.setenv("WISTIA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("WISTIA_API_URL", sim.url)
    monkeypatch.setenv("WISTIA_API_TOKEN", sim.token)
    return SQLiteRunStateStore(tmp_path / "state" / "state.sqlite")


def _begin(store, invocation="inv-1"):
    store.begin_ingestion(RUN, invocation, request_key(EVENT, 1), start_seconds=90)
    return {**EVENT, "invocation": {"id": invocation, "lease_seconds": 30}}


def test_a_tracked_invocation_records_running_then_the_summary(local_env):
    summary = handler(_begin(local_env), FakeContext())
    record = local_env.get_ingestion(RUN)
    assert record.status is IngestionStatus.SUCCEEDED
    assert record.summary == summary and summary["streams"]["medias"]["records"] > 0
    assert (record.request_id, record.log_group) == ("req-123", "/aws/lambda/wistia-test-ingest")
    # the same event delivered again does nothing: the record names a finished invocation
    again = {**EVENT, "invocation": {"id": "inv-1", "lease_seconds": 30}}
    assert "SUCCEEDED by invocation 'inv-1'" in handler(again, FakeContext())["refused"]


def test_a_failing_ingestion_records_the_error_type_and_text(local_env, monkeypatch):
    monkeypatch.setenv("WISTIA_API_TOKEN", "wrong-token")
    with pytest.raises(Exception, match="401") as raised:
        handler(_begin(local_env), FakeContext())
    record = local_env.get_ingestion(RUN)
    assert record.status is IngestionStatus.FAILED
    assert record.error_type == type(raised.value).__name__ == "WistiaAuthError"
    assert record.error == str(raised.value)


def test_an_event_for_another_invocation_is_refused_without_ingesting(local_env):
    _begin(local_env, "inv-2")
    out = handler({**EVENT, "invocation": {"id": "inv-1", "lease_seconds": 30}}, FakeContext())
    assert "INVOKED by invocation 'inv-2'" in out["refused"]
    assert local_env.get_ingestion(RUN).status is IngestionStatus.INVOKED


@pytest.mark.parametrize(
    "invocation",
    [{"id": "x"}, {"id": "", "lease_seconds": 30}, {"id": "x", "lease_seconds": 5}, "x"],
)
def test_a_malformed_invocation_is_rejected(invocation):
    with pytest.raises(ValueError, match="invocation"):
        handler({**EVENT, "invocation": invocation}, None)


def test_the_heartbeat_renews_the_lease_and_the_watchdog_records_a_timeout(tmp_path):
    store = SQLiteRunStateStore(tmp_path / "s.sqlite")
    _begin(store)
    # 13 s left: the watchdog fires 10 s before the end, i.e. after ~3 s
    tracker = InvocationTracker(store, RUN, "inv-1", 10, FakeContext(remaining_s=13.5))
    first = tracker.start().lease_expires_at
    # ~3.5 s: one heartbeat (every 2.5 s), then the watchdog; wait for its write, not a fixed time
    deadline = time.monotonic() + WATCHDOG_MARGIN_S
    while (record := store.get_ingestion(RUN)).status is IngestionStatus.RUNNING:
        assert time.monotonic() < deadline, "the watchdog never recorded the timeout"
        time.sleep(0.1)
    assert record.lease_expires_at > first
    assert record.status is IngestionStatus.FAILED and tracker.timed_out
    assert record.error_type == "Sandbox.Timedout"
    assert record.error.startswith("RequestId: req-123 Task timed out after 13.")
    tracker.stop()


def test_a_tracker_whose_record_was_taken_stops_its_invocation(tmp_path):
    store = SQLiteRunStateStore(tmp_path / "s.sqlite")
    _begin(store)
    lost = threading.Event()
    messages: list[str] = []

    def on_lost(message: str) -> None:
        messages.append(message)
        lost.set()

    tracker = InvocationTracker(store, RUN, "inv-1", 10, FakeContext(), on_lost=on_lost)
    tracker.start()
    # the waiter gave up on it (as after a lapse) and a retry began another invocation
    store.fail_ingestion(RUN, "inv-1", "IngestionLambdaLost", "lapsed")
    store.begin_ingestion(RUN, "inv-2", "other", 90)
    assert lost.wait(5), "the heartbeat did not notice"
    assert "lost the ingestion record" in messages[0]
    tracker.stop()
    assert store.get_ingestion(RUN).invocation_id == "inv-2"
