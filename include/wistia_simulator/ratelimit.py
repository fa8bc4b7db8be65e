"""Per-token rate limiting: a token bucket refilled at ``per_minute / 60`` tokens a second."""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    """``per_minute`` = 0 disables limiting. ``burst`` is the bucket size (default: 10 seconds
    of traffic, at least 1), so a client pacing itself at the limit never sees a 429."""

    def __init__(self, per_minute: int, burst: int | None = None) -> None:
        if per_minute < 0:
            raise ValueError(f"rate limit must be >= 0, got {per_minute}")
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else max(1, math.ceil(per_minute / 6)))
        if self.capacity < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> int:
        """Take one token for ``key``: 0 if allowed, else the whole seconds to wait (>= 1)."""
        if self.per_minute == 0:
            return 0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))
