"""The Wistia client over real HTTP (a scripted loopback server): headers, retries, typed errors,
bounded attempts and deadline, pagination."""

from __future__ import annotations

import email.utils
import time

import pytest

from tests.ingest.conftest import Step
from wistia_pipeline.client import RetryPolicy, WistiaClient, parse_retry_after
from wistia_pipeline.errors import (
    WistiaAuthError,
    WistiaForbiddenError,
    WistiaHTTPError,
    WistiaNotFoundError,
    WistiaRetryError,
    WistiaValidationError,
)

TOKEN = "client-test-token-91f3"
FAST = RetryPolicy(backoff_base_s=0.01, backoff_cap_s=0.05)


def make_client(url: str, **kwargs) -> WistiaClient:
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("rate_limit_per_minute", 60_000)
    return WistiaClient(url, TOKEN, **kwargs)


def test_sends_version_header_bearer_token_and_params(scripted):
    scripted.script(Step(body=[{"hashed_id": "abc"}]))
    with make_client(scripted.url) as client:
        page = client.get_list("/medias", {"page": 2, "per_page": 100})
    assert page.body == [{"hashed_id": "abc"}]
    assert page.path == "/medias?page=2&per_page=100"
    assert page.fetched_at.endswith("Z")
    (req,) = scripted.requests
    assert req["path"] == "/modern/medias?page=2&per_page=100"
    assert req["headers"]["X-Wistia-Api-Version"] == "2026-03"
    assert req["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(client)


def test_5xx_then_success_is_retried_and_counted(scripted):
    scripted.script(
        Step(500, {"error": "Internal server error"}),
        Step(502, {"error": "bad gateway"}),
        Step(504, {}),
        Step(body=[1, 2]),
    )
    with make_client(scripted.url) as client:
        page = client.get("/stats/events")
    assert page.body == [1, 2]
    assert len(scripted.requests) == 4
    assert client.stats.requests == 4
    assert client.stats.retries == 3
    assert client.stats.pages == 1
    assert client.stats.by_status == {"500": 1, "502": 1, "504": 1, "200": 1}


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(scripted, status):
    scripted.script(Step(status, {"error": "Rate limit exceeded"}, {"Retry-After": "1"}), Step())
    with make_client(scripted.url) as client:
        client.get("/medias")
        assert client.stats.retries == 1
        assert client.stats.throttled == (1 if status == 429 else 0)
    first, second = scripted.times
    assert second - first >= 0.95


def test_retry_after_pauses_other_threads_too(scripted):
    from concurrent.futures import ThreadPoolExecutor

    scripted.script(Step(429, {"error": "slow down"}, {"Retry-After": "1"}), Step(body=[]))
    with make_client(scripted.url) as client:
        client.get("/a")  # 429 then 200 (the pause is set by the 429)
        start = time.monotonic()
        scripted.script(Step(429, {"error": "slow down"}, {"Retry-After": "1"}), Step(body=[]))
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(client.get, "/b")
            time.sleep(0.2)  # the 429 has arrived: the other thread must wait for the pause
            second = pool.submit(client.get, "/c")
            first.result()
            second.result()
    assert time.monotonic() - start >= 0.95
    assert all(t - scripted.times[0] >= 0.9 for t in scripted.times[1:])


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (401, WistiaAuthError),
        (403, WistiaForbiddenError),
        (404, WistiaNotFoundError),
        (422, WistiaValidationError),
        (400, WistiaHTTPError),
    ],
)
def test_client_errors_are_typed_and_not_retried(scripted, status, error_type):
    scripted.script(Step(status, {"error": f"wistia says {status}"}))
    with make_client(scripted.url) as client, pytest.raises(error_type) as info:
        client.get("/stats/medias/xyz/by_date", {"start_date": "2026-03-01"})
    err = info.value
    assert len(scripted.requests) == 1
    assert err.status == status
    assert err.error_message == f"wistia says {status}"
    assert err.path == "/stats/medias/xyz/by_date?start_date=2026-03-01"
    assert f"wistia says {status}" in str(err) and err.path in str(err)
    assert TOKEN not in str(err) and TOKEN not in repr(err)


@pytest.mark.parametrize(
    "bad",
    [
        Step(raw=b'[{"event_key": "a"'),  # malformed JSON with a correct length
        Step(raw=b'[{"event_key": "a"}]', action="truncate"),  # fewer bytes than declared
        Step(action="reset"),  # connection reset without an answer
    ],
    ids=["malformed-json", "truncated", "reset"],
)
def test_transport_and_body_failures_are_retried(scripted, bad):
    scripted.script(bad, Step(body=[{"event_key": "a"}]))
    with make_client(scripted.url) as client:
        page = client.get("/stats/events")
    assert page.body == [{"event_key": "a"}]
    assert client.stats.retries == 1
    assert len(scripted.requests) == 2


