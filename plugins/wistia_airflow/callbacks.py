"""Failure callbacks of every task of ``wistia_daily``.

- :func:`record_step_error` pushes the task's error to XCom (key ``error``) for the
  ``mark_failed`` teardown, which records it in the run-state store. It runs for the project's
  operators and the Amazon provider's alike.
- :func:`notify_failure` publishes a short message to SNS. Off by default: it publishes only when
  ``WISTIA_ALERT_SNS_TOPIC_ARN`` (env or Airflow Variable) is set. The message names the DAG,
  run, task, data day and error; never secrets.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from wistia_airflow.runtime import data_day, settings

log = logging.getLogger(__name__)

ERROR_XCOM_KEY = "error"
MAX_ERROR_XCOM_CHARS = 4000


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_XCOM_CHARS]


def record_step_error(context: Any) -> None:
    """``on_failure_callback``: the error of the failed task, as XCom ``error``."""
    exc = context.get("exception")
    if exc is None:
        return
    message = exc if isinstance(exc, str) else describe_error(exc)
    context["ti"].xcom_push(key=ERROR_XCOM_KEY, value=message[:MAX_ERROR_XCOM_CHARS])


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
