"""Ingestion of a day into bronze, over real HTTP against the Wistia simulator."""

from __future__ import annotations

import json
import logging
import time
from datetime import date, timedelta

import pytest

from tests.ingest.helpers import (
    client_for,
    expected_minimum,
    landed,
    list_pages,
    settings_for,
)
from wistia_pipeline import bronze
from wistia_pipeline.dates import days_between
from wistia_pipeline.errors import WistiaAuthError
from wistia_pipeline.ingest import (
    ALL_STREAMS,
    design_minimum_requests,
    events_request_days,
    ingest_day,
    list_requests,
    utc_date_of,
    visitors_requests,
)
from wistia_pipeline.storage import LocalStorage, open_storage

D = date(2026, 3, 5)
L = 2
WINDOW = days_between(D - timedelta(days=L), D)
SIM_DATA = {"seed": 7, "start_date": "2026-02-20", "end_date": "2026-03-10"}


def manifests(lake_dir) -> list:
    return sorted(lake_dir.rglob(bronze.MANIFEST_NAME))


def test_window_helpers():
    assert events_request_days(D, 0) == [date(2026, 3, 4), D, date(2026, 3, 6)]
    assert utc_date_of("2026-03-05T23:59:59Z") == D
    assert utc_date_of("2026-03-05T23:59:59.000Z") == D
    assert utc_date_of("2026-03-05T20:00:00-05:00") == date(2026, 3, 6)
    assert utc_date_of("yesterday") is None
    assert list_pages(0) == 1 and list_pages(99) == 1 and list_pages(100) == 2
    assert list_pages(199, overlap=1) == 3 and list_pages(198, overlap=1) == 2
    for n in (0, 1, 99, 100, 101, 250, 1000):
        for k in (0, 1, 7):
            assert list_requests(n, k) == list_pages(n, k)
    assert design_minimum_requests(250, 1000, [0, 100, 99], active_visitors=8) == {
        "medias": 3, "media_by_date": 250, "analytics": 250, "visitors": 9, "events": 4,
    }  # fmt: skip
    # the listing costs 11 requests: up to 11 active visitors are looked up, plus the probe
    assert [visitors_requests(1000, k) for k in (None, 0, 1, 2, 10, 11, 12, 5000)] == [
        11, 0, 1, 3, 11, 12, 12, 12,
    ]  # fmt: skip
    assert design_minimum_requests(9, 1000, [], streams=["visitors"]) == {
        "medias": 0, "media_by_date": 0, "analytics": 0, "visitors": 11, "events": 0,
    }  # fmt: skip
    with pytest.raises(ValueError, match="active_visitors is required"):
        design_minimum_requests(9, 1000, [5])
    assert design_minimum_requests(5, 10, [], streams=["analytics"], analytics_available=False) == {
        "medias": 1, "media_by_date": 0, "analytics": 1, "visitors": 0, "events": 0,
    }  # fmt: skip


