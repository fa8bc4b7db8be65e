"""Permanent errors fail a task without retries; transient ones keep them; the heartbeat."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from airflow.sdk import BaseOperator

from wistia_airflow.callbacks import describe_error
from wistia_airflow.compat import fail_exception
from wistia_airflow.operators import ClaimHeartbeat, RunGuardMixin, guarded
from wistia_pipeline.config import ConfigError
from wistia_pipeline.errors import (
    WistiaAuthError,
    WistiaRetryError,
    is_permanent,
    permanent_error_name,
)
from wistia_pipeline.local_spark import GlueScriptError
from wistia_pipeline.state import DayAlreadyClaimed, NotClaimedByRun
from wistia_pipeline.state.sqlite_store import SQLiteRunStateStore

D = date(2026, 3, 9)


def lambda_function_error(error_type: str) -> ValueError:
    """What the Amazon provider raises for a Lambda FunctionError (the payload as text)."""
    payload = json.dumps({"errorMessage": "x", "errorType": error_type})
    return ValueError("Lambda function execution resulted in error", {"Payload": payload})


@pytest.mark.parametrize(
    ("exc", "name"),
    [
        (WistiaAuthError(401, "/medias", "bad token"), "WistiaAuthError"),
        (ConfigError("no Wistia API token"), "ConfigError"),
        (DayAlreadyClaimed(D, None), "DayAlreadyClaimed"),
        (lambda_function_error("WistiaForbiddenError"), "WistiaForbiddenError"),
        (
            GlueScriptError(
                "wistia_silver.py failed with exit code 1: "
                "wistia_pipeline.bronze.BronzePartMismatch: part-0001.ndjson.gz sha256 differs\n"
                "output tail:\n..."
            ),
            "BronzePartMismatch",
        ),
        (GlueScriptError("exit 1: RejectShareExceeded: reject share above 1.00%"), None),
        (
            GlueScriptError("exit 1: pyspark.errors.AnalysisException: [UNRESOLVED_COLUMN]"),
            "AnalysisException",
        ),
    ],
)
def test_permanent_errors_are_recognised(exc: BaseException, name: str | None) -> None:
    expected = name or "RejectShareExceeded"
    assert permanent_error_name(exc) == expected


def test_transient_errors_are_not_permanent() -> None:
    assert not is_permanent(WistiaRetryError("/medias", 8, "HTTP 503"))
    assert not is_permanent(lambda_function_error("WistiaRetryError"))
    assert not is_permanent(TimeoutError("read timed out"))
    # Only a message's first line counts: a log tail may mention a recovered error.
    assert not is_permanent(GlueScriptError("exit 137: killed\noutput tail:\nAnalysisException"))
    # A permanent cause counts, a context hidden with `raise ... from None` does not.
    try:
        try:
            raise ConfigError("bad")
        except ConfigError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as exc:
        assert is_permanent(exc)
    try:
        try:
            raise ConfigError("bad")
        except ConfigError:
            raise RuntimeError("unrelated") from None
    except RuntimeError as exc:
        assert not is_permanent(exc)


class Raising(BaseOperator):
    def __init__(self, exc: BaseException, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exc = exc

    def execute(self, context: Any) -> None:
        raise self.exc


def test_guard_turns_permanent_errors_into_fail_exceptions() -> None:
    permanent = guarded(Raising)(task_id="mark_failed", exc=WistiaAuthError(401, "/m", "no"))
    with pytest.raises(fail_exception()) as info:
        permanent.execute({})
    assert isinstance(info.value.__cause__, WistiaAuthError)
    assert describe_error(info.value).startswith("WistiaAuthError: Wistia API 401")
    transient = guarded(Raising)(task_id="mark_failed", exc=WistiaRetryError("/m", 8, "HTTP 503"))
    with pytest.raises(WistiaRetryError):
        transient.execute({})
    # Same name, so the UI and the DAG integrity tests see the operator it is.
    assert guarded(Raising).__name__ == "Raising" and guarded(Raising) is guarded(Raising)
    assert issubclass(guarded(Raising), RunGuardMixin)


@pytest.fixture
def local_state(tmp_path, monkeypatch) -> SQLiteRunStateStore:
    monkeypatch.setenv("WISTIA_TARGET", "local")
    monkeypatch.setenv("WISTIA_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("WISTIA_CLAIM_LEASE_SECONDS", "60")
    return SQLiteRunStateStore(tmp_path / "state.sqlite")


def context() -> dict[str, Any]:
    start = datetime(D.year, D.month, D.day, tzinfo=UTC)
    return {"data_interval_start": start, "run_id": "run-a", "params": {}}


class Working(BaseOperator):
    def execute(self, context: Any) -> str:
        return "done"


def test_a_main_line_step_renews_the_claim_as_it_starts(local_state) -> None:
    local_state.claim_day(D, "run-a", lease_seconds=5)
    before = local_state.get_day(D).lease_expires_at
    assert guarded(Working)(task_id="silver").execute(context()) == "done"
    after = local_state.get_day(D).lease_expires_at
    assert after - before > timedelta(seconds=50)  # renewed to now + 60 s


def test_a_step_of_a_run_that_lost_its_day_fails_fast(local_state) -> None:
    local_state.claim_day(D, "run-b", lease_seconds=600)  # another run holds the day
    with pytest.raises(fail_exception()) as info:
        guarded(Working)(task_id="gold").execute(context())
    assert isinstance(info.value.__cause__, NotClaimedByRun)


def test_the_heartbeat_keeps_renewing_while_a_step_runs(local_state) -> None:
    local_state.claim_day(D, "run-a", lease_seconds=3)
    heartbeat = ClaimHeartbeat(local_state, D, "run-a", lease_seconds=3).start()
    try:
        first = local_state.get_day(D).lease_expires_at
        deadline = time.monotonic() + 10  # the thread renews every lease / 3 = 1 s
        while local_state.get_day(D).lease_expires_at <= first:
            assert time.monotonic() < deadline, "the heartbeat never renewed the lease"
            time.sleep(0.1)
    finally:
        heartbeat.stop()
    stopped = local_state.get_day(D).lease_expires_at
    time.sleep(1.2)
    assert local_state.get_day(D).lease_expires_at == stopped  # no renewal after stop


class Deferring(BaseOperator):
    def execute(self, context: Any) -> None:
        from airflow.sdk.exceptions import TaskDeferred

        raise TaskDeferred(trigger=None, method_name="execute_complete")  # type: ignore[arg-type]


def test_a_deferred_step_leases_the_day_for_its_timeout(local_state) -> None:
    local_state.claim_day(D, "run-a", lease_seconds=60)
    task = guarded(Deferring)(task_id="silver", execution_timeout=timedelta(hours=2))
    with pytest.raises(BaseException) as info:
        task.execute(context())
    assert type(info.value).__name__ == "TaskDeferred"
    lease = local_state.get_day(D).lease_expires_at - datetime.now(UTC)
    assert timedelta(hours=1, minutes=59) < lease <= timedelta(hours=2)
