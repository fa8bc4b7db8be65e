"""The visitors stream fetches the visitors the window's events name, not the whole account."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from types import SimpleNamespace

from tests.ingest.conftest import Step
from tests.ingest.helpers import client_for, landed, list_pages, settings_for, visitor_requests
from wistia_pipeline.ingest import (
    active_visitor_keys,
    design_minimum_requests,
    events_request_days,
    ingest_day,
)

D = date(2026, 3, 5)
L = 2
SIM_DATA = {"seed": 11, "start_date": "2026-02-25", "end_date": "2026-03-08", "rate_limit": 0}


def window_events(sim, start: date, end: date) -> list[dict]:
    params = {"kind": "events", "start_date": start.isoformat(), "end_date": end.isoformat()}
    return sim.admin("GET", "dataset", params=params)


def visitor_counts(sim) -> Counter:
    by_endpoint = sim.admin("GET", "requests")["by_endpoint_status"]
    return Counter({ep: sum(c.values()) for ep, c in by_endpoint.items() if "visitors" in ep})


def test_active_visitor_keys_most_recent_first():
    records = [
        {"visitor_key": "a", "received_at": "2026-03-05T10:00:00Z"},
        {"visitor_key": "b", "received_at": "2026-03-05T11:00:00.500Z"},
        {"visitor_key": "a", "received_at": "2026-03-05T12:00:00Z"},
        {"visitor_key": "c", "received_at": "not a time"},
        {"visitor_key": None},
        "not a record",
    ]
    assert active_visitor_keys(records) == ["a", "b", "c"]


def test_lookups_when_the_history_is_long(simulator_factory, tmp_path):
    """A long visitor history: one lookup per active visitor plus the probe, the records
    are exactly the active visitors' objects, and the count equals the design minimum."""
    sim = simulator_factory(
        **SIM_DATA, media_count=4, events_per_day=40, visitor_count=80, historical_visitors=9000
    )
    lake = str(tmp_path / "lake")
    settings = settings_for(sim, lake)
    events = window_events(sim, D - timedelta(days=L), D)
    active = {e["visitor_key"] for e in events}
    listed = len(sim.admin("GET", "dataset", params={"kind": "visitors"})) + 9000
    assert 2 <= len(active) < list_pages(listed)
    sim.admin("POST", "reset-requests")
    with client_for(settings) as client:
        summary = ingest_day(settings, D, L, ["events", "visitors"], "look-1", client)

    visitors = summary["streams"]["visitors"]
    assert visitors["mode"] == "lookup" and visitors["active_visitors"] == len(active)
    assert visitors["not_found"] == 0 and visitors["truncated"] is False
    assert visitor_counts(sim) == visitor_requests(listed, events, 0)
    assert visitors["requests"] == len(active) + 1
    per_day = [len(window_events(sim, d, d)) for d in events_request_days(D, L)]
    minimum = design_minimum_requests(
        0, listed, per_day, streams=["events", "visitors"], active_visitors=len(active)
    )
    assert summary["requests_total"] == sum(minimum.values())
    got = landed(lake, "visitors", [D])[D]
    assert {x["record"]["visitor_key"] for x in got} == active
    for line in got[:5]:
        key = line["record"]["visitor_key"]
        assert line["_ingest"]["request_path"] == f"/stats/visitors/{key}"


def test_listing_when_it_is_cheaper_and_without_events(simulator_factory, tmp_path):
    """A small account lists instead (after the probe); a run without events lists with no
    probe: the whole account, as a full refresh."""
    sim = simulator_factory(**SIM_DATA, media_count=4, events_per_day=400, visitor_count=150)
    lake = str(tmp_path / "lake")
    settings = settings_for(sim, lake)
    listed = sim.admin("GET", "dataset", params={"kind": "visitors"})
    events = window_events(sim, D - timedelta(days=L), D)
    assert len({e["visitor_key"] for e in events}) > list_pages(len(listed))
    with client_for(settings) as client:
        sim.admin("POST", "reset-requests")
        summary = ingest_day(settings, D, L, ["events", "visitors"], "list-1", client)
        assert summary["streams"]["visitors"]["mode"] == "list"
        assert visitor_counts(sim) == {"GET /stats/visitors": list_pages(len(listed)) + 1}
        sim.admin("POST", "reset-requests")
        summary = ingest_day(settings, D, L, ["visitors"], "list-2", client)
    assert summary["streams"]["visitors"]["mode"] == "list"
    assert "active_visitors" not in summary["streams"]["visitors"]
    assert visitor_counts(sim) == {"GET /stats/visitors": list_pages(len(listed))}
    got = landed(lake, "visitors", [D])[D]
    assert sorted(x["record"]["visitor_key"] for x in got) == sorted(
        v["visitor_key"] for v in listed
    )


def test_lookup_cap_keeps_the_most_recent(simulator_factory, tmp_path):
    sim = simulator_factory(
        **SIM_DATA, media_count=3, events_per_day=30, visitor_count=60, historical_visitors=5000
    )
    settings = settings_for(sim, str(tmp_path / "lake"))
    events = window_events(sim, D - timedelta(days=L), D)
    expected = active_visitor_keys(events)[:3]
    with client_for(settings) as client:
        summary = ingest_day(
            settings, D, L, ["events", "visitors"], "cap-1", client, visitors_max_pages=3
        )
    visitors = summary["streams"]["visitors"]
    assert visitors["truncated"] is True and visitors["requests"] == 4  # probe + 3
    got = landed(str(tmp_path / "lake"), "visitors", [D])[D]
    assert sorted(x["record"]["visitor_key"] for x in got) == sorted(expected)


def _event(key: str, visitor: str, at: str) -> dict:
    return {"event_key": key, "visitor_key": visitor, "received_at": at, "media_id": "m1"}


def test_deleted_visitor_is_counted_not_fatal(scripted, tmp_path):
    """A visitor the events name but the API no longer knows (404) is counted in the summary;
    the run completes with the others."""
    events = [
        _event("e1", "v-old", "2026-03-05T01:00:00Z"),
        _event("e2", "v-new", "2026-03-05T02:00:00Z"),
    ]
    scripted.script(
        Step(body=[]),  # events 2026-03-04
        Step(body=events),  # events 2026-03-05
        Step(body=[]),  # events 2026-03-06
        Step(body=[{"visitor_key": "someone"}]),  # the probe: page 2 has rows
        Step(body={"visitor_key": "v-new", "play_count": 1}),  # most recent first
        Step(status=404, body={"error": "Visitor not found"}),
    )
    server = SimpleNamespace(url=scripted.url, token="scripted-token")
    settings = settings_for(server, str(tmp_path / "lake"))
    with client_for(settings, max_workers=1) as client:
        summary = ingest_day(settings, D, 0, ["events", "visitors"], "gone-1", client)
    visitors = summary["streams"]["visitors"]
    assert (visitors["records"], visitors["not_found"], visitors["requests"]) == (1, 1, 3)
    paths = [r["path"].split("?")[0] for r in scripted.requests]
    assert paths[3:] == ["/modern/stats/visitors", "/modern/stats/visitors/v-new",
                         "/modern/stats/visitors/v-old"]  # fmt: skip
    got = landed(str(tmp_path / "lake"), "visitors", [D])[D]
    assert [x["record"]["visitor_key"] for x in got] == ["v-new"]