@pytest.mark.timeout(240)
def test_acceptance_faults_exact_events_and_minimum_requests(simulator_factory, tmp_path):
    """10% 5xx, 429 storms and page-boundary duplicates: the 3-day window lands exactly the
    simulator's events, once each, and requests == design minimum + the client's retries."""
    sim = simulator_factory(
        **SIM_DATA,
        media_count=30,
        events_per_day=1200,
        visitor_count=700,
        rate_limit=0,
        fault_5xx_rate=0.1,
        fault_429_storm_every=60,
        fault_429_storm_length=4,
        fault_page_overlap=1,
    )
    lake = str(tmp_path / "lake")
    settings = settings_for(sim, lake)
    minimum = expected_minimum(sim, D, L, overlap=1)  # admin calls are not counted
    sim.admin("POST", "reset-requests")
    with client_for(settings) as client:
        summary = ingest_day(settings, D, L, list(ALL_STREAMS), "accept-1", client)
        retries = client.stats.retries
    counts = sim.admin("GET", "requests")

    # every event of the window exactly once, each under the UTC day of its received_at
    expected = sim.admin(
        "GET", "dataset",
        params={"kind": "events", "start_date": WINDOW[0].isoformat(), "end_date": D.isoformat()},
    )  # fmt: skip
    got = landed(lake, "events", WINDOW)
    assert sorted(got) == WINDOW
    keys = [line["record"]["event_key"] for lines in got.values() for line in lines]
    assert len(keys) == len(set(keys)), "an event landed twice"
    assert set(keys) == {e["event_key"] for e in expected}
    for dt, lines in got.items():
        assert all(utc_date_of(x["record"]["received_at"]) == dt for x in lines)
    assert summary["streams"]["events"]["records"] == len(expected)
    assert summary["streams"]["events"]["duplicates_dropped"] > 0  # overlap was really injected

    # the other streams are complete too
    by_date = sim.admin(
        "GET", "dataset",
        params={"kind": "media_by_date", "start_date": WINDOW[0].isoformat(),
                "end_date": D.isoformat()},
    )  # fmt: skip
    got_by_date = landed(lake, "media_by_date", WINDOW)
    assert sorted(
        (x["_ingest"]["media_id"], x["record"]["date"], x["record"]["play_count"])
        for lines in got_by_date.values() for x in lines
    ) == sorted((r["media_id"], r["date"], r["play_count"]) for r in by_date)  # fmt: skip
    medias = sim.admin("GET", "dataset", params={"kind": "medias"})
    got_medias = landed(lake, "medias", [D])[D]
    assert sorted(x["record"]["hashed_id"] for x in got_medias) == sorted(
        m["hashed_id"] for m in medias
    )
    visitors = sim.admin("GET", "dataset", params={"kind": "visitors"})
    got_visitors = landed(lake, "visitors", [D])[D]
    assert sorted(x["record"]["visitor_key"] for x in got_visitors) == sorted(
        v["visitor_key"] for v in visitors
    )
    assert sum(len(v) for v in landed(lake, "analytics", WINDOW).values()) == 3 * len(medias)

    # request economy: the minimum per endpoint (successful answers), plus the retries
    ok = {ep: c.get("200", 0) for ep, c in counts["by_endpoint_status"].items()}
    assert ok == dict(minimum)
    assert retries > 0 and counts["by_status"].get("429", 0) > 0
    assert counts["total"] == sum(minimum.values()) + retries
    assert summary["requests_total"] == counts["total"]
    for name in ALL_STREAMS:
        assert summary["streams"][name]["status"] == "ok"


def test_late_events_rerun_supersedes_and_empty_days_get_manifests(simulator_factory, tmp_path):
    sim = simulator_factory(
        **SIM_DATA, media_count=8, events_per_day=300, visitor_count=100, rate_limit=0,
        late_event_share=0.2,
    )  # fmt: skip
    lake = str(tmp_path / "lake")
    settings = settings_for(sim, lake)
    streams = ["events", "media_by_date"]
    with client_for(settings) as client:
        first = ingest_day(settings, D, L, streams, "run-a", client)
    window_params = {"kind": "events", "start_date": WINDOW[0].isoformat(),
                     "end_date": D.isoformat()}  # fmt: skip
    visible = {e["event_key"] for e in sim.admin("GET", "dataset", params=window_params)
               if not e["late"]}  # fmt: skip
    got_first = landed(lake, "events", WINDOW)
    assert {x["record"]["event_key"] for v in got_first.values() for x in v} == visible
    sim.admin("POST", "release-late-events")
    time.sleep(0.01)  # completed_at has millisecond resolution
    with client_for(settings) as client:
        second = ingest_day(settings, D, L, streams, "run-b", client)
    assert second["streams"]["events"]["records"] > first["streams"]["events"]["records"]
    got = landed(lake, "events", WINDOW)
    assert {lines[0]["_ingest"]["run_id"] for lines in got.values()} == {"run-b"}
    expected = sim.admin(
        "GET", "dataset",
        params={"kind": "events", "start_date": WINDOW[0].isoformat(), "end_date": D.isoformat()},
    )  # fmt: skip
    assert {x["record"]["event_key"] for v in got.values() for x in v} == {
        e["event_key"] for e in expected
    }

    # a window after the data ends: zero-record manifests for every window day
    later = date(2026, 3, 13)
    with client_for(settings) as client:
        summary = ingest_day(settings, later, 1, ["events"], "run-empty", client)
    assert summary["streams"]["events"]["records"] == 0
    storage = open_storage(lake)
    runs = bronze.select_complete_runs(
        storage, lake, "events", days_between(later - timedelta(1), later)
    )
    assert [(r.dt, r.manifest["record_count"], r.file_uris) for r in runs] == [
        (later - timedelta(1), 0, []),
        (later, 0, []),
    ]


