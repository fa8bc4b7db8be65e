"""A thread-safe token bucket with priorities and a shared pause, for the Wistia client.

Priorities keep the sequential page chains (the critical path) ahead of independent requests;
``pause`` holds back every thread, because a ``429`` applies to the whole account. Sizing of the
burst and the reasons: docs/ingestion.md.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

from wistia_pipeline.errors import RateLimitTimeout

PRIORITY_FIRST = 0  # requests that other work waits for (the catalogue, events page hints)
PRIORITY_CHAIN = 5  # the next page of a sequential listing
PRIORITY_INDEPENDENT = 10  # everything else


class TokenBucket:
    """Token bucket shared by a client's threads: ``rate_per_minute``, bursts up to ``burst``
    (default one second's worth), served by priority (lower first, FIFO within one)."""

    def __init__(
        self,
        rate_per_minute: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError(f"rate_per_minute must be > 0, got {rate_per_minute}")
        if burst is None:
            burst = max(1.0, rate_per_minute / 60.0)
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        self.rate_per_minute = float(rate_per_minute)
        self._rate = self.rate_per_minute / 60.0
        self._capacity = float(burst)
        self._tokens = 1.0  # start nearly empty: no burst on top of a full first minute
        self._clock = clock
        self._updated = clock()
        self._paused_until = 0.0
        self._cond = threading.Condition()
        self._waiters: list[tuple[int, int]] = []
        self._seq = itertools.count()
        self.acquired = 0
        self.waited_s = 0.0

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now

    def acquire(self, priority: int = PRIORITY_INDEPENDENT, deadline: float | None = None) -> float:
        """Block until a token is granted; return the seconds waited.

        ``deadline`` is a ``clock()`` value; past it :class:`RateLimitTimeout` is raised.
        """
        start = self._clock()
        with self._cond:
            ticket = (priority, next(self._seq))
            heapq.heappush(self._waiters, ticket)
            try:
                while True:
                    now = self._clock()
                    self._refill(now)
                    wait: float | None = None
                    if self._waiters[0] == ticket:
                        if now >= self._paused_until and self._tokens >= 1.0:
                            self._tokens -= 1.0
                            heapq.heappop(self._waiters)
                            self.acquired += 1
                            waited = now - start
                            self.waited_s += waited
                            self._cond.notify_all()
                            return waited
                        wait = max(self._paused_until - now, (1.0 - self._tokens) / self._rate)
                    if deadline is not None:
                        left = deadline - now
                        if left <= 0:
                            raise RateLimitTimeout(
                                "rate limiter: no request slot before the deadline", path=""
                            )
                        wait = left if wait is None else min(wait, left)
                    self._cond.wait(wait)
            except BaseException:
                if ticket in self._waiters:
                    self._waiters.remove(ticket)
                    heapq.heapify(self._waiters)
                    self._cond.notify_all()
                raise

    def pause(self, seconds: float) -> None:
        """Hold back every acquirer for ``seconds`` from now (never shortens a longer pause)."""
        if seconds <= 0:
            return
        with self._cond:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            self._cond.notify_all()
