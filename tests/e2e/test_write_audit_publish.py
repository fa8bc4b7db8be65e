"""A simulated week on the local target (issue: nothing captured is lost, nothing unchecked is
published): a media deleted mid-week keeps its captured gold days, and a run whose checks fail
leaves the published silver and gold exactly as they were. Prints the measured numbers.

Slow (about 8 pipeline days through ``make backfill``'s runner).
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from wistia_pipeline.config import load_settings
from wistia_pipeline.publishing import PUBLISHED, STAGING
from wistia_pipeline.sql import run_query_local
from wistia_pipeline.state import DayStatus, open_state_store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SIM_START, SIM_END = date(2026, 5, 1), date(2026, 5, 10)
WEEK = [date(2026, 5, 3) + timedelta(days=i) for i in range(7)]  # W1 .. W7
FAILING_DAY = WEEK[4]  # W5: the first run after the deletion; its checks fail once


def published(lake: Path) -> dict[str, list[tuple]]:
    """Every published silver and gold table a reader can query (rows sorted)."""
    tables = ("fact_media_daily", "reconciliation", "dim_media", "events", "media_daily_stats")
    return {
        t: sorted(run_query_local(str(lake), f"SELECT * FROM ${{database}}.{t}")[1], key=repr)
        for t in tables
    }


def manifests(lake: Path) -> dict[str, bytes]:
    """Every published manifest, byte for byte."""
    root = lake / PUBLISHED
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("symlink.txt"))}


def media_days(lake: Path, media_id: str) -> dict[str, tuple]:
    _, rows = run_query_local(
        str(lake),
        "SELECT dt, loads, plays, events FROM ${database}.fact_media_daily "
        f"WHERE media_id = '{media_id}'",
    )
    return {dt: rest for dt, *rest in ((r[0], *r[1:]) for r in rows)}


def sizes(lake: Path) -> tuple[int, int]:
    """(bytes of every silver/gold data file on disk, bytes the published manifests list)."""
    on_disk = sum(
        p.stat().st_size for layer in ("silver", "gold") for p in (lake / layer).rglob("*.parquet")
    )
    listed = {
        line
        for p in (lake / PUBLISHED).rglob("symlink.txt")
        for line in p.read_text().splitlines()
        if line
    }
    return on_disk, sum(Path(f).stat().st_size for f in listed)


def test_a_week_with_a_deleted_media_and_a_failing_check(
    simulator_factory, airflow_runner, tmp_path: Path, monkeypatch
) -> None:
    sim = simulator_factory(
        seed=5,
        start_date=SIM_START,
        end_date=SIM_END,
        media_count=6,
        events_per_day=80,
        visitor_count=50,
        late_event_share=0.1,  # never released: events trail plays on settled days
    )
    lake = tmp_path / "lake"
    env = {
        "WISTIA_TARGET": "local",
        "WISTIA_STATE_DIR": str(tmp_path / "state"),
        "WISTIA_LAKE_URI": str(lake),
        "WISTIA_API_URL": sim.url,
        "WISTIA_API_TOKEN": sim.token,
        "WISTIA_PII_HASH_KEY": "e2e-wap-test-key",
        "WISTIA_LOOKBACK_DAYS": "2",
        "WISTIA_CHECK_TOLERANCE": "1.0",  # unreleased late events: any shortfall accepted
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    store = open_state_store(load_settings())
    timings: dict[str, float] = {}

    started = time.monotonic()
    first = airflow_runner.backfill(WEEK[0], WEEK[3], env)
    timings["W1-W4"] = time.monotonic() - started
    assert first.returncode == 0, first.output[-8000:]
    victim = sim.admin("GET", "dataset", params={"kind": "medias"})[0]["hashed_id"]
    captured = media_days(lake, victim)
    assert {str(d) for d in WEEK[:4]} <= set(captured), captured
    sim.admin("POST", "delete-media", json={"media_id": victim})

    # --- W5 with the tolerance tightened to 0: reconciliation_gap fails on its settled days ---
    before, before_manifests = published(lake), manifests(lake)
    strict = {**env, "WISTIA_CHECK_TOLERANCE": "0"}
    failed = airflow_runner.backfill(FAILING_DAY, FAILING_DAY, strict)
    assert failed.returncode == 1, failed.output[-8000:]
    assert "checks" in failed.days[0]["failed_tasks"], failed.days[0]
    assert "publish" not in failed.days[0].get("succeeded_tasks", [])
    assert store.get_day(FAILING_DAY).status is DayStatus.FAILED
    assert "reconciliation_gap" in store.get_day(FAILING_DAY).error
    assert manifests(lake) == before_manifests  # byte for byte
    assert published(lake) == before  # row for row
    assert any((lake / STAGING).rglob("symlink.txt"))  # the run's output exists, unpublished

    # --- the rerun with the usual tolerance publishes; the rest of the week follows ----------
    started = time.monotonic()
    rest = airflow_runner.backfill(FAILING_DAY, WEEK[6], env)
    timings["W5-W7"] = time.monotonic() - started
    assert rest.returncode == 0, rest.output[-8000:]
    assert store.get_watermark() == WEEK[6]
    after = media_days(lake, victim)
    preserved = {d: after.get(d) for d in captured}
    assert preserved == captured  # every captured day of the deleted media, as captured
    assert not {str(d) for d in WEEK[4:]} & {d for d, row in after.items() if row[0]}
    days = ", ".join(f"'{d}'" for d in captured)
    _, recon = run_query_local(
        str(lake),
        "SELECT count(*) FROM ${database}.reconciliation "
        f"WHERE media_id = '{victim}' AND dt IN ({days}) AND difference > 0",
    )
    assert recon == [(0,)]  # its captured days reconcile against the plays captured then
    _, [(deleted, detected)] = run_query_local(
        str(lake),
        "SELECT deleted, deleted_detected_dt FROM ${database}.dim_media "
        f"WHERE media_id = '{victim}'",
    )
    assert deleted is True and str(detected) == str(FAILING_DAY)

    publish_seconds = airflow_runner.task_durations("publish")
    on_disk, listed = sizes(lake)
    staging_bytes = sum(p.stat().st_size for p in (lake / STAGING).rglob("*") if p.is_file())
    published_bytes = sum(p.stat().st_size for p in (lake / PUBLISHED).rglob("*") if p.is_file())
    print(
        json.dumps(
            {
                "days": 7,
                "deleted_media_days_preserved": len(preserved),
                "published_unchanged_by_failed_run": True,
                "data_bytes_on_disk": on_disk,
                "data_bytes_published": listed,
                "versions_overhead_ratio": round(on_disk / listed, 2),
                "manifest_bytes_published": published_bytes,
                "manifest_bytes_staging": staging_bytes,
                "seconds": {k: round(v, 1) for k, v in timings.items()},
                "publish_task_seconds_per_day": round(
                    sum(publish_seconds) / max(1, len(publish_seconds)), 2
                ),
            }
        )
    )
