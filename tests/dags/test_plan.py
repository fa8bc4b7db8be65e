"""The run plan claim_day resolves and the Jinja that reads it (wistia_airflow.plan)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from wistia_airflow import plan
from wistia_airflow.runtime import run_info
from wistia_pipeline import pipeline
from wistia_pipeline.config import load_settings


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
    args = {
        **window,
        "--lake_uri": "s3://lake/x",
        "--run_id": "scheduled__2026-05-04",
        "--pii_secret_id": "wistia/pii",
    }
    assert built == {
        "day": "2026-05-04",
        "first_day": "2026-05-04",
        "days": 1,
        "run_id": "scheduled__2026-05-04",
        "attempt": 3,
        "lookback_days": 1,
        "streams": ["events"],
        "publish_only": False,
        "accept_failed_checks": [],
        "override_reason": None,
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
