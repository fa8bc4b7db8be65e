"""The ``historical_visitors`` knob: an account's visitor history, listed and shown, never
in an event, rendered lazily."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from wistia_simulator.api import WistiaApi
from wistia_simulator.cli import build_parser, config_flags
from wistia_simulator.dataset import Dataset, DatasetConfig
from wistia_simulator.params import ApiError

START, END = date(2026, 3, 1), date(2026, 3, 3)


def dataset(historical: int) -> Dataset:
    return Dataset(
        DatasetConfig(
            seed=4, start_date=START, end_date=END, media_count=5, events_per_day=50,
            visitor_count=40, historical_visitors=historical,
        )
    )  # fmt: skip


def test_listing_pages_active_then_historical_and_each_is_shown() -> None:
    ds = dataset(250)
    api = WistiaApi(ds)
    active = ds.visitors()
    route, _ = api.resolve("GET", "/stats/visitors")
    pages = []
    page_no = 1
    while True:
        page = api.call(route, {}, {"page": [str(page_no)], "per_page": ["100"]}, 0)
        pages.append(page)
        if len(page) < 100:
            break
        page_no += 1
    listed = [v for page in pages for v in page]
    assert len(listed) == len(active) + 250 == len(ds.visitor_listing())
    assert listed[: len(active)] == active
    historical = listed[len(active) :]
    assert len({v["visitor_key"] for v in listed}) == len(listed)
    in_events = {e["visitor_key"] for e in ds.event_records(START, END)}
    for visitor in historical:
        assert visitor["visitor_key"] not in in_events
        last = datetime.fromisoformat(visitor["last_active_at"].replace("Z", "+00:00"))
        assert last.date() < START and visitor["play_count"] >= 1
        assert api.show_visitor({}, 0, visitor["visitor_key"]) == visitor
    assert dataset(250).visitor_listing()[len(active) + 7] == historical[7]  # deterministic
    key = historical[0]["visitor_key"]
    for unknown in (key[:-12] + f"{250:012x}", key[:-1] + "z", "nobody"):
        with pytest.raises(ApiError) as err:
            api.show_visitor({}, 0, unknown)
        assert err.value.status == 404


def test_flag_and_validation() -> None:
    config = DatasetConfig(start_date=START, end_date=END, historical_visitors=12)
    args = build_parser().parse_args(["--token", "t", *config_flags(config)])
    assert args.historical_visitors == 12
    with pytest.raises(ValueError, match="historical_visitors"):
        DatasetConfig(start_date=START, end_date=END, historical_visitors=-1)
