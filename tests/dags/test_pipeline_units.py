"""Unit tests of the pipeline description and the small pure helpers of the Airflow plugin."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import boto3
import pytest

from wistia_airflow import callbacks
from wistia_airflow.adapters.aws import AthenaQueryFailed, parse_check_result
from wistia_airflow.operators import counts_from_summary
from wistia_airflow.runtime import data_day, run_info
from wistia_pipeline import pipeline
from wistia_pipeline.ingest import ALL_STREAMS as INGEST_STREAMS


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


def test_streams_match_the_ingestion() -> None:
    assert tuple(pipeline.ALL_STREAMS) == tuple(INGEST_STREAMS)
    assert pipeline.check_streams(None) == list(pipeline.ALL_STREAMS)


def test_glue_args() -> None:
    args = pipeline.glue_job_args(date(2026, 1, 1), date(2026, 1, 3), "s3://b/lake/", "sec", 0.1)
    assert args == {
        "start_date": "2026-01-01",
        "end_date": "2026-01-03",
        "lake_uri": "s3://b/lake",
        "pii_secret_id": "sec",
        "max_reject_share": "0.1",
    }
    assert pipeline.glue_arguments({"a": "1"}) == {"--a": "1"}
    with pytest.raises(ValueError, match="after"):
        pipeline.glue_job_args(date(2026, 1, 3), date(2026, 1, 1), "/lake")


def test_resources_resolve_from_one_lookup() -> None:
    env = {
        "WISTIA_LAMBDA_FUNCTION": "fn",
        "WISTIA_GLUE_DEFERRABLE": "false",
        "WISTIA_CHECK_TOLERANCE": "0.25",
    }
    res = pipeline.resolve_resources(pipeline.env_lookup(env))
    assert res.lambda_function == "fn"
    assert res.glue_deferrable is False
    assert res.check_tolerance == 0.25
    assert res.gold_job == "wistia-gold"  # default
    assert res.glue_job("silver") == "wistia-silver"
    with pytest.raises(ValueError, match="WISTIA_GLUE_DEFERRABLE"):
        pipeline.resolve_resources(pipeline.env_lookup({"WISTIA_GLUE_DEFERRABLE": "maybe"}))


def test_data_day_is_the_interval_start(monkeypatch) -> None:
    context = {"data_interval_start": datetime(2026, 5, 4, tzinfo=UTC), "run_id": "r"}
    assert data_day(context) == date(2026, 5, 4)
    with pytest.raises(ValueError, match="data interval"):
        data_day({"data_interval_start": None})
    monkeypatch.setenv("WISTIA_LOOKBACK_DAYS", "3")
    info = run_info(context, None, "events, medias")
    assert (info.lookback_days, info.streams) == (3, ["medias", "events"])
    assert info.window == (date(2026, 5, 1), date(2026, 5, 4))
    assert run_info(context, 0, None).lookback_days == 0
    with pytest.raises(ValueError, match="lookback_days"):
        run_info(context, "two", None)


def test_counts_from_summary() -> None:
    summary = {
        "streams": {"events": {"records": 5, "requests": 2, "status": "ok"}, "medias": "x"},
        "requests_total": 9,
    }
    assert counts_from_summary(summary) == {
        "events_records": 5,
        "events_requests": 2,
        "requests_total": 9,
    }
    assert counts_from_summary("not a dict") == {}


def _rows(*rows):
    return {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": v} for v in r]} for r in rows]}}


def test_parse_check_result() -> None:
    ok = parse_check_result("c", "q", _rows(("check_name", "failures", "detail"), ("c", "0", "d")))
    assert ok.ok and ok.detail == "d"
    bad = parse_check_result("c", "q", _rows(("check_name", "failures", "detail"), ("c", "2", "x")))
    assert not bad.ok and bad.failures == 2
    with pytest.raises(AthenaQueryFailed, match="one row"):
        parse_check_result("c", "q", _rows(("check_name", "failures", "detail")))
    with pytest.raises(AthenaQueryFailed, match="integer"):
        parse_check_result("c", "q", _rows(("c", "many", "x")))


class _TI:
    dag_id, task_id, try_number = "wistia_daily", "gold", 2


def test_failure_notification_off_by_default(monkeypatch) -> None:
    monkeypatch.delenv("WISTIA_ALERT_SNS_TOPIC_ARN", raising=False)
    monkeypatch.setattr(callbacks, "resources", lambda: pipeline.resolve_resources({}.get))
    assert callbacks.notify_failure({"ti": _TI()}) is False


def test_failure_notification_publishes_to_sns(aws_env, monkeypatch) -> None:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="wistia-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    monkeypatch.setenv("WISTIA_ALERT_SNS_TOPIC_ARN", topic)
    context = {
        "ti": _TI(),
        "run_id": "scheduled__2026-05-04",
        "data_interval_start": datetime(2026, 5, 4, tzinfo=UTC),
        "exception": RuntimeError("gold failed"),
    }
    assert callbacks.notify_failure(context) is True
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    body = json.loads(messages[0]["Body"])
    assert body == {
        "dag_id": "wistia_daily",
        "run_id": "scheduled__2026-05-04",
        "task_id": "gold",
        "try_number": 2,
        "data_day": "2026-05-04",
        "error": "RuntimeError: gold failed",
    }


def test_lambda_invoke_outwaits_the_function_and_never_reinvokes() -> None:
    from pathlib import Path

    from cfnlint.decode import decode_str

    from wistia_airflow.adapters.aws import lambda_client_config

    template = Path(__file__).resolve().parents[2] / "include" / "infra" / "pipeline.yaml"
    params = decode_str(template.read_text())[0]["Parameters"]
    config = lambda_client_config()
    assert config.read_timeout > int(params["LambdaTimeoutSeconds"]["MaxValue"])
    assert config.retries == {"max_attempts": 0}


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
