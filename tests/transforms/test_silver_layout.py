"""How silver is written: hash-partitioned by the key once (de-duplication and files alike),
about ``ROWS_PER_FILE`` rows a file, rows sorted within a file; and which days are staged."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest
from transform_helpers import PII_KEY, published_files, published_table, write_bronze_run

from wistia_pipeline.publishing import Stage, publish
from wistia_pipeline.storage import open_storage
from wistia_pipeline.transforms import jobs, lake_io, silver
from wistia_pipeline.transforms.pii import PiiHasher

D1, D2, D3 = (dt.date(2026, 3, d) for d in (1, 2, 3))
AT1, AT2 = "2026-03-04T01:00:00Z", "2026-03-05T01:00:00Z"


def event(key: str, day: dt.date, media: str, minute: int, visitor: str) -> tuple[dict, None]:
    record = {
        "event_key": key,
        "received_at": f"{day}T10:{minute:02d}:00Z",
        "media_id": media,
        "visitor_key": visitor,
        "percent_viewed": 0.5,
    }
    return record, None


def day_events(day: dt.date, n: int, visitor: str = "v") -> list[tuple[dict, None]]:
    return [event(f"{day}-{i}", day, f"m{i % 7}", i % 60, f"{visitor}{i}") for i in range(n)]


def parquet_rows(path: str, columns: str) -> list[tuple]:
    """The rows of one Parquet file, in file order."""
    return duckdb.sql(f"SELECT {columns} FROM read_parquet('{path}')").fetchall()


def file_rows(lake: Path, rel: str) -> dict[str, list[list[tuple]]]:
    """Per dt: each published file's (media_id, received_at) in file order."""
    out: dict[str, list[list[tuple]]] = {}
    for path in published_files(lake, rel):
        day = path.split("/dt=")[1][:10]
        out.setdefault(day, []).append(parquet_rows(path, "media_id, received_at"))
    return out


@pytest.fixture
def session(spark, monkeypatch):
    monkeypatch.setattr(lake_io, "ROWS_PER_FILE", 40)  # ~40 rows a file instead of 500,000
    return spark


def silver_run(spark, lake: Path, window: list[dt.date], run_id: str) -> None:
    """The silver and gold jobs of a run over ``window``, then its publish."""
    jobs.run_silver(spark, str(lake), window, run_id, PiiHasher(PII_KEY), 1.0)
    jobs.run_gold(spark, str(lake), window, run_id)
    publish(open_storage(str(lake)), str(lake), run_id, window[0], window[-1])


@pytest.mark.timeout(300)
def test_a_run_writes_each_day_in_sorted_files_of_about_rows_per_file(session, tmp_path: Path):
    lake = tmp_path / "lake"
    first = day_events(D1, 60) + day_events(D2, 40)
    write_bronze_run(lake, "events", D1, "r1", first[:60], AT1)
    write_bronze_run(lake, "events", D2, "r1", first[60:], AT1)
    # a second complete run of D2: 10 keys again (the later fetch wins), 5 new ones
    again = day_events(D2, 10, visitor="w") + [
        event(f"new-{i}", D2, "m9", i, "x") for i in range(5)
    ]
    write_bronze_run(lake, "events", D2, "r2", again, AT2)
    silver_run(session, lake, [D1, D2], "run-a")

    files = file_rows(lake, "silver/wistia/events")
    # 115 valid rows -> round(115 / 40) = 3 tasks, each writing a file per day it holds
    assert {day: len(parts) for day, parts in files.items()} == {"2026-03-01": 3, "2026-03-02": 3}
    for parts in files.values():
        assert all(rows == sorted(rows) for rows in parts)  # sorted by media_id, received_at
    rows = published_table(lake, "silver/wistia/events", order="event_key")
    assert len(rows) == len({r["event_key"] for r in rows}) == 60 + 40 + 5
    fetched = {r["event_key"]: str(r["_fetched_at"]) for r in rows}
    assert (
        fetched[f"{D2}-3"].startswith("2026-03-05 01:00") and fetched["new-1"] == fetched[f"{D2}-3"]
    )
    assert fetched[f"{D2}-30"].startswith("2026-03-04 01:00")


