"""What the aws target sets on the provider operators (wistia_airflow.provider_settings)."""

from __future__ import annotations


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


def test_glue_wait_settings_come_from_the_run_time_config(monkeypatch) -> None:
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

    from wistia_airflow.provider_settings import GLUE_MAX_WAIT_SECONDS, apply_glue_wait_settings

    gold = GlueJobOperator(task_id="gold", job_name="j", deferrable=True)
    monkeypatch.setenv("WISTIA_GLUE_DEFERRABLE", "false")
    monkeypatch.setenv("WISTIA_AWS_POLL_SECONDS", "15")
    apply_glue_wait_settings({"task": gold})
    assert (gold.deferrable, gold.waiter_delay, gold.job_poll_interval) == (False, 15, 15)
    assert gold.waiter_max_attempts * gold.waiter_delay == GLUE_MAX_WAIT_SECONDS
