"""Freshness: how old the published data is, measured whether or not the pipeline runs.

The stack's ``FreshnessFunction`` (handler :func:`handler`, shipped in the ingestion zip) is
started by its own EventBridge schedule, never by the DAG or the Step Functions twin, so a
pipeline that stopped running at all (scheduler down, DAG paused, stack half deleted) is still
noticed. Each invocation reads the run-state watermark (one consistent ``GetItem``) and puts
the metric ``Wistia/Pipeline`` ``WatermarkAgeHours`` (dimension ``Environment``). The alert is
a CloudWatch alarm on that metric, above the stack's ``FreshnessMaxAgeHours`` *or missing*: no
watermark yet, or a checker that stopped reporting, alerts too.

The age is data age, not run age: the watermark day ``D`` means every day up to ``D`` is
published, so its data is complete at ``D + 1`` 00:00 UTC, and the age counts from there. With
the daily schedule the age cycles between about 0 and 24 hours plus the run time; the default
limit of 36 hours therefore alerts when a day's run is about 12 hours late.

Event (the schedule's constant input; every field optional)::

    {"max_age_hours": 36, "environment": "dev"}

Stdlib + boto3 (the Lambda runtime's) + :mod:`wistia_pipeline.state.dynamodb`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from wistia_pipeline.config import load_settings
from wistia_pipeline.dates import utcnow
from wistia_pipeline.state.dynamodb import DynamoDBRunStateStore

log = logging.getLogger(__name__)

NAMESPACE = "Wistia/Pipeline"
METRIC_NAME = "WatermarkAgeHours"
DIMENSION = "Environment"
DEFAULT_MAX_AGE_HOURS = 36.0


@dataclass(frozen=True)
class Freshness:
    """What one check found: the watermark, its age and whether that is past the limit."""

    watermark: date | None
    age_hours: float | None  # None: no watermark (nothing was ever published)
    max_age_hours: float

    @property
    def stale(self) -> bool:
        return self.age_hours is None or self.age_hours > self.max_age_hours

    def as_dict(self) -> dict[str, Any]:
        return {
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "age_hours": self.age_hours,
            "max_age_hours": self.max_age_hours,
            "stale": self.stale,
        }


def data_complete_at(watermark: date) -> datetime:
    """When the watermark day's data is complete: the next day's 00:00 UTC."""
    return datetime.combine(watermark + timedelta(days=1), time(0), tzinfo=UTC)


def assess(watermark: date | None, now: datetime, max_age_hours: float) -> Freshness:
    """The watermark's age at ``now`` (a tz-aware instant), in hours, against the limit."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if max_age_hours <= 0:
        raise ValueError(f"max_age_hours must be positive, got {max_age_hours!r}")
    if watermark is None:
        return Freshness(None, None, max_age_hours)
    age = (now - data_complete_at(watermark)).total_seconds() / 3600
    return Freshness(watermark, round(age, 3), max_age_hours)


def metric_data(freshness: Freshness, environment: str) -> list[dict[str, Any]]:
    """The ``PutMetricData`` items: none without a watermark, so the alarm sees missing data
    (treated as breaching) instead of a made-up age."""
    if freshness.age_hours is None:
        return []
    return [
        {
            "MetricName": METRIC_NAME,
            "Dimensions": [{"Name": DIMENSION, "Value": environment}],
            "Value": freshness.age_hours,
            "Unit": "None",  # hours: CloudWatch has no hour unit
        }
    ]


def _max_age(event: dict[str, Any]) -> float:
    raw = event.get("max_age_hours", DEFAULT_MAX_AGE_HOURS)
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw <= 0:
        raise ValueError(f"event field 'max_age_hours' must be a positive number, got {raw!r}")
    return float(raw)


def check(
    store: DynamoDBRunStateStore,
    cloudwatch: Any,
    environment: str,
    max_age_hours: float,
    now: datetime | None = None,
) -> Freshness:
    """Read the watermark, put its age as the metric, log a warning when stale."""
    freshness = assess(store.get_watermark(), now or utcnow(), max_age_hours)
    data = metric_data(freshness, environment)
    if data:
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
    if freshness.stale:
        log.warning("published data is stale: %s", freshness.as_dict())
    else:
        log.info("published data is fresh: %s", freshness.as_dict())
    return freshness


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The scheduled check; returns :meth:`Freshness.as_dict`."""
    import boto3  # the Lambda runtime's; imported here so the module loads without it

    event = event if isinstance(event, dict) else {}
    environment = event.get("environment") or "default"
    if not isinstance(environment, str):
        raise ValueError(f"event field 'environment' must be a string, got {environment!r}")
    max_age_hours = _max_age(event)  # refuse a bad event before any AWS client is made
    store = DynamoDBRunStateStore(load_settings().state_table)
    freshness = check(store, boto3.client("cloudwatch"), environment, max_age_hours)
    return {**freshness.as_dict(), "environment": environment}
