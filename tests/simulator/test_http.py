"""The simulator over real HTTP: pagination, auth, errors, request counting, visitors."""

from __future__ import annotations

from collections import Counter

import pytest
import requests


def test_pagination_default_cap_and_short_last_page(live) -> None:
    assert len(live.get("/medias").json()) == 10  # default per_page
    assert len(live.get("/medias", per_page=1000).json()) == 30  # capped at 100, only 30 exist
    events_100 = live.get("/stats/events", per_page=100).json()
    events_500 = live.get("/stats/events", per_page=500).json()
    assert len(events_100) == 100 and events_500 == events_100
    pages = [live.get("/medias", per_page=7, page=p).json() for p in range(1, 7)]
    assert [len(p) for p in pages] == [7, 7, 7, 7, 2, 0]
    ids = [m["hashed_id"] for page in pages for m in page]
    assert len(ids) == len(set(ids)) == 30


def test_all_pages_of_events_equal_the_visible_ground_truth(live) -> None:
    truth = live.admin("GET", "dataset", params={"kind": "events"})
    visible = {e["event_key"] for e in truth if not e["late"] or e["released"]}
    seen: list[str] = []
    page = 1
    while True:
        batch = live.get("/stats/events", per_page=100, page=page).json()
        seen += [e["event_key"] for e in batch]
        if len(batch) < 100:
            break
        page += 1
    assert len(seen) == len(set(seen)) and set(seen) == visible


@pytest.mark.parametrize("bad", ["0", "-1", "ten", "1.5"])
def test_bad_page_values_are_422(live, bad) -> None:
    for name in ("page", "per_page"):
        resp = live.get("/stats/events", **{name: bad})
        assert resp.status_code == 422 and name in resp.json()["error"]


def test_auth_missing_or_wrong_token_is_401(live) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": live.token}):
        resp = live.session.get(f"{live.url}/medias", headers=headers, timeout=10)
        assert resp.status_code == 401 and resp.json() == {"error": "Invalid credentials."}


def test_404_and_422_cases(live) -> None:
    for path in (
        "/medias/doesnotexist",
        "/stats/medias/doesnotexist",
        "/stats/medias/doesnotexist/by_date",
        "/analytics/medias/doesnotexist/timeseries",
        "/stats/visitors/nobody",
        "/stats/events/nothing",
        "/no/such/endpoint",
    ):
        resp = live.get(path, start_date="2026-03-01", end_date="2026-03-02", granularity="daily")
        assert resp.status_code == 404, path
        assert resp.json()["error"]
    hashed = live.get("/medias").json()[0]["hashed_id"]
    for params in (
        {"start_date": "2026-03-02", "end_date": "2026-03-01"},
        {"start_date": "03/01/2026"},
        {"end_date": "2026-02-30"},
    ):
        assert live.get(f"/stats/medias/{hashed}/by_date", **params).status_code == 422
        assert live.get("/stats/events", **params).status_code == 422


def test_events_date_bounds_are_inclusive_utc_days_and_filters_apply(live) -> None:
    rows = live.get("/stats/events", start_date="2026-03-02", end_date="2026-03-02", per_page=100)
    days = {e["received_at"][:10] for e in rows.json()}
    assert days == {"2026-03-02"}
    first = rows.json()[0]
    by_media = live.get("/stats/events", media_id=first["media_id"], per_page=100).json()
    assert by_media and {e["media_id"] for e in by_media} == {first["media_id"]}
    by_visitor = live.get("/stats/events", visitor_key=first["visitor_key"], per_page=100).json()
    assert {e["visitor_key"] for e in by_visitor} == {first["visitor_key"]}


def test_visitors_ignore_media_id(live) -> None:
    hashed = live.get("/medias").json()[0]["hashed_id"]
    plain = live.get("/stats/visitors", per_page=50, page=2).json()
    filtered = live.get("/stats/visitors", per_page=50, page=2, media_id=hashed).json()
    assert plain and filtered == plain


def test_by_date_over_http_equals_event_counts(live) -> None:
    truth = live.admin("GET", "dataset", params={"kind": "events"})
    counts = Counter((e["media_id"], e["received_at"][:10]) for e in truth)
    for media in live.get("/medias", per_page=100).json()[:12]:
        rows = live.get(
            f"/stats/medias/{media['hashed_id']}/by_date",
            start_date="2026-02-28",
            end_date="2026-03-05",
        ).json()
        assert len(rows) == 6  # one row per day, zeros included
        for row in rows:
            assert row["play_count"] == counts[(media["hashed_id"], row["date"])]
            assert row["load_count"] >= row["play_count"]
    ground = live.admin("GET", "dataset", params={"kind": "media_by_date"})
    assert len(ground) == 30 * 4
    assert all(r["play_count"] == counts[(r["media_id"], r["date"])] for r in ground)


def test_request_counting(live) -> None:
    live.admin("POST", "reset-requests")
    live.get("/stats/events")
    live.get("/stats/events.json", version="v1")
    live.get("/stats/medias/x/by_date")
    live.get("/medias", auth=False)
    live.admin("GET", "health")  # admin traffic is never counted
    counts = live.admin("GET", "requests")
    assert counts["total"] == 4
    assert counts["by_endpoint"] == {
        "GET /stats/events": 2,
        "GET /stats/medias/{id}/by_date": 1,
        "GET /medias": 1,
    }
    assert counts["by_status"] == {"200": 2, "404": 1, "401": 1}
    assert counts["by_endpoint_status"]["GET /stats/events"] == {"200": 2}
    assert counts["by_version"] == {"modern": 3, "v1": 1}
    live.admin("POST", "reset-requests")
    assert live.admin("GET", "requests")["total"] == 0


def test_admin_rejects_unknown_things(live) -> None:
    resp = requests.get(f"{live.base}/_admin/dataset", params={"kind": "nope"}, timeout=10)
    assert resp.status_code == 422
    resp = requests.post(f"{live.base}/_admin/faults", json={"fault_typo": 1}, timeout=10)
    assert resp.status_code == 400 and "fault_typo" in resp.json()["error"]
    resp = requests.post(f"{live.base}/_admin/faults", json={"fault_5xx_rate": 3}, timeout=10)
    assert resp.status_code == 400
    assert requests.get(f"{live.base}/_admin/nothing", timeout=10).status_code == 404
