"""Failure notification: publish a short message to SNS when a task of the run fails.

Off by default: it publishes only when ``WISTIA_ALERT_SNS_TOPIC_ARN`` (env or Airflow Variable)
is set. The message names the DAG, run, task, data day and error; never secrets.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from wistia_airflow.runtime import data_day, resources

log = logging.getLogger(__name__)


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
        "error": f"{type(exc).__name__}: {exc}"[:2000] if exc is not None else None,
    }


def notify_failure(context: Any) -> bool:
    """``on_failure_callback``: publish to SNS if a topic is configured; True if published."""
    topic = resources().alert_topic_arn
    if not topic:
        return False
    from airflow.providers.amazon.aws.hooks.sns import SnsHook

    message = failure_message(context)
    subject = f"wistia_daily failed: {message['task_id']} for {message['data_day']}"[:100]
    SnsHook(aws_conn_id=resources().aws_conn_id).publish_to_target(
        target_arn=topic, message=json.dumps(message, default=str), subject=subject
    )
    log.info("failure notification sent to %s", topic)
    return True
