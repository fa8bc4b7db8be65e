"""Deleting a media at an instant: gone from /medias, 404 on per-media endpoints, events kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sim_support import END, START, TOKEN, Live, as_argv, flags

from wistia_simulator.cli import build_parser, build_state, start_in_thread
from wistia_simulator.dataset import Dataset, DatasetConfig
from wistia_simulator.deletions import MediaDeletions, parse_deletion

PAST = "2000-01-01T00:00:00Z"
FUTURE = "2999-01-01T00:00:00Z"


def media_ids() -> list[str]:
    """The account's hashed ids, from the same deterministic dataset the server builds."""
    cfg = DatasetConfig(seed=7, start_date=START, end_date=END, media_count=30, visitor_count=300)
    return [m["hashed_id"] for m in Dataset(cfg).medias()]


@pytest.fixture(scope="module")
def deleted_sim() -> Iterator[tuple[Live, str, str]]:
    """A simulator with one media deleted in the past and one scheduled far in the future."""
    gone, later = media_ids()[:2]
    argv = [
        *("--port", "0", "--token", TOKEN, *as_argv(flags())),
        *("--delete-media", f"{gone}@{PAST}", "--delete-media", f"{later}@{FUTURE}"),
    ]
    server, thread = start_in_thread(argv)
    session = requests.Session()
    try:
        yield Live(f"http://127.0.0.1:{server.server_address[1]}", TOKEN, session), gone, later
    finally:
        session.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def listed(live: Live) -> set[str]:
    return {m["hashed_id"] for m in live.get("/medias", per_page=100).json()}


def test_deleted_media_is_unlisted_and_404_but_its_events_stay(deleted_sim) -> None:
    live, gone, later = deleted_sim
    assert gone not in listed(live) and later in listed(live)
    assert len(listed(live)) == 29
    window = {"start_date": START.isoformat(), "end_date": END.isoformat()}
    for path in (
        f"/medias/{gone}",
        f"/stats/medias/{gone}",
        f"/stats/medias/{gone}/by_date",
    ):
        resp = live.get(path, **window)
        assert resp.status_code == 404, path
        assert resp.json() == {"error": f"Media not found: {gone}"}  # the spec's error shape
    series = live.get(f"/analytics/medias/{gone}/timeseries", granularity="daily", **window)
    assert series.status_code == 404
    assert live.get(f"/stats/medias/{later}/by_date", **window).status_code == 200

    truth = live.admin("GET", "dataset", params={"kind": "events", "media_id": gone, **window})
    visible = {e["event_key"] for e in truth if not e["late"]}
    served: list[str] = []
    for page in range(1, 100):
        batch = live.get("/stats/events", media_id=gone, per_page=100, page=page, **window)
        served += [e["event_key"] for e in batch.json()]
        if len(batch.json()) < 100:
            break
    assert visible and set(served) == visible
    assert gone in {m["hashed_id"] for m in live.admin("GET", "dataset", params={"kind": "medias"})}


def test_admin_deletes_now_and_reports_deletions(deleted_sim) -> None:
    live, gone, later = deleted_sim
    health = live.admin("GET", "health")["deleted_media"]
    assert health == {gone: "2000-01-01T00:00:00Z", later: "2999-01-01T00:00:00Z"}
    third = media_ids()[2]
    assert live.get(f"/medias/{third}").status_code == 200
    answer = live.admin("POST", "delete-media", json={"media_id": third})
    assert answer["media_id"] == third
    assert live.get(f"/medias/{third}").status_code == 404 and third not in listed(live)

    post = f"{live.base}/_admin/delete-media"
    unknown = requests.post(post, json={"media_id": "nope"}, timeout=10)
    assert unknown.status_code == 422 and "nope" in unknown.json()["error"]
    bad_at = requests.post(post, json={"media_id": later, "at": "soon"}, timeout=10)
    assert bad_at.status_code == 422 and later in listed(live)
    assert requests.post(post, json=["x"], timeout=10).status_code == 400


def test_deletion_takes_effect_at_its_instant() -> None:
    now = [datetime(2026, 3, 5, 12, tzinfo=UTC)]
    deletions = MediaDeletions(clock=lambda: now[0])
    at = deletions.delete("m1", datetime(2026, 3, 5, 13, tzinfo=UTC))
    assert not deletions.is_deleted("m1") and not deletions.is_deleted("m2")
    now[0] += timedelta(hours=1)
    assert deletions.is_deleted("m1")
    assert deletions.delete("m1", datetime(2026, 3, 6, tzinfo=UTC)) == at  # earliest stays
    assert deletions.delete("m2") == now[0]  # no instant: now


def test_deletion_flag_parsing() -> None:
    assert parse_deletion("abc@2026-03-05T10:00:00Z") == (
        "abc",
        datetime(2026, 3, 5, 10, tzinfo=UTC),
    )
    assert parse_deletion("abc@2026-03-05T10:00:00") == parse_deletion("abc@2026-03-05T10:00Z")
    assert parse_deletion("42") == ("42", None)
    for bad in ("@2026-03-05", "abc@tomorrow"):
        with pytest.raises(ValueError):
            parse_deletion(bad)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--token", "t", "--delete-media", "abc@tomorrow"])
    args = build_parser().parse_args(["--token", "t", *as_argv(flags()), "--delete-media", "zz"])
    with pytest.raises(ValueError, match="unknown media 'zz'"):
        build_state(args)