def test_analytics_forbidden_is_unavailable_after_one_request(simulator_factory, tmp_path):
    sim = simulator_factory(
        **SIM_DATA, media_count=12, events_per_day=50, visitor_count=30, rate_limit=0,
        analytics_forbidden=True,
    )  # fmt: skip
    lake = tmp_path / "lake"
    settings = settings_for(sim, str(lake))
    with client_for(settings) as client:
        summary = ingest_day(settings, D, 0, list(ALL_STREAMS), "r1", client)
    analytics = summary["streams"]["analytics"]
    assert analytics["status"] == "unavailable"
    assert analytics["requests"] == 1 and analytics["bronze_uris"] == []
    assert sim.admin("GET", "requests")["by_endpoint"]["GET /analytics/medias/{id}/timeseries"] == 1
    assert summary["streams"]["media_by_date"]["status"] == "ok"
    assert not (lake / "bronze" / "wistia" / "analytics").exists()
    assert len(manifests(lake)) == 4  # medias, visitors, events D, media_by_date D


def test_skipped_streams_and_visitor_cap(simulator_factory, tmp_path):
    sim = simulator_factory(**SIM_DATA, media_count=5, events_per_day=200, visitor_count=450,
                            rate_limit=0)  # fmt: skip
    lake = tmp_path / "lake"
    settings = settings_for(sim, str(lake))
    with client_for(settings) as client:
        summary = ingest_day(settings, D, 0, ["visitors"], "cap", client, visitors_max_pages=2)
    visitors = summary["streams"]["visitors"]
    assert visitors["status"] == "ok" and visitors["truncated"] is True
    assert visitors["requests"] == 2 and visitors["records"] == 200
    assert {n: s["status"] for n, s in summary["streams"].items() if n != "visitors"} == {
        n: "skipped" for n in ALL_STREAMS if n != "visitors"
    }
    assert sim.admin("GET", "requests")["total"] == 2
    assert [m.parent.parent.parent.name for m in manifests(lake)] == ["visitors"]


def test_independent_requests_overlap(simulator_factory, tmp_path):
    """24 by_date requests at 100 ms latency take ~2.4 s one by one; the pool overlaps them."""
    sim = simulator_factory(**SIM_DATA, media_count=24, events_per_day=10, visitor_count=10,
                            rate_limit=0, latency_ms=100)  # fmt: skip
    settings = settings_for(sim, str(tmp_path / "lake"), WISTIA_MAX_WORKERS="8")
    with client_for(settings) as client:
        summary = ingest_day(settings, D, 1, ["media_by_date"], "par", client)
    assert summary["streams"]["media_by_date"]["requests"] == 24
    # one by one is >= 25 x 100 ms; 8 at a time is ~0.4 s (margin for a loaded machine)
    assert summary["fetch_s"] < 2.0


class FailingStorage(LocalStorage):
    """Fails the n-th part write (an injected storage failure mid-run)."""

    def __init__(self, fail_at: int) -> None:
        self.writes = 0
        self.fail_at = fail_at

    def write_bytes(self, uri: str, data: bytes) -> None:
        self.writes += 1
        if self.writes == self.fail_at:
            raise OSError(f"injected failure writing {uri}")
        super().write_bytes(uri, data)


def test_failure_leaves_no_manifest(simulator_factory, tmp_path):
    sim = simulator_factory(**SIM_DATA, media_count=6, events_per_day=400, visitor_count=50,
                            rate_limit=0)  # fmt: skip
    lake = tmp_path / "lake"
    settings = settings_for(sim, str(lake))
    storage = FailingStorage(fail_at=6)  # after some parts of some streams were written
    with client_for(settings) as client, pytest.raises(OSError, match="injected failure"):
        ingest_day(settings, D, L, list(ALL_STREAMS), "doomed", client, storage=storage)
    assert list(lake.rglob("part-*.ndjson.gz")), "the failure should strike mid-run"
    assert manifests(lake) == []
    for stream in ALL_STREAMS:
        assert bronze.select_complete_runs(LocalStorage(), str(lake), stream, WINDOW) == []

    # an API failure (bad token) stops the run before anything is written
    bad = settings_for(sim, str(lake))
    object.__setattr__(bad, "api_token", "wrong-token")
    with client_for(bad) as client, pytest.raises(WistiaAuthError) as info:
        ingest_day(bad, D, L, list(ALL_STREAMS), "unauthorised", client)
    assert "Invalid credentials" in str(info.value)
    assert "wrong-token" not in str(info.value)
    assert manifests(lake) == []


