"""The aws target's ``ingest`` task (wistia_airflow.ingestion) against the real Lambda handler
run in-process on a thread (as an ``Event`` invocation runs), the SQLite run-state store and the
simulator: reuse, waiting on a live invocation, a crash seen as a lapsed lease, the deferral."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from wistia_airflow.ingestion import AsyncIngestOperator, IngestionFailed
from wistia_airflow.triggers import IngestionRecordTrigger
from wistia_pipeline.bronze import safe_run_id
from wistia_pipeline.config import load_settings
from wistia_pipeline.lambda_handler import handler
from wistia_pipeline.state import open_state_store
from wistia_pipeline.state.ingestion import IngestionStatus

RUN = "manual__2026-03-09T00:00:00+00:00"
PAYLOAD = {"logical_date": "2026-03-09", "lookback_days": 1, "run_id": RUN, "streams": ["medias"]}
FN = "wistia-test-ingest"
SAFE_RUN = safe_run_id(RUN)  # the summary's run id (bronze's path-safe form)


class Context:
    aws_request_id = "req-7"
    log_group_name = "/aws/lambda/wistia-test-ingest"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@dataclass
class FakeLambda:
    """``invoke(InvocationType=Event)``: 202 at once, the handler on a thread (or ``body``)."""

    body: Any = None
    events: list[dict] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict:
        assert (FunctionName, InvocationType) == (FN, "Event")
        event = json.loads(Payload)
        self.events.append(event)
        thread = threading.Thread(target=self.body or _run_handler, args=(event,), daemon=True)
        thread.start()
        self.threads.append(thread)
        return {"StatusCode": 202, "ResponseMetadata": {"RequestId": f"req-{len(self.events)}"}}


def _run_handler(event: dict) -> None:
    # an Event invocation's error goes to the record (and the function's log)
    with contextlib.suppress(Exception):
        handler(event, Context())


@pytest.fixture
def env(tmp_path, monkeypatch, simulator_factory) -> dict[str, str]:
    sim = simulator_factory(
        seed=3, start_date="2026-03-01", end_date="2026-03-12", media_count=2, rate_limit=0
    )
    values = {
        "WISTIA_TARGET": "local",
        "WISTIA_STATE_DIR": str(tmp_path / "state"),
        "WISTIA_API_URL": sim.url,
        "WISTIA_API_TOKEN": sim.token,
        "WISTIA_GLUE_DEFERRABLE": "false",
        "WISTIA_AWS_POLL_SECONDS": "1",
        "WISTIA_INGEST_LEASE_SECONDS": "10",
        "WISTIA_INGEST_START_SECONDS": "10",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("wistia_airflow.runtime.settings", lambda: load_settings(values))
    return values


def _task(fake: FakeLambda, monkeypatch, attempt: int = 1) -> AsyncIngestOperator:
    task = AsyncIngestOperator(
        function_name=FN, payload=dict(PAYLOAD), aws_conn_id="aws_default", claim_attempt=attempt
    )
    monkeypatch.setattr(task, "_lambda_client", lambda: fake)
    return task


def _store(env):
    return open_state_store(load_settings(env))


def test_invoke_wait_and_a_retry_reuses_the_summary_without_invoking(env, monkeypatch):
    fake = FakeLambda()
    summary = _task(fake, monkeypatch).execute({})
    assert summary["run_id"] == SAFE_RUN and summary["streams"]["medias"]["records"] > 0
    (event,) = fake.events
    assert event["invocation"]["lease_seconds"] == 10
    assert {k: v for k, v in event.items() if k != "invocation"} == PAYLOAD
    record = _store(env).get_ingestion(RUN)
    assert record.status is IngestionStatus.SUCCEEDED and record.request_id == "req-7"
    # the task's retry (same claim, same payload): the summary again, no second invocation
    assert _task(fake, monkeypatch).execute({}) == summary
    assert len(fake.events) == 1
    # the run claimed again (cleared and re-run): ingests anew
    assert _task(fake, monkeypatch, attempt=2).execute({})["run_id"] == SAFE_RUN
    assert len(fake.events) == 2


def test_a_retry_waits_on_a_live_invocation_instead_of_invoking(env, monkeypatch):
    gate = threading.Event()

    def slow(event: dict) -> None:
        gate.wait(20)
        _run_handler(event)

    first = FakeLambda(body=slow)
    task = _task(first, monkeypatch)
    # the first try invokes, then its worker dies while waiting (simulated: we do not wait)
    monkeypatch.setattr(task, "_wait", lambda *args: None)
    task.execute({})
    second = FakeLambda()
    retry = _task(second, monkeypatch)
    threading.Timer(2, gate.set).start()
    assert retry.execute({})["run_id"] == SAFE_RUN
    assert (len(first.events), second.events) == (1, [])


def test_a_lambda_that_dies_fails_the_task_with_its_request_id_then_a_retry_invokes_again(
    env, monkeypatch
):
    store = _store(env)

    def dies(event: dict) -> None:  # starts (RUNNING), then is killed: no heartbeat, no outcome
        store.start_ingestion(RUN, event["invocation"]["id"], "req-dead", "/aws/lambda/x", 10)

    crashed = FakeLambda(body=dies)
    with pytest.raises(IngestionFailed) as failed:
        _task(crashed, monkeypatch).execute({})
    message = str(failed.value)
    assert message.startswith("IngestionLambdaLost: ")
    assert "request id req-dead" in message and "/aws/lambda/x" in message
    record = store.get_ingestion(RUN)
    assert record.status is IngestionStatus.FAILED and record.error == message
    # the retry: a new invocation, which succeeds
    healthy = FakeLambda()
    assert _task(healthy, monkeypatch).execute({})["run_id"] == SAFE_RUN
    assert store.get_ingestion(RUN).attempt == 2


def test_the_lambdas_error_text_fails_the_task(env, monkeypatch):
    monkeypatch.setenv("WISTIA_API_TOKEN", "wrong")  # the handler's own settings read the env
    with pytest.raises(IngestionFailed, match=r"^WistiaAuthError: Wistia API 401"):
        _task(FakeLambda(), monkeypatch).execute({})


def test_deferred_the_trigger_fires_on_the_outcome_and_the_task_concludes(env, monkeypatch):
    from airflow.sdk.exceptions import TaskDeferred

    monkeypatch.setattr(
        "wistia_airflow.runtime.settings",
        lambda: load_settings({**env, "WISTIA_GLUE_DEFERRABLE": "true"}),
    )
    task = _task(FakeLambda(), monkeypatch)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, IngestionRecordTrigger) and trigger.poll_seconds == 1
    classpath, kwargs = trigger.serialize()
    assert classpath == "wistia_airflow.triggers.IngestionRecordTrigger"
    revived = IngestionRecordTrigger(**kwargs)  # what the triggerer builds

    async def first_event() -> Any:
        async for event in revived.run():
            return event

    event = asyncio.run(asyncio.wait_for(first_event(), 60))
    assert event.payload["run_id"] == RUN
    summary = task.execute_complete({}, event.payload, **deferred.value.kwargs)
    assert summary["run_id"] == SAFE_RUN
    # dag.test() resumes with the event alone (it drops the defer kwargs): same outcome
    assert task.execute_complete({}, event=event.payload) == summary
