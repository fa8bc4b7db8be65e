"""What the aws target sets on the provider operators (wistia_airflow.provider_settings)."""

from __future__ import annotations


def test_no_ingestion_call_waits_past_a_nat_idle_timeout() -> None:
    """Issue 13: the invoke is asynchronous and answered at once; its read timeout (and every
    poll of the record) stays far below the 350 s after which a NAT drops an idle connection,
    and a crash (a lease of WISTIA_INGEST_LEASE_SECONDS lapsing) is seen within 2 minutes."""
    from botocore.config import Config

    from wistia_airflow.provider_settings import (
        INGEST_INVOKE_BOTOCORE_CONFIG,
        NAT_IDLE_TIMEOUT_S,
        ingestion_poll_seconds,
    )
    from wistia_pipeline.config import load_settings

    config = Config(**INGEST_INVOKE_BOTOCORE_CONFIG)
    assert config.read_timeout + config.connect_timeout < NAT_IDLE_TIMEOUT_S
    settings = load_settings({})
    assert ingestion_poll_seconds(settings.poll_seconds) <= 15
    assert ingestion_poll_seconds(600) == 15 and ingestion_poll_seconds(0.1) == 1
    assert settings.ingest_lease_seconds + ingestion_poll_seconds(settings.poll_seconds) <= 120
    assert settings.ingest_start_seconds + ingestion_poll_seconds(settings.poll_seconds) <= 120


def test_glue_wait_settings_come_from_the_run_time_config(monkeypatch) -> None:
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

    from wistia_airflow.provider_settings import GLUE_MAX_WAIT_SECONDS, apply_glue_wait_settings

    gold = GlueJobOperator(task_id="gold", job_name="j", deferrable=True)
    monkeypatch.setenv("WISTIA_GLUE_DEFERRABLE", "false")
    monkeypatch.setenv("WISTIA_AWS_POLL_SECONDS", "15")
    apply_glue_wait_settings({"task": gold})
    assert (gold.deferrable, gold.waiter_delay, gold.job_poll_interval) == (False, 15, 15)
    assert gold.waiter_max_attempts * gold.waiter_delay == GLUE_MAX_WAIT_SECONDS