@pytest.mark.timeout(300)
def test_a_rerun_merged_with_published_rows_keeps_the_layout(session, tmp_path: Path):
    lake = tmp_path / "lake"
    write_bronze_run(lake, "events", D1, "r1", day_events(D1, 100), AT1)
    silver_run(session, lake, [D1], "run-a")
    # a later run returns only 20 of the keys: the other 80 published rows are kept
    write_bronze_run(lake, "events", D1, "r2", day_events(D1, 20, visitor="w"), AT2)
    shutil.rmtree(lake / "bronze/wistia/events/dt=2026-03-01/r1")  # expired from bronze
    silver_run(session, lake, [D1], "run-b")

    rows = published_table(lake, "silver/wistia/events", order="event_key")
    assert len(rows) == len({r["event_key"] for r in rows}) == 100
    assert sum(r["_run_id"] == "r2" for r in rows) == 20
    parts = file_rows(lake, "silver/wistia/events")["2026-03-01"]
    assert len(parts) == 1  # round(20 new rows / 40) -> 1 task: the rerun's own size
    assert parts[0] == sorted(parts[0])


def test_latest_observations_comes_partitioned_by_the_keys(spark):
    stats = "media_id string, play_count bigint, _run_id string, _fetched_at timestamp, dt date"
    t1, t2 = dt.datetime(2026, 3, 3, 1), dt.datetime(2026, 3, 3, 2)
    new = spark.createDataFrame(
        [(f"m{i}", i, "b", t2, D1) for i in range(30)] + [("m0", 99, "a", t1, D1)], stats
    )
    existing = spark.createDataFrame([(f"m{i}", -i, "a", t1, D1) for i in range(20, 40)], stats)
    keys = ("media_id", "dt")
    for merged in (
        silver.latest_observations(new, existing, keys, partitions=3),
        silver.latest_observations(new, None, keys, partitions=3),
    ):
        parts = merged.rdd.glom().map(lambda rows: {r["media_id"] for r in rows}).collect()
        assert len(parts) == 3
        assert sum(len(p) for p in parts) == len(set().union(*parts))  # a key in one part
    merged = silver.latest_observations(new, existing, keys, partitions=3)
    got = {r["media_id"]: r["play_count"] for r in merged.collect()}
    assert got == {**{f"m{i}": -i for i in range(30, 40)}, **{f"m{i}": i for i in range(30)}}


def test_write_partitions_stages_written_days_and_empty_authoritative_ones(spark, tmp_path):
    lake = str(tmp_path / "lake")
    stage = Stage.begin(open_storage(lake), lake, "run-w", D1, D3)
    df = spark.createDataFrame(
        [("m2", 1, D1), ("m1", 2, D1), ("m1", 3, D2)], "media_id string, play_count bigint, dt date"
    ).repartition(1)
    stats = f"{lake}/silver/wistia/media_daily_stats"
    # rows may hold D1..D3 (D3 has none: left as it is); D1 and D2 are authoritative
    lake_io.write_partitions(df, stage, stats, [D1, D2, D3], [D1, D2], ["media_id"])
    assert [len(stage.current_files(stats, day) or []) for day in (D1, D2)] == [1, 1]
    assert stage.current_files(stats, D3) is None
    [path] = stage.current_files(stats, D1)
    assert parquet_rows(path, "media_id") == [("m1",), ("m2",)]

    analytics = f"{lake}/silver/wistia/media_analytics_daily"
    lake_io.write_partitions(df.where(f"dt = '{D1}'"), stage, analytics, [D1], [D1, D3])
    assert len(stage.current_files(analytics, D1) or []) == 1
    assert stage.current_files(analytics, D2) is None  # neither held nor authoritative
    assert stage.current_files(analytics, D3) == []  # authoritative without rows: empty
