"""A range run's ingestion ([D1 - L, D2] once) over real HTTP against the Wistia simulator."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.ingest.helpers import client_for, landed, settings_for
from wistia_pipeline.dates import days_between
from wistia_pipeline.ingest import events_request_days, ingest_day
from wistia_pipeline.lambda_handler import parse_event

D1, D2, L = date(2026, 3, 3), date(2026, 3, 7), 2
SIM_DATA = {"seed": 7, "start_date": "2026-02-20", "end_date": "2026-03-10"}


def test_range_ingests_the_window_once_and_stamps_snapshots_on_every_day(
    simulator_factory, tmp_path
):
    sim = simulator_factory(
        **SIM_DATA, media_count=6, events_per_day=200, visitor_count=50, rate_limit=0
    )
    lake = str(tmp_path / "lake")
    settings = settings_for(sim, lake)
    with client_for(settings) as client:
        summary = ingest_day(settings, D2, L, ["medias", "events"], "range", client, first_day=D1)
    window = days_between(D1 - timedelta(days=L), D2)
    assert (summary["window_start"], summary["range_start"]) == (
        window[0].isoformat(),
        "2026-03-03",
    )
    expected = sim.admin(
        "GET", "dataset",
        params={"kind": "events", "start_date": window[0].isoformat(), "end_date": D2.isoformat()},
    )  # fmt: skip
    got = landed(lake, "events", window)
    assert {x["record"]["event_key"] for v in got.values() for x in v} == {
        e["event_key"] for e in expected
    }
    # one single-day events listing per padded-window day, each fetched once
    assert events_request_days(D2, L, D1) == days_between(
        window[0] - timedelta(1), D2 + timedelta(1)
    )
    medias = landed(lake, "medias", days_between(D1 - timedelta(days=L), D2 + timedelta(days=1)))
    assert sorted(medias) == days_between(D1, D2)  # the listing on every data day, not the lookback
    assert len({len(v) for v in medias.values()}) == 1


def test_lambda_event_range_start() -> None:
    args = parse_event({"logical_date": "2026-03-07", "range_start": "2026-03-03", "run_id": "r"})
    assert (args["range_start"], args["logical_date"]) == (D1, D2)
    assert parse_event({"logical_date": "2026-03-07", "run_id": "r"})["range_start"] == D2
    for bad in ("2026-03-08", "2026-01-01", "20260303"):
        with pytest.raises(ValueError, match="range_start"):
            parse_event({"logical_date": "2026-03-07", "range_start": bad, "run_id": "r"})
