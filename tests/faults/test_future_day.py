"""A data day that has not ended in UTC is refused before anything is written."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from wistia_airflow.operators import ClaimDayOperator
from wistia_pipeline.dates import DayNotFinished, require_finished_day
from wistia_pipeline.state.sqlite_store import SQLiteRunStateStore


def test_a_day_is_finished_at_midnight_utc() -> None:
    day = date(2026, 12, 5)
    end = datetime(2026, 12, 6, tzinfo=UTC)
    assert require_finished_day(day, end) == day  # the instant it ends
    with pytest.raises(DayNotFinished, match="2026-12-05: it has not ended in UTC"):
        require_finished_day(day, end - timedelta(milliseconds=1))
    with pytest.raises(DayNotFinished):
        require_finished_day(day + timedelta(days=30), end)


def test_claim_refuses_today_and_writes_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WISTIA_TARGET", "local")
    monkeypatch.setenv("WISTIA_STATE_DIR", str(tmp_path))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    context = {"data_interval_start": today, "run_id": "manual__today", "params": {}}
    with pytest.raises(DayNotFinished):
        ClaimDayOperator().execute(context)
    store = SQLiteRunStateStore(tmp_path / "state.sqlite")
    assert store.get_day(today.date()) is None
    assert store.get_watermark() is None
    # Yesterday has ended: the same claim goes through (its preflight is tested elsewhere).
    monkeypatch.setattr("wistia_pipeline.preflight.preflight", lambda *a, **k: {})
    yesterday = {**context, "data_interval_start": today - timedelta(days=1), "run_id": "r"}
    plan = ClaimDayOperator().execute(yesterday)
    assert plan["day"] == (today - timedelta(days=1)).date().isoformat()
    assert store.get_day(today.date() - timedelta(days=1)).run_id == "r"


def test_backfill_of_a_future_day_is_refused_with_exit_3(tmp_path, monkeypatch, capsys) -> None:
    from scripts import backfill

    monkeypatch.setenv("WISTIA_TARGET", "local")  # main() sets it: restored after
    monkeypatch.setenv("WISTIA_STATE_DIR", str(tmp_path))
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    code = backfill.main(["--start", "2026-01-01", "--end", tomorrow])
    assert code == backfill.EXIT_REFUSED == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has not ended in UTC" in err
    assert not (tmp_path / "airflow").exists()  # refused before setting anything up
