"""The run plan: everything a run resolves once, when ``claim_day`` runs, for the later tasks.

``claim_day`` returns the plan as its XCom: the data day, the window, the Lambda function and
payload, and each Glue job's name and ``script_args``, all resolved at run time from the one
config source (env / Airflow Variables, ``wistia_pipeline.config.SETTINGS``). The
other tasks take their arguments from it through Jinja (:func:`value`, :func:`as_json`), so the
provider operators on the aws target and the local operators get the same values, and every
retry of a run uses the values of its claim. Building the plan is pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from wistia_pipeline import pipeline
from wistia_pipeline.config import Settings

PLAN_TASK_ID = pipeline.CLAIM.task_id


def build_plan(info: Any, attempt: int, settings: Settings, options: Any = None) -> dict[str, Any]:
    """The plan of run ``info`` (a :class:`wistia_airflow.runtime.RunInfo`) with the
    operator's ``options`` (a :class:`wistia_airflow.runtime.RunOptions`; None: the defaults)."""
    start, end = info.window
    job_args = pipeline.glue_job_args(
        start,
        end,
        settings.lake_uri,
        info.run_id,
        settings.pii_secret_id,
        settings.max_reject_share,
    )
    return {
        "day": info.day.isoformat(),
        # The run covers the data days [first_day, day] (first_day = day: the daily run).
        "first_day": info.first.isoformat(),
        "days": len(info.days),
        "run_id": info.run_id,
        "attempt": attempt,
        "lookback_days": info.lookback_days,
        "streams": list(info.streams),
        # publish_only: route skips ingest/silver/gold; the override: checks and publish
        "publish_only": bool(getattr(options, "publish_only", False)),
        "accept_failed_checks": list(getattr(options, "accepted_checks", ())),
        "override_reason": getattr(options, "override_reason", None),
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "aws_conn_id": settings.aws_conn_id,
        "lambda_function": settings.lambda_function,
        "lambda_payload": pipeline.lambda_payload(
            info.day, info.lookback_days, info.streams, info.run_id, info.first
        ),
        "glue": {
            step.task_id: {
                "job_name": settings.glue_job(step.task_id),
                "script_args": pipeline.glue_arguments(job_args),
            }
            for step in pipeline.GLUE_STEPS
        },
    }


def _path(keys: tuple[str, ...]) -> str:
    if not keys:
        raise ValueError("a plan value needs at least one key")
    return f"ti.xcom_pull(task_ids={PLAN_TASK_ID!r})" + "".join(f"[{k!r}]" for k in keys)


def value(*keys: str) -> str:
    """Jinja for one value of the plan; the DAG renders natively, so a dict stays a dict."""
    return "{{ " + _path(keys) + " }}"


def as_json(*keys: str) -> str:
    """Jinja for one value of the plan as JSON text (for a task rendering to strings)."""
    return "{{ " + _path(keys) + " | tojson }}"
