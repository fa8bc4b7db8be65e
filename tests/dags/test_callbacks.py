"""Failure callbacks (wistia_airflow.callbacks)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3

from wistia_airflow import callbacks
from wistia_pipeline.config import load_settings


class _TI:
    dag_id, task_id, try_number = "wistia_daily", "gold", 2


def test_failure_notification_off_by_default(monkeypatch) -> None:
    monkeypatch.delenv("WISTIA_ALERT_SNS_TOPIC_ARN", raising=False)
    monkeypatch.setattr(callbacks, "settings", lambda: load_settings({}))
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


def test_record_step_error_pushes_the_error_for_the_teardown() -> None:
    pushed = {}

    class TI:
        def xcom_push(self, key: str, value: str) -> None:
            pushed[key] = value

    callbacks.record_step_error({"ti": TI(), "exception": ValueError("x" * 10_000)})
    assert pushed["error"].startswith("ValueError: xxx")
    assert len(pushed["error"]) == callbacks.MAX_ERROR_XCOM_CHARS
    callbacks.record_step_error({"ti": TI(), "exception": "killed by the scheduler"})
    assert pushed["error"] == "killed by the scheduler"
    pushed.clear()
    callbacks.record_step_error({"ti": TI()})
    assert pushed == {}
