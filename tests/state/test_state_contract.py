"""One contract suite, run against both backends (SQLite file, DynamoDB on the moto server)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

import pytest

from wistia_pipeline.state import (
    DEFAULT_LEASE_SECONDS,
    MAX_ERROR_CHARS,
    CheckOverride,
    DayAlreadyClaimed,
    DayRun,
    DayStatus,
    NotClaimedByRun,
)

D = date(2026, 3, 9)


def test_claim_new_day_is_running_attempt_1(store, clock):
    assert store.get_day(D) is None
    run = store.claim_day(D, "run-a", lease_seconds=600)
    assert run == DayRun(
        day=D,
        status=DayStatus.RUNNING,
        run_id="run-a",
        attempt=1,
        started_at=clock.now,
        finished_at=None,
        counts={},
        error=None,
        lease_expires_at=clock.now + timedelta(seconds=600),
    )
    assert store.get_day(D) == run
    assert store.get_day(D + timedelta(days=1)) is None


def test_default_lease_is_six_hours(store, clock):
    run = store.claim_day(D, "run-a")
    assert DEFAULT_LEASE_SECONDS == 6 * 3600
    assert run.lease_expires_at - run.started_at == timedelta(hours=6)


def test_mark_succeeded_round_trips_counts_and_timings(store, clock):
    store.claim_day(D, "run-a")
    clock.advance(95.5)
    counts = {"events": 51234, "medias": 0, "big": 2**53, "négatif": -3}
    done = store.mark_succeeded(D, "run-a", counts)
    assert done.status is DayStatus.SUCCEEDED
    assert done.counts == counts
    assert done.finished_at == clock.now
    assert done.finished_at - done.started_at == timedelta(seconds=95.5)
    assert done.error is None
    assert done.attempt == 1
    assert store.get_day(D) == done


GAP = CheckOverride(
    "reconciliation_gap", 3, "2026-03-08: events 9 vs plays 0", "media 42 deleted", "alice"
)
UNUSED = CheckOverride("gold_days_present", 0, "", "media 42 deleted", "alice")


def test_mark_succeeded_records_the_check_overrides_and_a_new_claim_clears_them(store):
    store.claim_day(D, "run-a")
    done = store.mark_succeeded(D, "run-a", {"checks_passed": 4}, overrides=[GAP, UNUSED])
    assert done.overrides == (GAP, UNUSED)
    assert [o.used for o in done.overrides] == [True, False]
    assert store.get_day(D) == done
    assert store.list_days(D, D)[0].overrides == (GAP, UNUSED)
    rerun = store.claim_day(D, "run-b")
    assert rerun.overrides == () and store.get_day(D).overrides == ()
    assert store.mark_succeeded(D, "run-b", {}).overrides == ()
    assert store.get_day(D).overrides == ()


def test_mark_failed_records_no_overrides(store):
    store.claim_day(D, "run-a")
    assert store.mark_failed(D, "run-a", "checks: boom").overrides == ()
    assert store.get_day(D).overrides == ()


@pytest.mark.parametrize(
    "overrides",
    [
        [GAP, GAP],  # the same check twice
        [CheckOverride("reconciliation_gap", 1, "", " ", "alice")],  # no reason
        [CheckOverride("reconciliation_gap", 1, "", "why", "")],  # nobody
        [CheckOverride("reconciliation_gap", -1, "", "why", "alice")],
        [CheckOverride("reconciliation_gap", True, "", "why", "alice")],
        [{"check": "reconciliation_gap"}],
    ],
)
def test_invalid_overrides_are_rejected_without_writing(store, overrides):
    store.claim_day(D, "run-a")
    with pytest.raises((ValueError, TypeError)):
        store.mark_succeeded(D, "run-a", {}, overrides=overrides)
    assert store.get_day(D).status is DayStatus.RUNNING


def test_mark_failed_round_trips_error(store, clock):
    store.claim_day(D, "run-a")
    clock.advance(3)
    message = 'GlueJobError: job wistia-silver failed — ünïcödé "quoted"\nline 2'
    failed = store.mark_failed(D, "run-a", message)
    assert failed.status is DayStatus.FAILED
    assert failed.error == message
    assert failed.finished_at == clock.now
    assert failed.counts == {}
    assert store.get_day(D) == failed


def test_long_error_is_truncated_with_a_mark(store):
    store.claim_day(D, "run-a")
    message = "Traceback line\n" * 5000
    failed = store.mark_failed(D, "run-a", message)
    assert len(failed.error) <= MAX_ERROR_CHARS
    assert len(failed.error) > MAX_ERROR_CHARS - 40
    kept, mark = failed.error.rsplit("...[truncated ", 1)
    assert message.startswith(kept)
    assert mark == f"{len(message) - len(kept)} chars]"
    assert store.get_day(D).error == failed.error


def test_double_claim_by_another_run_is_rejected_naming_the_holder(store, clock):
    held = store.claim_day(D, "run-a", lease_seconds=3600)
    clock.advance(3600)  # exactly at expiry the lease still holds
    with pytest.raises(DayAlreadyClaimed, match="run-a") as info:
        store.claim_day(D, "run-b")
    assert info.value.holder == held
    assert info.value.day == D
    assert "2026-03-09" in str(info.value)
    assert store.get_day(D) == held


def test_same_run_retry_reclaims_with_next_attempt_and_new_lease(store, clock):
    store.claim_day(D, "run-a", lease_seconds=60)
    clock.advance(30)
    retry = store.claim_day(D, "run-a", lease_seconds=60)
    assert retry.status is DayStatus.RUNNING
    assert retry.attempt == 2
    assert retry.started_at == clock.now
    assert retry.lease_expires_at == clock.now + timedelta(seconds=60)
    assert store.get_day(D) == retry


def test_expired_lease_is_taken_over_and_the_old_run_cannot_finish(make_store, clock):
    worker_a, worker_b = make_store(clock), make_store(clock)
    worker_a.claim_day(D, "run-a", lease_seconds=60)
    clock.advance(60.001)
    taken = worker_b.claim_day(D, "run-b", lease_seconds=60)
    assert (taken.run_id, taken.attempt, taken.status) == ("run-b", 2, DayStatus.RUNNING)
    with pytest.raises(NotClaimedByRun, match="run-b") as info:
        worker_a.mark_succeeded(D, "run-a", {"events": 1})
    assert info.value.current == taken
    with pytest.raises(NotClaimedByRun):
        worker_a.mark_failed(D, "run-a", "late failure")
    assert worker_b.mark_succeeded(D, "run-b", {"events": 2}).counts == {"events": 2}


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
def test_rerun_after_finished_day_resets_the_record(store, clock, outcome):
    store.claim_day(D, "run-a")
    if outcome == "succeeded":
        store.mark_succeeded(D, "run-a", {"events": 10})
    else:
        store.mark_failed(D, "run-a", "boom")
    clock.advance(86400 * 30)
    rerun = store.claim_day(D, "backfill-b")
    assert rerun.status is DayStatus.RUNNING
    assert rerun.run_id == "backfill-b"
    assert rerun.attempt == 2
    assert (rerun.finished_at, rerun.counts, rerun.error) == (None, {}, None)
    # the same run id may also rerun a finished day (Airflow "clear task")
    store.mark_failed(D, "backfill-b", "again")
    assert store.claim_day(D, "backfill-b").attempt == 3


def test_mark_by_wrong_run_or_unclaimed_day_is_rejected(store):
    with pytest.raises(NotClaimedByRun, match="no record"):
        store.mark_succeeded(D, "run-a", {})
    with pytest.raises(NotClaimedByRun, match="no record"):
        store.mark_failed(D, "run-a", "x")
    assert store.get_day(D) is None
    held = store.claim_day(D, "run-a")
    with pytest.raises(NotClaimedByRun, match="RUNNING by run 'run-a'"):
        store.mark_succeeded(D, "run-b", {"events": 1})
    with pytest.raises(NotClaimedByRun):
        store.mark_failed(D, "run-b", "x")
    assert store.get_day(D) == held


def test_finished_day_cannot_be_marked_again(store):
    store.claim_day(D, "run-a")
    done = store.mark_succeeded(D, "run-a", {"events": 5})
    with pytest.raises(NotClaimedByRun, match="SUCCEEDED"):
        store.mark_failed(D, "run-a", "late")
    with pytest.raises(NotClaimedByRun):
        store.mark_succeeded(D, "run-a", {"events": 6})
    assert store.get_day(D) == done


@pytest.mark.parametrize(
    "counts", [{"events": True}, {"events": 1.5}, {"events": "3"}, {"": 1}, {1: 1}]
)
def test_invalid_counts_are_rejected_without_writing(store, counts):
    held = store.claim_day(D, "run-a")
    with pytest.raises(ValueError, match="counts"):
        store.mark_succeeded(D, "run-a", counts)
    assert store.get_day(D) == held


def test_invalid_arguments_are_rejected(store):
    with pytest.raises(TypeError):
        store.claim_day(datetime(2026, 3, 9), "run-a")
    with pytest.raises(ValueError, match="run_id"):
        store.claim_day(D, " ")
    with pytest.raises(ValueError, match="lease_seconds"):
        store.claim_day(D, "run-a", lease_seconds=0)
    with pytest.raises(ValueError, match="after end"):
        store.list_days(D, D - timedelta(days=1))
    assert store.get_day(D) is None


def test_watermark_moves_only_forward(store):
    assert store.get_watermark() is None
    assert store.advance_watermark(D, "run-a") is True
    assert store.get_watermark() == D
    assert store.advance_watermark(D, "run-b") is False
    assert store.advance_watermark(D - timedelta(days=1), "run-c") is False
    assert store.get_watermark() == D
    assert store.advance_watermark(D + timedelta(days=5), "run-d") is True
    assert store.advance_watermark(D + timedelta(days=4), "run-e") is False
    assert store.get_watermark() == D + timedelta(days=5)


def test_watermark_is_separate_from_day_records(store):
    store.advance_watermark(D, "run-a")
    assert store.list_days(D - timedelta(days=3), D + timedelta(days=3)) == []
    store.claim_day(D, "run-a")
    assert store.get_watermark() == D


def test_list_days_is_inclusive_and_ordered(store):
    days = [D + timedelta(days=n) for n in (5, 0, 3, 9, 1)]
    for n, day in enumerate(days):
        store.claim_day(day, f"run-{n}")
    store.mark_succeeded(days[1], "run-1", {"events": 1})
    listed = store.list_days(D, D + timedelta(days=5))
    assert [run.day for run in listed] == [D + timedelta(days=n) for n in (0, 1, 3, 5)]
    assert listed[0].status is DayStatus.SUCCEEDED
    assert [run.day for run in store.list_days(D + timedelta(days=9), D + timedelta(days=9))] == [
        D + timedelta(days=9)
    ]
    assert store.list_days(D + timedelta(days=10), D + timedelta(days=40)) == []


def test_list_days_over_a_long_range(store):
    start = date(2025, 1, 1)
    wanted = [start + timedelta(days=n) for n in (0, 99, 100, 101, 250, 400)]
    for day in reversed(wanted):
        store.claim_day(day, "backfill")
    listed = store.list_days(start, start + timedelta(days=400))
    assert [run.day for run in listed] == wanted


def test_concurrent_claims_from_threads_have_exactly_one_winner(make_racing_store):
    workers = 8
    stores = [make_racing_store() for _ in range(workers)]
    barrier = threading.Barrier(workers)

    def attempt(i: int) -> str | None:
        barrier.wait(timeout=30)
        try:
            return stores[i].claim_day(D, f"run-{i}").run_id
        except DayAlreadyClaimed:
            return None

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(attempt, range(workers)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    final = stores[0].get_day(D)
    assert (final.run_id, final.attempt, final.status) == (winners[0], 1, DayStatus.RUNNING)


def test_concurrent_watermark_advances_end_at_the_maximum(make_racing_store):
    workers = 8
    stores = [make_racing_store() for _ in range(workers)]
    barrier = threading.Barrier(workers)
    days = [D + timedelta(days=n) for n in (3, 7, 1, 6, 0, 2, 5, 4)]

    def advance(i: int) -> bool:
        barrier.wait(timeout=30)
        return stores[i].advance_watermark(days[i], f"run-{i}")

    with ThreadPoolExecutor(workers) as pool:
        moved = list(pool.map(advance, range(workers)))
    assert stores[0].get_watermark() == max(days)
    assert moved[days.index(max(days))] is True  # the maximum always lands
    assert 1 <= sum(moved) <= workers
