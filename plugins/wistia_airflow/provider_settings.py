"""What the aws target sets on the Amazon provider's operators beyond their templated arguments.

Light at import (the DAG file imports it): no boto3, no provider modules.
"""

from __future__ import annotations

from typing import Any

from wistia_airflow.runtime import settings

# The ingestion Lambda runs for minutes (timeout 900 s, include/infra/pipeline.yaml). botocore's
# default 60 s read timeout would cut the synchronous invoke and its retry would invoke the
# function again (throttled by reserved concurrency 1): wait longer than the function can run
# and never re-invoke from the client; Airflow's task retries own that decision.
LAMBDA_READ_TIMEOUT_S = 960
LAMBDA_BOTOCORE_CONFIG: dict[str, Any] = {
    "read_timeout": LAMBDA_READ_TIMEOUT_S,
    "connect_timeout": 10,
    "tcp_keepalive": True,
    "retries": {"max_attempts": 0},
}

# How long a Glue run may take before the wait gives up (the job's own timeout is shorter).
GLUE_MAX_WAIT_SECONDS = 24 * 3600


def apply_glue_wait_settings(context: Any) -> None:
    """``pre_execute`` of the Glue tasks: wait settings from the run-time config.

    ``GlueJobOperator`` does not template ``deferrable`` or its poll interval, so they are set
    here, when the task runs, from ``WISTIA_GLUE_DEFERRABLE`` and ``WISTIA_AWS_POLL_SECONDS``
    (env / Airflow Variables), like every other setting of the run.
    """
    res = settings()
    task = context["task"]
    delay = max(1, int(res.poll_seconds))
    task.deferrable = res.glue_deferrable
    task.waiter_delay = delay
    task.waiter_max_attempts = max(1, GLUE_MAX_WAIT_SECONDS // delay)
    task.job_poll_interval = delay
