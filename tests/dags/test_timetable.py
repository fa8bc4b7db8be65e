"""RangeCatchupTimetable: ranges when behind, daily when current; scheduler and backfill paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pendulum
import pytest
from airflow.timetables.base import DataInterval, TimeRestriction

from wistia_airflow.timetables import RangeCatchupTimetable

NOW = pendulum.datetime(2026, 3, 20, 5, 30, tz="UTC")
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch) -> None:
    monkeypatch.setattr(pendulum, "now", lambda tz=None: NOW)


def day(d: int, month: int = 3) -> pendulum.DateTime:
    return pendulum.datetime(2026, month, d, tz="UTC")


def intervals(timetable, earliest, latest=None, catchup=True) -> list[tuple[int, int]]:
    """Every run the timetable gives, as (first day, last day) day-of-month pairs."""
    out, last = [], None
    restriction = TimeRestriction(earliest, latest, catchup)
    while True:
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        if info is None or info.run_after > NOW:
            return out
        last = info.data_interval
        out.append((last.start.day, (last.end - DAY).day))


def test_catchup_runs_in_ranges_until_current_then_daily() -> None:
    timetable = RangeCatchupTimetable(7)
    assert intervals(timetable, day(1)) == [(1, 7), (8, 14), (15, 19)]
    # current: the next run is the single day that ends at the next midnight, run then
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(day(19), day(20)),
        restriction=TimeRestriction(day(1), None, True),
    )
    assert info.data_interval == DataInterval(day(20), day(21))
    assert info.run_after == day(21)


def test_one_day_ranges_are_the_cron_daily_schedule() -> None:
    assert intervals(RangeCatchupTimetable(1), day(15)) == [(d, d) for d in range(15, 20)]


def test_backfill_end_date_caps_the_last_range() -> None:
    # a backfill from the 1st to the 10th (logical dates, inclusive): the 10th is the last day
    assert intervals(RangeCatchupTimetable(4), day(1), latest=day(10)) == [(1, 4), (5, 8), (9, 10)]


def test_without_catchup_only_the_latest_day_runs() -> None:
    assert intervals(RangeCatchupTimetable(7), day(1), catchup=False) == [(19, 19)]


def test_manual_runs_cover_the_last_complete_day() -> None:
    interval = RangeCatchupTimetable(7).infer_manual_data_interval(run_after=day(9) + DAY / 3)
    assert interval == DataInterval(day(8), day(9))


def test_serialization_round_trip_and_validation() -> None:
    from airflow.exceptions import AirflowTimetableInvalid

    timetable = RangeCatchupTimetable(5)
    assert RangeCatchupTimetable.deserialize(timetable.serialize()) == timetable
    with pytest.raises(AirflowTimetableInvalid):
        RangeCatchupTimetable(41).validate()


def test_registered_by_the_plugin_and_used_by_the_dag(monkeypatch) -> None:
    """The scheduler finds the class by its path among the plugins' timetables."""
    import wistia_airflow

    assert RangeCatchupTimetable in wistia_airflow.WistiaPlugin.timetables
    path = f"{RangeCatchupTimetable.__module__}.{RangeCatchupTimetable.__qualname__}"
    assert path == "wistia_airflow.timetables.RangeCatchupTimetable"


def test_backfill_of_the_serialized_dag_creates_range_runs(tmp_path, monkeypatch) -> None:
    """Airflow's own backfill path (``_get_info_list`` -> ``iter_dagrun_infos_between``, the
    CLI and the UI's Backfill form) on the DAG as the scheduler sees it (serialized with the
    plugin loaded, deserialized)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from wistia_dev.local_runner import airflow_env

    home = tmp_path / "airflow"
    env = airflow_env(home, {**os.environ, "WISTIA_START_DATE": "2026-01-01"})
    code = """
import json, sys
from datetime import datetime, timezone
from wistia_dev import local_runner
from airflow.serialization import serialized_objects as so
dag = local_runner.load_dag()
# 3.2+: DagSerialization; 3.0/3.1: SerializedDAG (the scheduler's view of the DAG); the plugin
# loader must find the timetable both ways
serializer = getattr(so, "DagSerialization", so.SerializedDAG)
restored = serializer.from_dict(serializer.to_dict(dag))
tt = restored.timetable
infos = restored.iter_dagrun_infos_between(
    datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 20, tzinfo=timezone.utc))
print("RUNS " + json.dumps([[str(i.data_interval.start.date()), str(i.data_interval.end.date())]
                            for i in infos]))
print("TT " + type(tt).__name__)
"""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "WISTIA_MAX_RANGE_DAYS": "7"},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = dict(
        x.split(" ", 1) for x in proc.stdout.splitlines() if x.startswith(("RUNS ", "TT "))
    )
    assert lines["TT"] == "RangeCatchupTimetable"
    assert json.loads(lines["RUNS"]) == [
        ["2026-01-01", "2026-01-08"],
        ["2026-01-08", "2026-01-15"],
        ["2026-01-15", "2026-01-21"],
    ]
    assert datetime.now(UTC) > datetime(2026, 1, 21, tzinfo=UTC)
