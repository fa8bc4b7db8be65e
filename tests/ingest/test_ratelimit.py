"""The client-side token bucket: pacing, sharing across threads, priorities, pause, deadline."""

from __future__ import annotations

import threading
import time

import pytest

from wistia_pipeline.errors import RateLimitTimeout
from wistia_pipeline.ratelimit import PRIORITY_CHAIN, PRIORITY_INDEPENDENT, TokenBucket


def test_paces_to_the_rate():
    bucket = TokenBucket(600)  # 10/s, burst 1: the first is free, then one every 0.1 s
    start = time.monotonic()
    for _ in range(11):
        bucket.acquire()
    elapsed = time.monotonic() - start
    assert 0.95 <= elapsed < 3.0


def test_shared_by_threads_never_exceeds_rate():
    bucket = TokenBucket(1200)  # 20/s
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(6):
            bucket.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stamps) == 24
    # 24 grants at 20/s with a burst of 1 need at least 23/20 s
    assert time.monotonic() - start >= 23 / 20 - 0.05
    stamps.sort()
    # any one-second span holds at most 20 grants (+1 for the initial burst token)
    for i, t0 in enumerate(stamps):
        assert sum(1 for t in stamps[i:] if t - t0 < 1.0) <= 21


def test_chains_are_served_before_independent_requests():
    bucket = TokenBucket(300)  # one token per 0.2 s
    bucket.acquire()
    order: list[str] = []

    def take(name: str, priority: int) -> None:
        bucket.acquire(priority=priority)
        order.append(name)

    low = [threading.Thread(target=take, args=(f"low{i}", PRIORITY_INDEPENDENT)) for i in range(2)]
    for t in low:
        t.start()
    time.sleep(0.05)
    high = threading.Thread(target=take, args=("high", PRIORITY_CHAIN))
    high.start()
    for t in [*low, high]:
        t.join()
    assert order[0] == "high"
    assert sorted(order[1:]) == ["low0", "low1"]


def test_pause_holds_back_every_thread():
    bucket = TokenBucket(60_000)
    bucket.acquire()
    bucket.pause(0.4)
    start = time.monotonic()
    bucket.acquire()
    assert time.monotonic() - start >= 0.38
    # a shorter pause never shortens a longer one
    bucket.pause(0.3)
    bucket.pause(0.05)
    start = time.monotonic()
    bucket.acquire()
    assert time.monotonic() - start >= 0.28


def test_deadline_raises_and_frees_the_queue():
    bucket = TokenBucket(6)  # one token per 10 s
    bucket.acquire()
    start = time.monotonic()
    with pytest.raises(RateLimitTimeout):
        bucket.acquire(deadline=time.monotonic() + 0.2)
    assert 0.15 <= time.monotonic() - start < 1.0
    assert bucket._waiters == []


@pytest.mark.parametrize("kwargs", [{"rate_per_minute": 0}, {"rate_per_minute": 10, "burst": 0}])
def test_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        TokenBucket(**kwargs)


def test_burst_absorbs_late_wakeups_but_bounds_any_span():
    bucket = TokenBucket(1200)  # 20/s, default burst: one second's worth
    bucket.acquire()
    time.sleep(0.5)  # idle: up to ~10 tokens accrue
    start = time.monotonic()
    for _ in range(10):
        bucket.acquire()
    assert time.monotonic() - start < 0.3  # served from the accrued tokens
    start = time.monotonic()
    for _ in range(10):
        bucket.acquire()
    assert time.monotonic() - start >= 0.4  # then paced again at 20/s
