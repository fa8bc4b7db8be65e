"""The Wistia Data API client: the one HTTP client of the project (ingestion, Lambda, benchmarks).

Thread-safe, paced by a shared token bucket, retrying throttling and transient failures within
bounded attempts and time, raising typed errors for other 4xx. The retry rules and why:
docs/ingestion.md. The token lives only in the auth hook: never in a log line, error or ``repr``.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter

from wistia_pipeline.config import API_VERSION, Settings
from wistia_pipeline.dates import now_iso
from wistia_pipeline.errors import RateLimitTimeout, WistiaError, WistiaRetryError, http_error
from wistia_pipeline.ratelimit import PRIORITY_INDEPENDENT, TokenBucket

log = logging.getLogger(__name__)

PER_PAGE = 100
USER_AGENT = "wistia-mwaa-pipeline/0.1"


class _BearerAuth(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("an API token is required")
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(<redacted>)"


@dataclass
class CallStats:
    """Thread-safe counters; one per client (totals) and optionally one per stream."""

    requests: int = 0
    pages: int = 0
    retries: int = 0
    throttled: int = 0
    by_status: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record_attempt(self, status: int | str) -> None:
        with self._lock:
            self.requests += 1
            self.by_status[str(status)] += 1

    def record_retry(self, throttled: bool) -> None:
        with self._lock:
            self.retries += 1
            if throttled:
                self.throttled += 1

    def record_page(self) -> None:
        with self._lock:
            self.pages += 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "pages": self.pages,
                "retries": self.retries,
                "throttled": self.throttled,
                "by_status": dict(self.by_status),
            }


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8  # attempts that end in a 5xx / network / malformed-body failure
    max_throttled: int = 60  # 429 / 503 answers tolerated for one call
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    max_retry_after_s: float = 120.0
    request_deadline_s: float = 600.0  # total time for one call, retries included

    def backoff(self, failures: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(failures-1))]."""
        return random.uniform(
            0.0, min(self.backoff_cap_s, self.backoff_base_s * 2 ** (failures - 1))
        )


@dataclass(frozen=True)
class Page:
    """One successful response: its JSON body, the request path (with query) and fetch time."""

    body: Any
    path: str
    fetched_at: str


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None, throttled: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.throttled = throttled


@dataclass
class _CallBudget:
    """What one call has spent of its :class:`RetryPolicy`: attempts, failures, 429s."""

    policy: RetryPolicy
    deadline: float  # time.monotonic() value
    attempts: int = 0
    failures: int = 0
    throttled: int = 0

    def spend(self, exc: _Retryable) -> bool:
        """Count a retryable answer; True when no retry is left for its kind."""
        if exc.throttled:
            self.throttled += 1
            return self.throttled >= self.policy.max_throttled
        self.failures += 1
        return self.failures >= self.policy.max_attempts


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


# urllib3 prefixes its messages with the pool or connection (``HTTPConnectionPool(host='h',
# port=1): ``, ``<...HTTPConnection object at 0x..>: ``); the host is named separately.
_CONNECTION_PREFIX = re.compile(r"^(?:<[^>]*>|\w+\([^)]*\)):\s*")
_MAX_CAUSE_CHARS = 300


