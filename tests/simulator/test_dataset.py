"""The generator in-process: determinism, internal consistency, awkward cases, speed."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest

from wistia_simulator.dataset import Dataset, DatasetConfig

START, END = date(2026, 3, 1), date(2026, 3, 4)


def config(**overrides) -> DatasetConfig:
    base = {
        "seed": 7,
        "start_date": START,
        "end_date": END,
        "media_count": 30,
        "events_per_day": 400,
        "visitor_count": 300,
        "late_event_share": 0.1,
    }
    return DatasetConfig(**{**base, **overrides})


def all_events(ds: Dataset) -> list[dict]:
    return ds.event_records(START, END)


def test_same_seed_same_data_regardless_of_day_order() -> None:
    forward, backward = Dataset(config()), Dataset(config())
    for day in reversed(backward.days):  # generate days in the opposite order
        backward.day_data(day)
    assert forward.medias() == backward.medias()
    assert all_events(forward) == all_events(backward)
    assert forward.visitors() == backward.visitors()
    other = Dataset(config(seed=8))
    assert {e["event_key"] for e in all_events(other)}.isdisjoint(
        {e["event_key"] for e in all_events(forward)}
    )
    assert [m["hashed_id"] for m in other.medias()] != [m["hashed_id"] for m in forward.medias()]


def test_by_date_matches_events_and_hours_match_percent_viewed() -> None:
    ds = Dataset(config())
    durations = {m["hashed_id"]: m["duration"] or 0.0 for m in ds.medias()}
    plays: Counter = Counter()
    seconds: defaultdict = defaultdict(float)
    for event in all_events(ds):  # late events included: by_date always counts them
        key = (event["media_id"], event["received_at"][:10])
        plays[key] += 1
        seconds[key] += event["percent_viewed"] * durations[event["media_id"]]
    rows = 0
    for media in ds.medias():
        for day in ds.days:
            row = ds.media_day_stats(media["hashed_id"], day)
            key = (media["hashed_id"], day.isoformat())
            assert row["play_count"] == plays[key], key
            assert row["load_count"] >= row["play_count"]
            assert row["hours_watched"] == pytest.approx(seconds[key] / 3600, abs=1e-6)
            rows += 1
    assert rows == 30 * 4 and sum(plays.values()) > 1000


def test_event_counts_average_events_per_day() -> None:
    ds = Dataset(
        config(events_per_day=1000, start_date=date(2026, 1, 1), end_date=date(2026, 1, 20))
    )
    per_day = [len(ds.day_data(d).events) for d in ds.days]
    assert 900 <= sum(per_day) / len(per_day) <= 1100
    assert len(ds.day_data(date(2025, 12, 31)).events) == 0  # outside the data range


def test_awkward_cases_are_present() -> None:
    ds = Dataset(config())
    events = all_events(ds)
    stamps = [e["received_at"] for e in events]
    assert any(s.endswith("T00:00:00Z") or s.endswith("T00:00:00.000Z") for s in stamps)
    assert any(s.endswith("T23:59:59.999Z") for s in stamps)
    assert any(len(s) == 20 for s in stamps) and any(len(s) == 24 for s in stamps)  # no millis
    assert {type(e["conversion_type"]) for e in events} == {int, str}
    assert {e["conversion_type"] for e in events if isinstance(e["conversion_type"], str)} == {""}
    assert any(e["email"] is None for e in events) and any(e["email"] for e in events)
    assert any(e["lat"] is None for e in events) and any(e["lat"] is not None for e in events)
    assert all(isinstance(e["user_agent_details"]["browser_version"], str) for e in events)
    assert all(e["event_key"].split("_")[0].isdigit() for e in events)
    medias = ds.medias()
    names = "".join(m["name"] for m in medias)
    assert any(ord(c) > 0x3000 for c in names) and "é" in names and "🚀" in names
    assert any(m["archived"] for m in medias) and not all(m["archived"] for m in medias)
    played = {e["media_id"] for e in events}
    assert any(m["hashed_id"] not in played for m in medias)  # media without plays
    visitors = ds.visitors()
    assert any(v["visitor_identity"]["name"] == "" for v in visitors)
    multi = Counter(e["visitor_key"] for e in events)
    top = multi.most_common(1)[0][0]
    assert len({e["media_id"] for e in events if e["visitor_key"] == top}) > 3
    assert len({e["received_at"][:10] for e in events if e["visitor_key"] == top}) == 4


def test_small_volume_leaves_most_media_without_events_on_many_days() -> None:
    ds = Dataset(config(events_per_day=40, media_count=40))
    empty = sum(1 for day in ds.days for p in ds.day_data(day).plays if p == 0)
    assert empty > 0.5 * 40 * len(ds.days)


def test_visitor_stats_come_from_events() -> None:
    ds = Dataset(config())
    events = all_events(ds)
    by_visitor = Counter(e["visitor_key"] for e in events)
    newest = {}
    for e in events:  # newest first
        newest.setdefault(e["visitor_key"], e)
    visitors = ds.visitors()
    assert {v["visitor_key"] for v in visitors} == set(by_visitor)
    for v in visitors:
        assert v["play_count"] == by_visitor[v["visitor_key"]]
        assert v["load_count"] >= v["play_count"]
        assert v["last_event_key"] == newest[v["visitor_key"]]["event_key"]


def test_events_filter_inclusive_dates_media_and_visitor() -> None:
    ds = Dataset(config())
    day = START + timedelta(days=1)
    rows = [ds.event_record(r) for r in ds.events(day, day)]
    assert rows and {r["received_at"][:10] for r in rows} == {day.isoformat()}
    media = rows[0]["media_id"]
    only = ds.events(START, END, media_id=media)
    assert only and {ds.event_record(r)["media_id"] for r in only} == {media}
    visitor = rows[0]["visitor_key"]
    assert {
        ds.event_record(r)["visitor_key"] for r in ds.events(START, END, visitor_key=visitor)
    } == {visitor}
    hidden = ds.events(START, END, include_unreleased_late=False)
    assert 0 < len(ds.events(START, END)) - len(hidden) < 0.2 * len(ds.events(START, END))
    assert ds.events(START, END, media_id="nope") == []


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="after end_date"):
        DatasetConfig(start_date=END, end_date=START)
    with pytest.raises(ValueError, match="late_event_share"):
        DatasetConfig(late_event_share=1.5)
    default = DatasetConfig()
    assert default.end_date is not None and default.start_date is not None
    assert (default.end_date - default.start_date).days == 29


def test_large_account_generates_in_a_few_seconds() -> None:
    t0 = time.perf_counter()
    ds = Dataset(
        DatasetConfig(
            seed=3,
            start_date=date(2026, 1, 1),
            end_date=date(2026, 1, 3),
            media_count=500,
            events_per_day=50_000,
            visitor_count=20_000,
        )
    )
    total = sum(len(ds.day_data(d).events) for d in ds.days)
    elapsed = time.perf_counter() - t0
    assert 130_000 < total < 170_000
    assert elapsed < 15, f"{total} events took {elapsed:.1f}s"