def test_read_timeout_is_retried(scripted):
    scripted.script(Step(action="sleep", delay_s=0.6, body=[0]), Step(body=[1]))
    with make_client(scripted.url, read_timeout_s=0.2) as client:
        page = client.get("/stats/events")
    assert page.body == [1]
    assert client.stats.retries == 1
    assert client.stats.by_status["ReadTimeout"] == 1


def test_attempts_are_bounded(scripted):
    scripted.script(Step(500, {"error": "boom"}))
    policy = RetryPolicy(max_attempts=3, backoff_base_s=0.01, backoff_cap_s=0.02)
    with make_client(scripted.url, retry=policy) as client, pytest.raises(WistiaRetryError) as info:
        client.get("/medias")
    assert len(scripted.requests) == 3
    assert info.value.attempts == 3
    assert "HTTP 500" in str(info.value)


def test_deadline_bounds_a_call(scripted):
    scripted.script(Step(429, {"error": "Rate limit exceeded"}, {"Retry-After": "5"}))
    policy = RetryPolicy(request_deadline_s=1.0)
    start = time.monotonic()
    with make_client(scripted.url, retry=policy) as client, pytest.raises(WistiaRetryError) as info:
        client.get("/medias")
    assert time.monotonic() - start < 1.0
    assert "deadline" in str(info.value)
    assert len(scripted.requests) == 1


def test_client_deadline_bounds_every_call(scripted):
    scripted.script(Step(500, {"error": "boom"}))
    policy = RetryPolicy(max_attempts=1000, backoff_base_s=0.05, backoff_cap_s=0.1)
    client = make_client(scripted.url, retry=policy, deadline=time.monotonic() + 0.5)
    start = time.monotonic()
    with client, pytest.raises(WistiaRetryError):
        client.get("/medias")
    assert time.monotonic() - start < 1.0


def test_list_endpoint_answering_an_object_is_an_error(scripted):
    scripted.script(Step(body={"not": "a list"}))
    with make_client(scripted.url) as client, pytest.raises(Exception, match="expected a JSON"):
        client.get_list("/medias")


@pytest.mark.parametrize(("sizes", "expected_requests"), [([100, 100, 37], 3), ([100, 0], 2)])
def test_pagination_until_short_page(scripted, sizes, expected_requests):
    scripted.script(*[Step(body=list(range(n))) for n in sizes], Step(500, {"error": "past end"}))
    with make_client(scripted.url) as client:
        pages = list(client.iter_pages("/stats/visitors"))
    assert [len(p.body) for p in pages] == sizes
    assert len(scripted.requests) == expected_requests
    assert [r["path"].split("?")[1] for r in scripted.requests] == [
        f"page={i}&per_page=100" for i in range(1, expected_requests + 1)
    ]


def test_pagination_max_pages(scripted):
    scripted.script(Step(body=list(range(100))))
    with make_client(scripted.url) as client:
        pages = list(client.iter_pages("/stats/visitors", max_pages=2))
    assert len(pages) == 2 and len(scripted.requests) == 2


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = time.time()
    http_date = email.utils.formatdate(now + 10, usegmt=True)
    assert 8.0 <= parse_retry_after(http_date, now=now) <= 10.5


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:  # bound then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_api_error_names_host_and_cause():
    port = _closed_port()
    policy = RetryPolicy(max_attempts=2, backoff_base_s=0.01, backoff_cap_s=0.02)
    client = make_client(f"http://127.0.0.1:{port}/modern", retry=policy)
    with client, pytest.raises(WistiaRetryError) as info:
        client.get("/medias")
    message = str(info.value)
    assert f"ConnectionError reaching 127.0.0.1:{port}: " in message
    assert "Connection refused" in message
    assert "HTTPConnection" not in message and "Max retries" not in message
    assert TOKEN not in message


def test_unknown_host_error_names_the_host():
    policy = RetryPolicy(max_attempts=1)
    client = make_client("http://user:secret@no-such-host.invalid/modern", retry=policy)
    with client, pytest.raises(WistiaRetryError) as info:
        client.get("/medias")
    message = str(info.value)
    assert "reaching no-such-host.invalid: " in message
    assert "no-such-host.invalid" in message.split(": ", 2)[-1]  # the resolver's own words
    assert "secret" not in message  # the URL's user info never reaches a message
