"""The freshness check (wistia_pipeline.freshness): its age rule, its metric, and the handler
against DynamoDB and CloudWatch on the moto server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import boto3
import pytest

from wistia_pipeline import freshness
from wistia_pipeline.state.dynamodb import DynamoDBRunStateStore, create_table

D = date(2026, 3, 9)
COMPLETE = datetime(2026, 3, 10, tzinfo=UTC)  # D's data is complete at the next midnight


def test_age_counts_from_the_end_of_the_watermark_day() -> None:
    assert freshness.data_complete_at(D) == COMPLETE
    fresh = freshness.assess(D, COMPLETE + timedelta(hours=6, minutes=30), 36)
    assert fresh.age_hours == 6.5 and not fresh.stale
    # the next day's run is ~12 h late: past the default limit
    late = freshness.assess(D, COMPLETE + timedelta(hours=36, seconds=36), 36)
    assert late.age_hours == 36.01 and late.stale
    assert not freshness.assess(D, COMPLETE + timedelta(hours=36), 36).stale  # at the limit


def test_no_watermark_is_stale_and_puts_no_metric() -> None:
    found = freshness.assess(None, COMPLETE, 36)
    assert found.stale and found.age_hours is None
    # no data point: the alarm treats missing data as breaching, instead of a made-up age
    assert freshness.metric_data(found, "dev") == []
    assert found.as_dict() == {
        "watermark": None, "age_hours": None, "max_age_hours": 36, "stale": True,
    }  # fmt: skip


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        freshness.assess(D, datetime(2026, 3, 10), 36)
    with pytest.raises(ValueError, match="positive"):
        freshness.assess(D, COMPLETE, 0)
    for bad in (0, -1, "36", True):
        with pytest.raises(ValueError, match="max_age_hours"):
            freshness.handler({"max_age_hours": bad}, None)


def test_metric_names_the_environment() -> None:
    (datum,) = freshness.metric_data(freshness.assess(D, COMPLETE, 36), "prod")
    assert datum["MetricName"] == freshness.METRIC_NAME == "WatermarkAgeHours"
    assert datum["Dimensions"] == [{"Name": "Environment", "Value": "prod"}]
    assert datum["Value"] == 0.0


def _metric_values(environment: str) -> list[float]:
    cloudwatch = boto3.client("cloudwatch")
    now = datetime.now(UTC)
    result = cloudwatch.get_metric_statistics(
        Namespace=freshness.NAMESPACE,
        MetricName=freshness.METRIC_NAME,
        Dimensions=[{"Name": "Environment", "Value": environment}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=3600,
        Statistics=["Maximum"],
    )
    return [p["Maximum"] for p in result["Datapoints"]]


def test_handler_reads_the_watermark_and_puts_its_age(aws_env, monkeypatch) -> None:
    create_table(boto3.client("dynamodb"), "wistia-fresh-state")
    monkeypatch.setenv("WISTIA_STATE_TABLE", "wistia-fresh-state")
    monkeypatch.setenv("WISTIA_TARGET", "aws")
    event = {"max_age_hours": 36, "environment": "fresh-test"}

    empty = freshness.handler(event, None)
    assert empty["stale"] is True and empty["watermark"] is None
    assert _metric_values("fresh-test") == []  # missing data: the alarm fires

    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    DynamoDBRunStateStore("wistia-fresh-state").advance_watermark(yesterday, "run-1")
    found = freshness.handler(event, None)
    assert found["watermark"] == yesterday.isoformat() and found["stale"] is False
    assert found["environment"] == "fresh-test"
    (value,) = _metric_values("fresh-test")
    assert 0 <= value < 24 and value == pytest.approx(found["age_hours"])
