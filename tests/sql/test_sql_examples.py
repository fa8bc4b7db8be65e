"""Example analysis queries: all run on DuckDB, and their numbers match figures computed here
independently from the lake's rows (weighted rates, distinct counts never summed across days)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
from sql_lake import DAYS, END, START, STATS, build_events

from wistia_pipeline.sql import list_queries, run_query_local

PARAMS = {"start_date": START, "end_date": END, "top_n": 10}


def rows_as_dicts(lake: Path, name: str, **params: object) -> list[dict]:
    columns, rows = run_query_local(str(lake), name, **{**PARAMS, **params})
    return [dict(zip(columns, row, strict=True)) for row in rows]


@pytest.mark.parametrize("name", list_queries("examples"))
def test_every_example_runs_on_clean_bad_and_empty_lakes(
    name: str, good_lake: Path, tmp_path: Path
) -> None:
    columns, rows = run_query_local(str(good_lake), f"examples/{name}", **PARAMS)
    assert columns and rows, name
    empty_columns, empty_rows = run_query_local(str(tmp_path / "empty"), name, **PARAMS)
    assert empty_columns == columns and empty_rows == []


@pytest.mark.parametrize("name", list_queries("examples"))
def test_every_example_runs_on_the_bad_lake(name: str, bad_lake: Path) -> None:
    columns, _ = run_query_local(str(bad_lake), name, **PARAMS)
    assert columns


def test_top_media_by_play_rate_is_weighted_and_ranked(good_lake: Path) -> None:
    rows = rows_as_dicts(good_lake, "top_media_by_play_rate")
    expected = []
    for day, stats in STATS.items():
        ranked = sorted(
            ((plays / loads, loads, media, plays) for media, loads, plays in stats if loads),
            key=lambda r: (-r[0], -r[1], r[2]),
        )
        for rank, (rate, loads, media, plays) in enumerate(ranked, start=1):
            expected.append((str(day), rank, media, loads, plays, pytest.approx(rate)))
    got = [
        (r["dt"], r["rank"], r["media_id"], r["loads"], r["plays"], r["play_rate"]) for r in rows
    ]
    assert got == expected
    # 1 play out of 3 loads is 0.333..., not the 0 an integer division would give
    assert any(r["play_rate"] == pytest.approx(1 / 3) for r in rows)
    top1 = rows_as_dicts(good_lake, "top_media_by_play_rate", top_n=1)
    assert [(r["dt"], r["media_id"]) for r in top1] == [
        (str(DAYS[0]), "m2"),
        (str(DAYS[1]), "m1"),
        (str(DAYS[2]), "m1"),
    ]


def test_weekly_rollup_counts_distinct_visitors_over_the_week(good_lake: Path) -> None:
    rows = {r["media_id"]: r for r in rows_as_dicts(good_lake, "weekly_media_rollup")}
    events = [e for day_events in build_events().values() for e in day_events]
    for media in ("m1", "m2"):
        loads = sum(loads for stats in STATS.values() for m, loads, _ in stats if m == media)
        plays = sum(plays for stats in STATS.values() for m, _, plays in stats if m == media)
        weekly_distinct = len({e["visitor_key"] for e in events if e["media_id"] == media})
        daily_sum = sum(
            len({e["visitor_key"] for e in day if e["media_id"] == media})
            for day in build_events().values()
        )
        row = rows[media]
        assert row["week_start"] == date(2024, 3, 4)  # ISO week (Monday)
        assert row["days_in_window"] == 3
        assert (row["loads"], row["plays"]) == (loads, plays)
        assert row["play_rate"] == pytest.approx(plays / loads)
        assert row["unique_visitors"] == weekly_distinct
        assert weekly_distinct < daily_sum  # the data makes the wrong answer visible


def test_daily_summary_uses_account_wide_distinct_visitors(good_lake: Path) -> None:
    rows = {r["dt"]: r for r in rows_as_dicts(good_lake, "daily_summary")}
    for day, day_events in build_events().items():
        row = rows[str(day)]
        loads = sum(loads for _, loads, _ in STATS[day])
        plays = sum(plays for _, _, plays in STATS[day])
        assert (row["loads"], row["plays"]) == (loads, plays)
        assert row["play_rate"] == pytest.approx(plays / loads)
        assert row["unique_visitors"] == len({e["visitor_key"] for e in day_events})
        assert row["events"] == len(day_events)


def test_engagement_by_media_means_over_sessions(good_lake: Path) -> None:
    rows = {r["media_id"]: r for r in rows_as_dicts(good_lake, "engagement_by_media")}
    sessions = defaultdict(list)
    for day_events in build_events().values():
        for e in day_events:
            sessions[e["media_id"]].append(e)
    assert set(rows) == set(sessions)
    for media, evs in sessions.items():
        row = rows[media]
        viewers = len({e["visitor_key"] for e in evs})
        assert row["sessions"] == len(evs) and row["viewers"] == viewers
        assert row["sessions_per_viewer"] == pytest.approx(len(evs) / viewers)
        assert row["avg_percent_viewed"] == pytest.approx(
            sum(e["percent_viewed"] for e in evs) / len(evs)
        )
        assert row["hours_per_play"] == pytest.approx(0.5)  # fixture: 0.5 h per play


def test_audience_share_sums_to_one(good_lake: Path) -> None:
    rows = rows_as_dicts(good_lake, "audience_by_country")
    assert {r["country"] for r in rows} == {"US", "DE"}
    assert sum(r["session_share"] for r in rows) == pytest.approx(1.0)


def test_reconciliation_report_on_bad_lake(bad_lake: Path) -> None:
    rows = {r["dt"]: r for r in rows_as_dicts(bad_lake, "reconciliation_report")}
    assert str(DAYS[1]) not in rows
    last = rows[str(DAYS[2])]
    assert last["media_with_gap"] == 1 and last["abs_difference"] == 6
    assert last["relative_gap"] == pytest.approx(6 / 6)
