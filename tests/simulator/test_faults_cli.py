"""The CLI process (via the shared ``simulator_factory``): rate limit, faults, late events,
plan restrictions, latency, throughput."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sim_support import client, flags


@pytest.fixture
def sim(simulator_factory):
    def start(**overrides):
        return client(simulator_factory(**flags(**overrides)))

    return start


def test_rate_limit_answers_429_with_integer_retry_after(sim) -> None:
    s = sim(rate_limit=30)  # 0.5 requests/s, bucket of 5
    statuses = [s.get("/medias") for _ in range(12)]
    codes = [r.status_code for r in statuses]
    assert codes[:5] == [200] * 5 and codes.count(429) >= 6
    limited = next(r for r in statuses if r.status_code == 429)
    retry_after = limited.headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1
    assert limited.json()["error"]
    time.sleep(int(retry_after))
    assert s.get("/medias").status_code == 200
    assert s.admin("GET", "requests")["by_status"]["429"] == codes.count(429)


def test_analytics_forbidden_plan(sim) -> None:
    s = sim(analytics_forbidden=True)
    hashed = s.get("/medias").json()[0]["hashed_id"]
    resp = s.get(
        f"/analytics/medias/{hashed}/timeseries",
        start_date="2026-03-01",
        end_date="2026-03-02",
        granularity="daily",
    )
    assert resp.status_code == 403 and resp.json()["error"]
    assert s.get(f"/stats/medias/{hashed}/by_date").status_code == 200


def test_server_errors_storms_and_truncation(sim) -> None:
    s = sim(fault_5xx_rate=1.0)
    codes = Counter()
    for _ in range(30):
        resp = s.get("/stats/events")
        codes[resp.status_code] += 1
        assert resp.json()["error"]
        if resp.status_code == 503:
            assert resp.headers["Retry-After"] == "1"
    assert set(codes) == {500, 502, 503}
    assert s.admin("GET", "health")["status"] == "ok"  # admin is never faulted

    s.admin(
        "POST",
        "faults",
        json={"fault_5xx_rate": 0, "fault_429_storm_every": 3, "fault_429_storm_length": 2},
    )
    pattern = [s.get("/medias").status_code for _ in range(10)]
    assert pattern == [200, 200, 200, 429, 429] * 2
    assert s.get("/medias").status_code == 200  # the cycle goes on: position 10 is a 200
    s.admin("POST", "faults", json={"fault_429_storm_every": 0, "fault_truncate_rate": 1.0})
    cut = s.get("/medias")
    assert cut.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.text)
    s.admin("POST", "faults", json={"fault_truncate_rate": 0.0})
    assert len(s.get("/medias").json()) == 10


def test_storm_429_carries_retry_after(sim) -> None:
    s = sim(fault_429_storm_every=1, fault_429_storm_length=1)
    assert s.get("/medias").status_code == 200
    storm = s.get("/medias")
    assert storm.status_code == 429 and storm.headers["Retry-After"] == "1"


def test_slow_faults_and_latency(sim) -> None:
    s = sim(fault_slow_rate=1.0, fault_slow_ms=300, latency_ms=100)
    t0 = time.perf_counter()
    assert s.get("/medias").status_code == 200
    assert time.perf_counter() - t0 >= 0.4


def test_page_overlap_repeats_last_records(sim) -> None:
    s = sim(fault_page_overlap=3)
    truth = [e["event_key"] for e in s.admin("GET", "dataset", params={"kind": "events"})]
    pages, page = [], 1
    while True:
        batch = [e["event_key"] for e in s.get("/stats/events", per_page=100, page=page).json()]
        pages.append(batch)
        if len(batch) < 100:
            break
        page += 1
    for prev, cur in itertools.pairwise(pages):
        if cur:
            assert cur[:3] == prev[-3:]
    seen = [k for p in pages for k in p]
    assert len(seen) > len(set(seen)) and set(seen) == set(truth)
    assert len(pages[-1]) < 100


def test_late_events_hidden_until_released(sim) -> None:
    s = sim(late_event_share=0.25)
    truth = s.admin("GET", "dataset", params={"kind": "events"})
    late = {e["event_key"] for e in truth if e["late"]}
    assert late and not any(e["released"] for e in truth)

    def listed() -> set[str]:
        keys, page = set(), 1
        while batch := s.get("/stats/events", per_page=100, page=page).json():
            keys |= {e["event_key"] for e in batch}
            page += 1
        return keys

    before = listed()
    assert before == {e["event_key"] for e in truth} - late
    one_late = next(iter(late))
    assert s.get(f"/stats/events/{one_late}").status_code == 404
    media = next(e for e in truth if e["late"])
    by_date = s.get(
        f"/stats/medias/{media['media_id']}/by_date", start_date="2026-03-01", end_date="2026-03-04"
    ).json()
    expected = Counter(e["received_at"][:10] for e in truth if e["media_id"] == media["media_id"])
    assert {r["date"]: r["play_count"] for r in by_date} == {
        d: expected.get(d, 0) for d in ("2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04")
    }
    s.admin("POST", "release-late-events")
    assert listed() == {e["event_key"] for e in truth}
    assert s.get(f"/stats/events/{one_late}").status_code == 200
    released = s.admin("GET", "dataset", params={"kind": "events"})
    assert {e["event_key"] for e in released if e["released"]} == late


def test_cli_rejects_bad_flags() -> None:
    for bad in (["--fault-5xx-rate", "2"], ["--rate-limit", "-1"], ["--start-date", "2026-13-01"]):
        proc = subprocess.run(
            [sys.executable, "-m", "wistia_simulator", "--token", "t", "--port", "0", *bad],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2, bad
        assert "error" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "wistia_simulator", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "--token" in proc.stderr


def test_throughput_with_full_event_pages(sim) -> None:
    s = sim(events_per_day=5000, warm=True)
    pages = list(range(1, 201))

    def fetch(page: int) -> int:
        resp = s.session.get(
            f"{s.url}/stats/events",
            params={"per_page": 100, "page": page},
            headers={"Authorization": f"Bearer {s.token}"},
            timeout=30,
        )
        assert len(resp.json()) == 100
        return resp.status_code

    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(fetch, pages))
    rate = len(pages) / (time.perf_counter() - t0)
    print(f"simulator throughput: {rate:.0f} requests/s with 100-event pages")
    assert codes == [200] * len(pages)
    assert rate >= 50, f"only {rate:.0f} requests/s"
