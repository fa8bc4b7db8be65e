"""What the aws target sets on the Amazon provider's operators beyond their templated arguments.

Light at import (the DAG file imports it): no boto3, no provider modules.
"""

from __future__ import annotations

from typing import Any

from wistia_airflow.runtime import settings
from wistia_pipeline.state.ingestion import MAX_WAIT_POLL_SECONDS

# NAT gateways and interface endpoints drop a connection idle for 350 s (botocore's
# tcp_keepalive only sets SO_KEEPALIVE; the kernel's first probe comes after 7200 s). No call of
# an Airflow task may wait longer than that for an answer, so the ingestion Lambda is invoked
# asynchronously (InvocationType=Event: answered at once) and its run's ingestion record is read
# with short calls (wistia_airflow.ingestion). A client retry of the invoke is safe: the record
# names one invocation, and the Lambda refuses to start a second time for it.
NAT_IDLE_TIMEOUT_S = 350
INGEST_INVOKE_BOTOCORE_CONFIG: dict[str, Any] = {
    "read_timeout": 30,
    "connect_timeout": 10,
    "retries": {"max_attempts": 3, "mode": "standard"},
}
# The wait reads the record at least this often: a crash shows as a lease lapsing
# WISTIA_INGEST_LEASE_SECONDS (60) after the last heartbeat, and the task must fail within 2
# minutes of it (the twin waits as long between reads).
MAX_INGEST_POLL_SECONDS = MAX_WAIT_POLL_SECONDS


def ingestion_poll_seconds(poll_seconds: float) -> float:
    """The ingestion wait's poll interval: ``WISTIA_AWS_POLL_SECONDS``, at most 15 s."""
    return max(1.0, min(float(poll_seconds), MAX_INGEST_POLL_SECONDS))


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
