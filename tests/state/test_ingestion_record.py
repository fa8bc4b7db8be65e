"""The ingestion record (wistia_pipeline.state.ingestion) on both backends: its transitions, the
waiter's rule, and races (one invocation wins a begin; one Lambda starts per invocation)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from wistia_pipeline.state.ingestion import (
    IngestionRefused,
    IngestionStatus,
    request_key,
    waiter_verdict,
)

RUN = "manual__2026-03-09T00:00:00+00:00"
KEY = request_key({"logical_date": "2026-03-09", "run_id": RUN}, 1)
SUMMARY = {"run_id": RUN, "window_start": "2026-03-07", "requests_total": 12, "streams": {}}
FN = "arn:aws:lambda:eu-west-1:000000000000:function:wistia-dev-ingest"


def _started(store, invocation="inv-1", lease=60):
    store.begin_ingestion(RUN, invocation, KEY, start_seconds=90)
    return store.start_ingestion(RUN, invocation, "req-1", "/aws/lambda/wistia-dev-ingest", lease)


def test_a_run_without_a_record_reads_none_and_begins_invoked(store, clock):
    assert store.get_ingestion(RUN) is None
    record = store.begin_ingestion(RUN, "inv-1", KEY, start_seconds=90)
    assert (record.status, record.attempt, record.invocation_id) == (
        IngestionStatus.INVOKED,
        1,
        "inv-1",
    )
    assert record.lease_expires_at == clock.now + timedelta(seconds=90)
    assert store.get_ingestion(RUN) == record


def test_the_lambda_starts_heartbeats_and_succeeds_with_the_summary(store, clock):
    running = _started(store)
    assert running.status is IngestionStatus.RUNNING
    assert (running.request_id, running.started_at) == ("req-1", clock.now)
    clock.advance(20)
    store.renew_ingestion(RUN, "inv-1", 60)
    assert store.get_ingestion(RUN).lease_expires_at == clock.now + timedelta(seconds=60)
    done = store.succeed_ingestion(RUN, "inv-1", SUMMARY)
    assert done.status is IngestionStatus.SUCCEEDED and done.finished_at == clock.now
    assert store.get_ingestion(RUN).summary == SUMMARY
    assert waiter_verdict(store.get_ingestion(RUN), "inv-1", clock.now, FN).summary == SUMMARY


def test_a_duplicate_or_stale_event_does_not_start(store):
    _started(store)
    with pytest.raises(IngestionRefused, match="RUNNING by invocation 'inv-1'"):
        store.start_ingestion(RUN, "inv-1", "req-2", "/g", 60)  # the same event delivered twice
    with pytest.raises(IngestionRefused):
        store.start_ingestion(RUN, "inv-0", "req-3", "/g", 60)  # an older invocation's event


def test_begin_is_refused_while_an_invocation_is_live_and_after_success_for_the_same_request(
    store, clock
):
    _started(store)
    with pytest.raises(IngestionRefused, match="cannot begin"):
        store.begin_ingestion(RUN, "inv-2", KEY, 90)
    store.succeed_ingestion(RUN, "inv-1", SUMMARY)
    with pytest.raises(IngestionRefused):
        store.begin_ingestion(RUN, "inv-2", KEY, 90)  # reuse it instead
    # another request (other params, or the run claimed again) ingests anew
    again = store.begin_ingestion(RUN, "inv-2", request_key({"x": 1}, 2), 90)
    assert (again.attempt, again.summary, again.request_id) == (2, None, None)


def test_a_lapsed_lease_is_a_crash_the_waiter_reports_and_a_retry_replaces(store, clock):
    _started(store, lease=60)
    assert not waiter_verdict(store.get_ingestion(RUN), "inv-1", clock.now, FN).done
    with pytest.raises(IngestionRefused):  # not yet lapsed
        store.fail_ingestion(RUN, "inv-1", "IngestionLambdaLost", "gone", lapsed_only=True)
    clock.advance(61)
    verdict = waiter_verdict(store.get_ingestion(RUN), "inv-1", clock.now, FN)
    assert verdict.done and verdict.error.startswith("IngestionLambdaLost: ")
    assert "request id req-1" in verdict.error and "/aws/lambda/wistia-dev-ingest" in verdict.error
    store.fail_ingestion(RUN, "inv-1", "IngestionLambdaLost", verdict.error, lapsed_only=True)
    # the crashed Lambda, should it wake up, can no longer write
    with pytest.raises(IngestionRefused):
        store.succeed_ingestion(RUN, "inv-1", SUMMARY)
    assert store.begin_ingestion(RUN, "inv-2", KEY, 90).attempt == 2


def test_an_invocation_that_never_starts_lapses_at_its_start_deadline(store, clock):
    store.begin_ingestion(RUN, "inv-1", KEY, start_seconds=90)
    clock.advance(91)
    verdict = waiter_verdict(store.get_ingestion(RUN), "inv-1", clock.now, FN)
    assert "did not start invocation inv-1" in verdict.error
    assert "/aws/lambda/wistia-dev-ingest" in verdict.error  # from the function's ARN
    # a late start after the waiter gave up is refused
    store.fail_ingestion(RUN, "inv-1", "IngestionLambdaLost", verdict.error, lapsed_only=True)
    with pytest.raises(IngestionRefused):
        store.start_ingestion(RUN, "inv-1", "req-9", "/g", 60)


def test_a_failure_carries_the_lambdas_error_type_and_text(store, clock):
    _started(store)
    store.fail_ingestion(RUN, "inv-1", "WistiaAuthError", "Wistia API 401 for GET /medias")
    record = store.get_ingestion(RUN)
    assert record.status is IngestionStatus.FAILED and record.finished_at == clock.now
    verdict = waiter_verdict(record, "inv-1", clock.now, FN)
    assert verdict.error == "WistiaAuthError: Wistia API 401 for GET /medias"
    # a superseded invocation is an error for its waiter
    store.begin_ingestion(RUN, "inv-2", KEY, 90)
    assert (
        "superseded by inv-2"
        in waiter_verdict(store.get_ingestion(RUN), "inv-1", clock.now, FN).error
    )


def test_one_of_many_concurrent_begins_wins(make_racing_store):
    stores = [make_racing_store() for _ in range(8)]

    def begin(i: int) -> str | None:
        try:
            return stores[i].begin_ingestion(RUN, f"inv-{i}", KEY, 90).invocation_id
        except IngestionRefused:
            return None

    with ThreadPoolExecutor(8) as pool:
        winners = [w for w in pool.map(begin, range(8)) if w]
    assert len(winners) == 1
    assert stores[0].get_ingestion(RUN).invocation_id == winners[0]


def test_the_waiters_defaults_are_the_ones_the_twin_bakes_in():
    from wistia_pipeline.config import load_settings
    from wistia_pipeline.state.ingestion import INGEST_LEASE_SECONDS, INGEST_START_SECONDS

    settings = load_settings({})
    assert (settings.ingest_start_seconds, settings.ingest_lease_seconds) == (
        INGEST_START_SECONDS,
        INGEST_LEASE_SECONDS,
    )