def test_token_never_logged(simulator_factory, tmp_path, caplog):
    sim = simulator_factory(**SIM_DATA, media_count=5, events_per_day=200, visitor_count=50,
                            rate_limit=0, fault_5xx_rate=0.2, fault_429_storm_every=10,
                            fault_429_storm_length=1, fault_truncate_rate=0.1)  # fmt: skip
    settings = settings_for(sim, str(tmp_path / "lake"))
    caplog.set_level(logging.DEBUG)  # root: urllib3, requests, ours
    with client_for(settings) as client:
        summary = ingest_day(settings, D, 1, list(ALL_STREAMS), "log-run", client)
        assert client.stats.retries > 0
    text = caplog.text + json.dumps(summary)
    assert "urllib3.connectionpool" in {r.name for r in caplog.records}  # urllib3 was captured
    assert any("retrying GET" in r.getMessage() for r in caplog.records)
    assert sim.token not in text
    assert all(sim.token not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"streams": ["events", "bogus"]}, "unknown stream"),
        ({"streams": []}, "at least one"),
        ({"streams": "events"}, "not a string"),
        ({"lookback_days": -1}, "lookback_days"),
        ({"run_id": ""}, "run_id"),
    ],
)
def test_ingest_day_validates_arguments(tmp_path, kwargs, message):
    settings = settings_for(type("S", (), {"url": "http://127.0.0.1:9", "token": "t"}),
                            str(tmp_path))  # fmt: skip
    args = {"streams": ["events"], "lookback_days": 0, "run_id": "r", **kwargs}
    with pytest.raises(ValueError, match=message):
        ingest_day(settings, D, args["lookback_days"], args["streams"], args["run_id"])


def test_events_page_hint_fetches_full_pages_concurrently(simulator_factory, tmp_path):
    """With by_date play counts as a hint, a day's surely-full pages are fetched in parallel:
    the minimum requests, the exact events, much faster than one sequential chain per day."""
    sim = simulator_factory(**SIM_DATA, media_count=10, events_per_day=3000, visitor_count=200,
                            rate_limit=0, latency_ms=40)  # fmt: skip
    lake = str(tmp_path / "lake")
    settings = settings_for(sim, lake, WISTIA_MAX_WORKERS="12")
    minimum = expected_minimum(sim, D, 0, overlap=0)
    sim.admin("POST", "reset-requests")
    with client_for(settings) as client:
        summary = ingest_day(settings, D, 0, ["events", "media_by_date"], "hint", client)
    events = summary["streams"]["events"]
    assert events["hinted_pages"] > 40  # most of the ~3 x 30 pages ran concurrently
    counts = sim.admin("GET", "requests")["by_endpoint"]
    assert counts["GET /stats/events"] == minimum["GET /stats/events"]
    expected = sim.admin("GET", "dataset", params={"kind": "events", "start_date": D.isoformat(),
                                                   "end_date": D.isoformat()})  # fmt: skip
    got = landed(lake, "events", [D])[D]
    assert sorted(x["record"]["event_key"] for x in got) == sorted(e["event_key"] for e in expected)


def test_wrong_hint_costs_requests_never_data(simulator_factory, tmp_path):
    """Unreleased late events count in by_date plays but are not listed: the hint overshoots.
    Pages past the end come back empty; the data is still exact."""
    sim = simulator_factory(**SIM_DATA, media_count=6, events_per_day=2000, visitor_count=200,
                            rate_limit=0, late_event_share=0.3, latency_ms=20)  # fmt: skip
    lake = str(tmp_path / "lake")
    settings = settings_for(sim, lake)
    with client_for(settings) as client:
        summary = ingest_day(settings, D, 0, ["events", "media_by_date"], "wrong-hint", client)
    listed = sim.admin("GET", "dataset", params={"kind": "events", "start_date": D.isoformat(),
                                                 "end_date": D.isoformat()})  # fmt: skip
    visible = sorted(e["event_key"] for e in listed if not e["late"])
    got = landed(lake, "events", [D])[D]
    assert sorted(x["record"]["event_key"] for x in got) == visible
    per_day_minimum = sum(
        list_pages(len([e for e in sim.admin("GET", "dataset", params={
            "kind": "events", "start_date": d.isoformat(), "end_date": d.isoformat()})
            if not e["late"]]))
        for d in events_request_days(D, 0)
    )  # fmt: skip
    extra = summary["streams"]["events"]["requests"] - per_day_minimum
    assert 0 < extra <= 3 * 12  # at most the over-hinted pages of the three request days
