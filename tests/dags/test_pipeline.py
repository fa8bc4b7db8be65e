"""Unit tests of the pipeline description (wistia_pipeline.pipeline)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from wistia_pipeline import pipeline


def test_window_and_payload() -> None:
    assert pipeline.window(date(2026, 3, 1), 2) == (date(2026, 2, 27), date(2026, 3, 1))
    assert pipeline.lambda_payload(date(2026, 3, 1), 0, ["events"], "r1") == {
        "logical_date": "2026-03-01",
        "lookback_days": 0,
        "streams": ["events"],
        "run_id": "r1",
    }
    with pytest.raises(ValueError, match="lookback_days"):
        pipeline.window(date(2026, 3, 1), -1)
    with pytest.raises(ValueError, match="unknown streams"):
        pipeline.lambda_payload(date(2026, 3, 1), 2, ["nope"], "r1")


def test_check_streams_defaults_to_all_in_fetch_order() -> None:
    assert pipeline.check_streams(None) == list(pipeline.ALL_STREAMS)
    assert pipeline.check_streams(["events", "medias"]) == ["medias", "events"]


def test_glue_args() -> None:
    day1, day3 = date(2026, 1, 1), date(2026, 1, 3)
    args = pipeline.glue_job_args(day1, day3, "s3://b/lake/", "manual__1", "sec", 0.1)
    assert args == {
        "start_date": "2026-01-01",
        "end_date": "2026-01-03",
        "lake_uri": "s3://b/lake",
        "run_id": "manual__1",  # whose stage the jobs write (wistia_pipeline.publishing)
        "pii_secret_id": "sec",
        "max_reject_share": "0.1",
    }
    assert pipeline.glue_arguments({"a": "1"}) == {"--a": "1"}
    with pytest.raises(ValueError, match="after"):
        pipeline.glue_job_args(day3, day1, "/lake", "r")
    with pytest.raises(ValueError, match="run_id"):
        pipeline.glue_job_args(day1, day3, "/lake", "")


def test_conflicting_runs_are_live_overlapping_windows_of_other_runs() -> None:
    from datetime import timedelta

    from wistia_pipeline.state import DayRun, DayStatus

    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    day = date(2026, 3, 10)

    def rec(d: int, status: DayStatus, run_id: str, lease_h: int = 1) -> DayRun:
        return DayRun(
            day=date(2026, 3, d),
            status=status,
            run_id=run_id,
            attempt=1,
            started_at=now,
            finished_at=None,
            counts={},
            error=None,
            lease_expires_at=now + timedelta(hours=lease_h),
        )

    neighbours = [
        rec(8, DayStatus.RUNNING, "backfill__a"),  # |8-10| = 2 <= L: overlaps
        rec(9, DayStatus.SUCCEEDED, "backfill__b"),  # finished
        rec(11, DayStatus.RUNNING, "backfill__c", lease_h=-1),  # lease expired
        rec(12, DayStatus.RUNNING, "scheduled__d"),  # overlaps
        rec(13, DayStatus.RUNNING, "scheduled__e"),  # |13-10| = 3 > L
        rec(10, DayStatus.RUNNING, "me"),  # the day itself: claim_day decides
    ]
    busy = pipeline.conflicting_runs(day, 2, "me", neighbours, now)
    assert [r.run_id for r in busy] == ["backfill__a", "scheduled__d"]
    assert pipeline.conflicting_runs(day, 0, "me", neighbours, now) == []
