"""Failure callbacks of every task of ``wistia_daily``.

- :func:`record_step_error` pushes the task's error to XCom (key ``error``) for the
  ``mark_failed`` teardown, which records it in the run-state store. It runs for the project's
  operators and the Amazon provider's alike.
- :func:`notify_failure` publishes a short message to SNS. Off by default: it publishes only when
  ``WISTIA_ALERT_SNS_TOPIC_ARN`` (env or Airflow Variable) is set. The message names the DAG,
  run, task, data day and error; never secrets.
- :func:`notify_report` (called by the ``report`` task, not a callback) publishes "the report
  of D is ready" with its link when ``WISTIA_REPORT_SNS_TOPIC_ARN`` is set.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from wistia_airflow.runtime import data_day, settings

log = logging.getLogger(__name__)

ERROR_XCOM_KEY = "error"
MAX_ERROR_XCOM_CHARS = 4000


def describe_error(exc: BaseException) -> str:
    # A permanent error reaches Airflow wrapped in AirflowFailException (operators.guarded)
    # whose message already starts with the original error's name: report that one.
    if type(exc).__name__ == "AirflowFailException" and exc.__cause__ is not None:
        return str(exc)[:MAX_ERROR_XCOM_CHARS]
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_XCOM_CHARS]


def record_step_error(context: Any) -> None:
    """``on_failure_callback``: the error of the failed task, as XCom ``error``."""
    exc = context.get("exception")
    if exc is None:
        return
    message = exc if isinstance(exc, str) else describe_error(exc)
    glue_error = glue_run_error(context.get("task"), message)
    if glue_error:
        message = f"{message}: {glue_error}"
    context["ti"].xcom_push(key=ERROR_XCOM_KEY, value=message[:MAX_ERROR_XCOM_CHARS])


_GLUE_RUN_EXIT = re.compile(r"Exiting Job (jr_[0-9a-f]+) Run State: ")


def glue_run_error(task: Any, message: str) -> str | None:
    """The ``ErrorMessage`` of the Glue run a ``GlueJobOperator`` waited for in the task.

    Waiting in the task (not deferrable), the provider fails with only ``Exiting Job <run>
    Run State: FAILED``; the run's own error (the script's exception) is read back here, as one
    line (:func:`wistia_pipeline.spark_errors.summarize`: the root cause and the file, the
    same line the local runner stores). The deferrable path's error already carries it.
    ``None`` when not applicable or unreadable.
    """
    match = _GLUE_RUN_EXIT.search(message)
    job_name = getattr(task, "job_name", None)
    if match is None or not isinstance(job_name, str):
        return None
    try:
        from airflow.providers.amazon.aws.hooks.glue import GlueJobHook

        hook = GlueJobHook(aws_conn_id=getattr(task, "aws_conn_id", "aws_default"))
        run = hook.conn.get_job_run(JobName=job_name, RunId=match.group(1))["JobRun"]
    except Exception:  # the original error is what matters; this is a detail
        log.warning("could not read Glue run %s of %s", match.group(1), job_name, exc_info=True)
        return None
    error = run.get("ErrorMessage")
    if not error:
        return None
    from wistia_pipeline.spark_errors import summarize

    return summarize(error)


def failure_message(context: Any) -> dict[str, Any]:
    ti = context.get("ti") or context.get("task_instance")
    exc = context.get("exception")
    try:
        day = data_day(context).isoformat()
    except ValueError:
        day = None
    return {
        "dag_id": getattr(ti, "dag_id", None),
        "run_id": context.get("run_id"),
        "task_id": getattr(ti, "task_id", None),
        "try_number": getattr(ti, "try_number", None),
        "data_day": day,
        "error": describe_error(exc)[:2000] if isinstance(exc, BaseException) else exc,
    }


def notify_failure(context: Any) -> bool:
    """``on_failure_callback``: publish to SNS if a topic is configured; True if published."""
    config = settings()
    topic = config.alert_topic_arn
    if not topic:
        return False
    from airflow.providers.amazon.aws.hooks.sns import SnsHook

    message = failure_message(context)
    subject = f"wistia_daily failed: {message['task_id']} for {message['data_day']}"[:100]
    SnsHook(aws_conn_id=config.aws_conn_id).publish_to_target(
        target_arn=topic, message=json.dumps(message, default=str), subject=subject
    )
    log.info("failure notification sent to %s", topic)
    return True


def notify_report(context: Any, config: Any, report: dict[str, Any]) -> bool:
    """The success notification: "the report of D is ready" with its link, to SNS.

    Sent by the ``report`` task when ``WISTIA_REPORT_SNS_TOPIC_ARN`` is set (off by default; a
    topic for the report's readers, apart from the failure alerts). The link is
    ``WISTIA_REPORT_BASE_URL`` + the report's key when set, else its ``s3://`` URI. True if sent.
    """
    topic = config.report_topic_arn
    if not topic:
        return False
    from airflow.providers.amazon.aws.hooks.sns import SnsHook

    published = report.get("status") == "published"
    message = {
        "dag_id": context.get("dag").dag_id if context.get("dag") else "wistia_daily",
        "run_id": context.get("run_id"),
        "data_day": report.get("day"),
        "status": report.get("status"),
        "report": report.get("link"),
        "latest": report.get("latest_link"),
    }
    subject = (
        f"Wistia daily report {report.get('day')}"
        f"{'' if published else ' - NOT published, see the report'}"
    )[:100]
    SnsHook(aws_conn_id=config.aws_conn_id).publish_to_target(
        target_arn=topic, message=json.dumps(message, default=str), subject=subject
    )
    log.info("report notification sent to %s", topic)
    return True
