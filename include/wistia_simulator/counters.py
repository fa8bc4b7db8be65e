"""Counts of API requests per endpoint template and per status code (admin traffic excluded)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class RequestCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_endpoint: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()
        self._by_endpoint_status: dict[str, Counter[str]] = {}
        self._by_version: Counter[str] = Counter()
        self._total = 0

    def record(self, endpoint: str, status: int, version: str) -> None:
        with self._lock:
            self._total += 1
            self._by_endpoint[endpoint] += 1
            self._by_status[str(status)] += 1
            self._by_endpoint_status.setdefault(endpoint, Counter())[str(status)] += 1
            self._by_version[version] += 1

    def reset(self) -> None:
        with self._lock:
            self._by_endpoint.clear()
            self._by_status.clear()
            self._by_endpoint_status.clear()
            self._by_version.clear()
            self._total = 0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self._total,
                "by_endpoint": dict(self._by_endpoint),
                "by_status": dict(self._by_status),
                "by_endpoint_status": {k: dict(v) for k, v in self._by_endpoint_status.items()},
                "by_version": dict(self._by_version),
            }
