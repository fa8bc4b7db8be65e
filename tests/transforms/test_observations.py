"""Absence is not deletion: silver keeps the latest observation per key across bronze runs and
its own published rows; a media deleted in Wistia keeps its captured gold days."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from transform_helpers import PII_KEY, publish_run, published_table, write_bronze_run

from wistia_pipeline import bronze
from wistia_pipeline.storage import open_storage
from wistia_pipeline.transforms import jobs, silver
from wistia_pipeline.transforms.pii import PiiHasher

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
T1, T2, T3 = (dt.datetime(2026, 3, 3, h) for h in (1, 2, 3))
STATS = (
    "media_id string, load_count bigint, play_count bigint, hours_watched double, "
    "_run_id string, _fetched_at timestamp, dt date"
)


def rows(df) -> dict[tuple, tuple]:
    return {(r["media_id"], r["dt"]): (r["play_count"], r["_run_id"]) for r in df.collect()}


def test_latest_observations_keeps_missing_keys_and_later_rows(spark):
    existing = spark.createDataFrame(
        [
            ("m1", 9, 5, 0.5, "a", T1, D1),  # re-observed with zero counts by run b
            ("m2", 7, 3, 0.3, "a", T1, D1),  # not in run b: a 404 or a page that never came
            ("m4", 4, 4, 0.4, "c", T3, D1),  # the published row is later than run b's copy
            ("m5", 1, 1, 0.1, "a", T1, D2),  # tie with run b: the newly built row wins
        ],
        STATS,
    ).select(
        "dt", "_fetched_at", "_run_id", "media_id", "load_count", "play_count", "hours_watched"
    )
    new = spark.createDataFrame(
        [
            ("m1", 0, 0, 0.0, "b", T2, D1),
            ("m3", 2, 2, 0.2, "b", T2, D1),
            ("m4", 8, 8, 0.8, "b", T2, D1),
            ("m5", 1, 6, 0.1, "a", T1, D2),
        ],
        STATS,
    )
    keys = ("media_id", "dt")
    merged = silver.latest_observations(new, existing, keys)
    assert merged.columns == new.columns
    assert rows(merged) == {
        ("m1", D1): (0, "b"),
        ("m2", D1): (3, "a"),
        ("m3", D1): (2, "b"),
        ("m4", D1): (4, "c"),
        ("m5", D2): (6, "a"),
    }
    assert sorted(silver.latest_observations(new, merged, keys).collect()) == sorted(
        merged.collect()
    )
    doubled = new.unionByName(new.where("media_id = 'm1'").selectExpr("*"))
    assert rows(silver.latest_observations(doubled, None, keys)) == rows(new)


def test_select_observed_runs_returns_every_complete_run(tmp_path: Path):
    lake = tmp_path / "lake"
    day = dt.date(2026, 3, 4)
    for run_id, completed in (("r2", "2026-03-05T02:00:00Z"), ("r1", "2026-03-05T01:00:00Z")):
        write_bronze_run(lake, "events", day, run_id, [({"event_key": run_id}, None)], completed)
    write_bronze_run(lake, "events", D1, "r0", [], "2026-03-02T00:00:00Z")
    (lake / "bronze/wistia/events/dt=2026-03-04/r3").mkdir()  # no manifest: invisible
    storage = open_storage(str(lake))
    runs = bronze.select_observed_runs(storage, str(lake), "events", [day, D1, D2])
    assert [(r.dt, r.run_id) for r in runs] == [(D1, "r0"), (day, "r1"), (day, "r2")]
    latest = bronze.select_complete_runs(storage, str(lake), "events", [day, D1, D2])
    assert [(r.dt, r.run_id) for r in latest] == [(D1, "r0"), (day, "r2")]


# ---- two overlapping runs; media "gone" is deleted in Wistia between them ----------------

DAYS = [dt.date(2026, 3, d) for d in (1, 2, 3, 4)]
RUN1, RUN2 = DAYS[:3], DAYS[1:]  # windows [D-2, D] of the runs of 03-03 and 03-04
AT1, AT2 = "2026-03-04T01:00:00Z", "2026-03-05T01:00:00Z"
PLAYS = {"keep": 2, "gone": 3}  # per day; events equal plays, so reconciliation is 0
DELETED = DAYS[3]  # "gone" is deleted early on 03-04: no plays from then on


def media(hashed_id: str, archived: bool) -> dict:
    return {
        "id": str(len(hashed_id)),
        "hashed_id": hashed_id,
        "name": hashed_id.title(),
        "archived": archived,
        "updated": "2026-02-01T00:00:00Z",
    }


def events(media_id: str, day: dt.date) -> list[tuple[dict, None]]:
    return [
        (
            {
                "event_key": f"{media_id}-{day}-{i}",
                "received_at": f"{day}T10:0{i}:00Z",
                "media_id": media_id,
                "visitor_key": f"v{i}",
                "percent_viewed": 0.5,
            },
            None,
        )
        for i in range(PLAYS[media_id])
    ]


def by_date(media_id: str, day: dt.date) -> tuple[dict, str]:
    plays = PLAYS[media_id]
    record = {"date": str(day), "load_count": 10, "play_count": plays, "hours_watched": 0.25}
    return record, media_id


def ingest(lake: Path, run_id: str, window: list[dt.date], listed: list[str], at: str) -> None:
    """What a run of ``window[-1]`` stores: by_date only for the media /medias still lists
    (a deleted media's by_date answers 404), and every event /stats/events returns, the
    deleted media's past ones included."""
    catalogue = [(media(m, archived=m == "archived"), None) for m in listed]
    write_bronze_run(lake, "medias", window[-1], run_id, catalogue, at)
    for day in window:
        stats = [by_date(m, day) for m in listed if m in PLAYS]
        write_bronze_run(lake, "media_by_date", day, run_id, stats, at)
        played = [e for m in PLAYS if m in listed or day < DELETED for e in events(m, day)]
        write_bronze_run(lake, "events", day, run_id, played, at)


def gold_table(spark, lake: Path, table: str) -> dict:
    """The published gold table by key (media_id[, dt])."""
    rows = published_table(lake, f"gold/wistia/{table}", order="media_id")
    key = ("media_id", "dt") if rows and "dt" in rows[0] else ("media_id",)
    return {tuple(str(r[k]) for k in key): r for r in rows}


def run_jobs(spark, lake: Path, window: list[dt.date], run_id: str) -> None:
    """The silver and gold jobs of one pipeline run over ``window``, then its publish."""
    jobs.run_silver(spark, str(lake), window, run_id, PiiHasher(PII_KEY), 0.0)
    jobs.run_gold(spark, str(lake), window, run_id)
    publish_run(lake, run_id, window[0], window[-1])


@pytest.mark.timeout(300)
def test_deleted_media_keeps_its_captured_days(spark, tmp_path: Path):
    lake = tmp_path / "lake"
    ingest(lake, "run-03", RUN1, ["keep", "gone", "archived"], AT1)
    run_jobs(spark, lake, RUN1, "run-03")
    before = gold_table(spark, lake, "fact_media_daily")

    # 03-02 of run-03 expired from bronze: from then on only silver holds what it captured.
    for stream in ("media_by_date", "events"):
        shutil.rmtree(lake / f"bronze/wistia/{stream}/dt=2026-03-02/run-03")
    ingest(lake, "run-04", RUN2, ["keep", "archived"], AT2)  # "gone" was deleted
    run_jobs(spark, lake, RUN2, "run-04")
    fact = gold_table(spark, lake, "fact_media_daily")
    for day in RUN1:  # captured days of the deleted media: as captured
        key = ("gone", str(day))
        assert (fact[key]["loads"], fact[key]["plays"]) == (10, 3), key
        assert {k: v for k, v in fact[key].items() if k != "gold_ingested_at"} == {
            k: v for k, v in before[key].items() if k != "gold_ingested_at"
        }
    assert ("gone", "2026-03-04") not in fact  # deleted: no row invented after it
    recon = gold_table(spark, lake, "reconciliation")
    assert all(recon["gone", str(d)]["difference"] == 0 for d in RUN1)
    assert all(recon["keep", str(d)]["difference"] == 0 for d in DAYS)

    dim = gold_table(spark, lake, "dim_media")
    gone, archived, keep = dim["gone",], dim["archived",], dim["keep",]
    assert (gone["deleted"], gone["in_latest_listing"]) == (True, False)
    assert gone["catalogue_last_seen_dt"] == DAYS[2] and gone["deleted_detected_dt"] == DAYS[3]
    assert gone["media_name"] == "Gone" and gone["last_activity_dt"] == DAYS[2]
    assert (archived["archived"], archived["deleted"], archived["deleted_detected_dt"]) == (
        True,
        False,
        None,
    )
    assert (keep["deleted"], keep["in_latest_listing"]) == (False, True)
