"""``wistia_airflow.compat`` on the installed Airflow and Amazon provider: each shim gives the
behaviour the DAG relies on (``make test-compat`` runs this on every supported MWAA version)."""

from __future__ import annotations

import importlib.util
import os
from importlib.metadata import version
from pathlib import Path

import pytest
from jinja2.nativetypes import NativeEnvironment

from wistia_dev import mwaa_versions

REPO = Path(__file__).resolve().parents[2]


def load_dag(monkeypatch: pytest.MonkeyPatch, target: str):
    monkeypatch.setenv("WISTIA_TARGET", target)
    spec = importlib.util.spec_from_file_location(
        f"wistia_daily_{target}", REPO / "dags" / "wistia_daily.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def test_installed_versions_are_the_tables() -> None:
    """The installed Airflow is a supported one, with the table's providers (and, under
    ``make test-compat``, the version the job meant)."""
    row = mwaa_versions.get(version("apache-airflow"))
    assert os.environ.get("WISTIA_COMPAT_AIRFLOW_VERSION", row.airflow) == row.airflow
    assert version("apache-airflow-providers-amazon") == row.amazon
    assert version("apache-airflow-providers-common-sql") == row.common_sql


def test_timetable_is_the_range_catchup_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranges of up to WISTIA_MAX_RANGE_DAYS when behind, one day when current; a manual run
    at D+1 covers D (its data interval is [D, D+1))."""
    from datetime import UTC, datetime

    dag = load_dag(monkeypatch, "local")
    timetable = dag.timetable
    assert type(timetable).__name__ == "RangeCatchupTimetable"
    assert timetable.max_range_days == 7
    run_after = datetime(2026, 3, 2, tzinfo=UTC)
    interval = timetable.infer_manual_data_interval(run_after=run_after)
    assert (interval.start, interval.end) == (datetime(2026, 3, 1, tzinfo=UTC), run_after)


def test_lambda_payload_renders_natively_as_an_object(monkeypatch) -> None:
    """The DAG renders natively: the ingest task's payload is the plan's dict, not JSON text
    (the operator serialises it for the asynchronous invoke), like the Glue script_args."""
    dag = load_dag(monkeypatch, "aws")
    payload = {"day": "2026-03-06", "dry_run": False, "window": [1, 2]}

    class TI:
        def xcom_pull(self, task_ids: str) -> dict:
            return {"lambda_payload": payload, "lambda_function": "f", "aws_conn_id": "aws"}

    for task_id, field in (("ingest", "payload"), ("silver", "script_args")):
        task = dag.get_task(task_id)
        env = task.get_template_env()
        assert isinstance(env, NativeEnvironment)
        template = getattr(task, field)
        if task_id == "ingest":
            assert env.from_string(template).render(ti=TI()) == payload


def test_glue_retry_resumes_where_the_provider_can(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

    from wistia_airflow.compat import glue_resume_on_retry

    dag = load_dag(monkeypatch, "aws")
    kwargs = glue_resume_on_retry(GlueJobOperator)
    for step in ("silver", "gold"):
        task = dag.get_task(step)
        assert task.deferrable is True
        assert getattr(task, "resume_glue_job_on_retry", False) is bool(kwargs)
