"""Range claims (a run covering data days [D1, D2]) against both backends: every day or none."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest

from wistia_pipeline.state import DayAlreadyClaimed, DayStatus

D1 = date(2026, 3, 1)
D2 = date(2026, 3, 5)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_claim_range_claims_every_day_with_one_lease(store, clock):
    runs = store.claim_range(D1, D2, "range-a", lease_seconds=600, guard_days=2)
    assert [r.day for r in runs] == _days(D1, D2)
    for run in store.list_days(D1 - timedelta(days=5), D2 + timedelta(days=5)):
        assert (run.status, run.run_id, run.attempt) == (DayStatus.RUNNING, "range-a", 1)
        assert run.lease_expires_at == clock.now + timedelta(seconds=600)
    assert len(store.list_days(D1 - timedelta(days=5), D2 + timedelta(days=5))) == 5


def test_claim_range_increments_the_attempt_of_earlier_records(store):
    store.claim_day(D1, "old")
    store.mark_succeeded(D1, "old", {"x": 1})
    runs = store.claim_range(D1, D2, "range-a")
    assert [r.attempt for r in runs] == [2, 1, 1, 1, 1]
    assert store.get_day(D1).counts == {}


@pytest.mark.parametrize(
    "held", [D1 - timedelta(days=2), D1 + timedelta(days=2), D2 + timedelta(days=2)]
)
def test_claim_range_refused_by_a_live_run_in_the_guard_band_writes_nothing(store, held):
    store.claim_day(held, "other", lease_seconds=600)
    before = store.list_days(D1 - timedelta(days=5), D2 + timedelta(days=5))
    with pytest.raises(DayAlreadyClaimed) as refused:
        store.claim_range(D1, D2, "range-a", guard_days=2)
    assert refused.value.holder is not None and refused.value.holder.run_id == "other"
    assert store.list_days(D1 - timedelta(days=5), D2 + timedelta(days=5)) == before


def test_claim_range_ignores_runs_outside_the_band_and_lapsed_or_finished_ones(store, clock):
    store.claim_day(D1 - timedelta(days=3), "far", lease_seconds=600)  # outside D1 - 2
    store.claim_day(D2 + timedelta(days=1), "done", lease_seconds=600)
    store.mark_failed(D2 + timedelta(days=1), "done", "boom")
    store.claim_day(D2 + timedelta(days=2), "crashed", lease_seconds=60)
    clock.advance(61)
    runs = store.claim_range(D1, D2, "range-a", guard_days=2)
    assert {r.run_id for r in runs} == {"range-a"}


def test_claim_range_is_retry_safe_for_the_same_run(store):
    store.claim_range(D1, D2, "range-a", guard_days=2)
    again = store.claim_range(D1, D2, "range-a", guard_days=2)
    assert [r.attempt for r in again] == [2] * 5


def test_claim_range_argument_checks(store):
    with pytest.raises(ValueError):
        store.claim_range(D2, D1, "r")
    with pytest.raises(ValueError):
        store.claim_range(D1, D2, "r", guard_days=-1)
    with pytest.raises(ValueError, match="at most 100"):
        store.claim_range(D1, D1 + timedelta(days=40), "r", guard_days=30)


def test_concurrent_overlapping_range_claims_have_exactly_one_winner(make_racing_store):
    """Ranges that overlap through the guard band (not through their days) still exclude each
    other: the check and the claim are one write."""
    workers = 4
    stores = [make_racing_store() for _ in range(workers)]
    barrier = threading.Barrier(workers)
    # consecutive 3-day ranges, 1 guard day: every neighbour pair conflicts
    ranges = [(D1 + timedelta(days=3 * i), D1 + timedelta(days=3 * i + 2)) for i in range(workers)]

    def attempt(i: int) -> int | None:
        barrier.wait(timeout=30)
        try:
            stores[i].claim_range(*ranges[i], f"run-{i}", guard_days=1)
            return i
        except DayAlreadyClaimed:
            return None

    with ThreadPoolExecutor(workers) as pool:
        winners = [i for i in pool.map(attempt, range(workers)) if i is not None]
    assert winners
    assert all(abs(a - b) > 1 for a in winners for b in winners if a != b)
    for i in winners:
        held = stores[0].list_days(*ranges[i])
        assert [r.run_id for r in held] == [f"run-{i}"] * 3