def _host(url: str) -> str:
    """``host[:port]`` of ``url``, never its user info."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


def network_failure(exc: Exception, url: str) -> str:
    """One line naming the exception, the host and the root cause of a transport failure.

    ``requests`` wraps urllib3's errors (``MaxRetryError`` -> ``NewConnectionError`` /
    ``NameResolutionError``); the innermost reason (connection refused, unknown host, timed
    out) is what tells an operator what to fix.
    """
    inner: object = exc.args[0] if exc.args else exc
    inner = getattr(inner, "reason", None) or inner  # MaxRetryError: the connection's error
    cause = _CONNECTION_PREFIX.sub("", str(inner)).strip() or type(inner).__name__
    return f"{type(exc).__name__} reaching {_host(url)}: {cause[:_MAX_CAUSE_CHARS]}"


def _error_message(resp: requests.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        text = resp.text.strip()
        return text[:200] or None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return None


class WistiaClient:
    """The Wistia API over one pooled session; thread-safe, share one per run (one rate limit)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        rate_limit_per_minute: float = 600,
        max_workers: int = 8,
        limiter: TokenBucket | None = None,
        retry: RetryPolicy | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        api_version: str = API_VERSION,
        deadline: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.max_workers = max_workers
        self.limiter = limiter or TokenBucket(rate_limit_per_minute)
        self.retry = retry or RetryPolicy()
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.deadline = deadline  # time.monotonic() value bounding every call, or None
        self.stats = CallStats()
        self._sleep = sleep
        self._session = requests.Session()
        self._session.auth = _BearerAuth(token)
        self._session.headers.update(
            {
                "X-Wistia-Api-Version": api_version,
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max_workers + 2, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> WistiaClient:
        kwargs: dict[str, Any] = {
            "rate_limit_per_minute": settings.rate_limit_per_minute,
            "max_workers": settings.max_workers,
        }
        kwargs.update(overrides)
        return cls(settings.api_url, settings.require_api_token(), **kwargs)

    def __repr__(self) -> str:
        return f"WistiaClient(base_url={self.base_url!r}, max_workers={self.max_workers})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> WistiaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- single call ---------------------------------------------------------------------------

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        stats: CallStats | None = None,
        priority: int = PRIORITY_INDEPENDENT,
    ) -> Page:
        """GET ``path`` (relative to the base URL) with retries; return the parsed body."""
        query = urlencode(list((params or {}).items()))
        rel = f"{path}?{query}" if query else path
        url = self.base_url + rel
        deadline = time.monotonic() + self.retry.request_deadline_s
        if self.deadline is not None:
            deadline = min(deadline, self.deadline)
        budget = _CallBudget(self.retry, deadline)
        while True:
            try:
                self.limiter.acquire(priority=priority, deadline=deadline)
            except RateLimitTimeout:
                raise WistiaRetryError(
                    rel, budget.attempts, "deadline reached waiting for the rate limiter"
                ) from None
            budget.attempts += 1
            try:
                page = self._attempt(url, rel, stats)
            except _Retryable as exc:
                self._wait_to_retry(rel, exc, budget, stats)
                continue
            for counter in self._counters(stats):
                counter.record_page()
            return page

    def _wait_to_retry(
        self, rel: str, exc: _Retryable, budget: _CallBudget, stats: CallStats | None
    ) -> None:
        """Raise when the call's retries or time are spent; else count the retry and wait."""
        if budget.spend(exc):
            raise WistiaRetryError(rel, budget.attempts, exc.reason) from None
        if exc.retry_after is not None:
            delay = min(exc.retry_after, self.retry.max_retry_after_s)
            # the limit is per account: hold back every thread of this client (the next
            # acquire waits the pause out)
            self.limiter.pause(delay)
        else:
            delay = self.retry.backoff(max(budget.failures, 1))
        if time.monotonic() + delay > budget.deadline:
            raise WistiaRetryError(
                rel, budget.attempts, f"{exc.reason}; deadline reached before next retry"
            ) from None
        for counter in self._counters(stats):
            counter.record_retry(exc.throttled)
        log.debug("retrying GET %s in %.2fs after: %s", rel, delay, exc.reason)
        if exc.retry_after is None:
            self._sleep(delay)

    def _counters(self, stats: CallStats | None) -> tuple[CallStats, ...]:
        """The client's counters and, when given, the caller's (e.g. one stream's)."""
        return (self.stats,) if stats is None else (self.stats, stats)

    def _attempt(self, url: str, rel: str, stats: CallStats | None) -> Page:
        try:
            resp = self._session.get(url, timeout=self.timeout)
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            # resets, refused connections, timeouts, bodies cut short or undecodable
            for counter in self._counters(stats):
                counter.record_attempt(type(exc).__name__)
            raise _Retryable(network_failure(exc, url)) from None
        for counter in self._counters(stats):
            counter.record_attempt(resp.status_code)
        status = resp.status_code
        if status in (429, 503):
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            raise _Retryable(f"HTTP {status}", retry_after=retry_after, throttled=status == 429)
        if status >= 500 or status == 408:
            raise _Retryable(f"HTTP {status}")
        if status >= 400:
            raise http_error(status, rel, _error_message(resp))
        if status != 200:
            raise WistiaError(f"Wistia API {status} for GET {rel}: unexpected status", path=rel)
        try:
            body = resp.json()
        except ValueError:
            raise _Retryable(f"malformed JSON body ({len(resp.content)} bytes)") from None
        return Page(body=body, path=rel, fetched_at=now_iso())

    # -- lists ---------------------------------------------------------------------------------

    def get_list(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        stats: CallStats | None = None,
        priority: int = PRIORITY_INDEPENDENT,
    ) -> Page:
        """Like :meth:`get` for endpoints that answer a bare JSON array."""
        page = self.get(path, params, stats=stats, priority=priority)
        if not isinstance(page.body, list):
            raise WistiaError(
                f"Wistia API GET {page.path}: expected a JSON array, got {type(page.body).__name__}",
                path=page.path,
            )
        return page

    def iter_pages(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        stats: CallStats | None = None,
        priority: int = PRIORITY_INDEPENDENT,
        max_pages: int | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Iterator[Page]:
        """Pages 1, 2, ... with ``per_page=100`` until a short or empty page (or ``max_pages``)."""
        page_no = 1
        while True:
            if should_stop is not None and should_stop():
                return
            page = self.get_list(
                path,
                {**(params or {}), "page": page_no, "per_page": PER_PAGE},
                stats=stats,
                priority=priority,
            )
            yield page
            if len(page.body) < PER_PAGE:
                return
            if max_pages is not None and page_no >= max_pages:
                return
            page_no += 1
