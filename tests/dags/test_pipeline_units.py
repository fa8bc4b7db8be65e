"""Unit tests of the pipeline description and the small pure helpers of the Airflow plugin."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import boto3
import pytest

from wistia_airflow import callbacks, plan
from wistia_airflow.operators import counts_from_summary
from wistia_airflow.runtime import data_day, run_info
from wistia_pipeline import pipeline
from wistia_pipeline.config import load_settings


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


def test_data_day_is_the_interval_start(monkeypatch) -> None:
    context = {"data_interval_start": datetime(2026, 5, 4, tzinfo=UTC), "run_id": "r"}
    assert data_day(context) == date(2026, 5, 4)
    with pytest.raises(ValueError, match="data interval"):
        data_day({"data_interval_start": None})
    params = {"lookback_days": None, "streams": "events, medias"}
    info = run_info({**context, "params": params}, 3)
    assert (info.lookback_days, info.streams) == (3, ["medias", "events"])
    assert info.window == (date(2026, 5, 1), date(2026, 5, 4))
    assert run_info({**context, "params": {"lookback_days": 0}}, 3).lookback_days == 0
    assert run_info(context, 3).streams == list(pipeline.ALL_STREAMS)
    with pytest.raises(ValueError, match="lookback_days"):
        run_info({**context, "params": {"lookback_days": "two"}}, 3)


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
    assert counts_from_summary(json.dumps(summary)) == counts_from_summary(summary)  # aws: text
    assert counts_from_summary("not a dict") == {}
    assert counts_from_summary('"a JSON string"') == {}


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


def test_lambda_invoke_outwaits_the_function_and_never_reinvokes() -> None:
    from pathlib import Path

    from botocore.config import Config
    from cfnlint.decode import decode_str

    from wistia_airflow.provider_settings import LAMBDA_BOTOCORE_CONFIG

    template = Path(__file__).resolve().parents[2] / "include" / "infra" / "pipeline.yaml"
    params = decode_str(template.read_text())[0]["Parameters"]
    config = Config(**LAMBDA_BOTOCORE_CONFIG)  # what the provider's hook builds from the dict
    assert config.read_timeout > int(params["LambdaTimeoutSeconds"]["MaxValue"])
    assert config.retries == {"max_attempts": 0}


def test_run_plan_resolves_names_payload_and_glue_arguments(monkeypatch) -> None:
    context = {
        "data_interval_start": datetime(2026, 5, 4, tzinfo=UTC),
        "run_id": "scheduled__2026-05-04",
        "params": {"lookback_days": 1, "streams": ["events"]},
    }
    settings = load_settings(
        {
            "WISTIA_LAMBDA_FUNCTION": "fn",
            "WISTIA_GLUE_GOLD_JOB": "g",
            "WISTIA_AWS_CONN_ID": "c",
            "WISTIA_LAKE_URI": "s3://lake/x/",
            "WISTIA_PII_SECRET_ID": "wistia/pii",
        }
    )
    built = plan.build_plan(run_info(context, 2), 3, settings)
    window = {"--start_date": "2026-05-03", "--end_date": "2026-05-04"}
    args = {**window, "--lake_uri": "s3://lake/x", "--pii_secret_id": "wistia/pii"}
    assert built == {
        "day": "2026-05-04",
        "run_id": "scheduled__2026-05-04",
        "attempt": 3,
        "lookback_days": 1,
        "streams": ["events"],
        "window_start": "2026-05-03",
        "window_end": "2026-05-04",
        "aws_conn_id": "c",
        "lambda_function": "fn",
        "lambda_payload": {
            "logical_date": "2026-05-04",
            "lookback_days": 1,
            "streams": ["events"],
            "run_id": "scheduled__2026-05-04",
        },
        "glue": {
            "silver": {"job_name": "wistia-silver", "script_args": args},
            "gold": {"job_name": "g", "script_args": args},
        },
    }
    assert json.loads(json.dumps(built)) == built  # an XCom value as is
    # The local stand-in runs the script with the same values, without the Glue "--" prefix.
    assert pipeline.job_args_from_glue_arguments(args)["lake_uri"] == "s3://lake/x"
    with pytest.raises(ValueError, match="--<name>"):
        pipeline.job_args_from_glue_arguments({"lake_uri": "x"})


def test_plan_templates_render_to_native_values_and_json_text() -> None:
    from jinja2.nativetypes import NativeEnvironment

    value = {"glue": {"gold": {"script_args": {"--start_date": "2026-05-03"}}}, "p": {"a": 1}}

    class TI:
        def xcom_pull(self, task_ids: str) -> dict:
            assert task_ids == "claim_day"
            return value

    env = NativeEnvironment()
    rendered = env.from_string(plan.value("glue", "gold", "script_args")).render(ti=TI())
    assert rendered == {"--start_date": "2026-05-03"}
    from jinja2 import Environment

    assert Environment().from_string(plan.as_json("p")).render(ti=TI()) == '{"a": 1}'
    with pytest.raises(ValueError):
        plan.value()


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


def test_glue_wait_settings_come_from_the_run_time_config(monkeypatch) -> None:
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

    from wistia_airflow.provider_settings import GLUE_MAX_WAIT_SECONDS, apply_glue_wait_settings

    gold = GlueJobOperator(task_id="gold", job_name="j", deferrable=True)
    monkeypatch.setenv("WISTIA_GLUE_DEFERRABLE", "false")
    monkeypatch.setenv("WISTIA_AWS_POLL_SECONDS", "15")
    apply_glue_wait_settings({"task": gold})
    assert (gold.deferrable, gold.waiter_delay, gold.job_poll_interval) == (False, 15, 15)
    assert gold.waiter_max_attempts * gold.waiter_delay == GLUE_MAX_WAIT_SECONDS


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
