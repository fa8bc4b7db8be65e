"""The ``publish`` task's data step: make the run's checked stage the published data.

local: :func:`wistia_pipeline.publishing.publish` in the task. aws: the publish Lambda
(``wistia_pipeline.publish_handler``), the same code, so the MWAA role never writes the lake.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from wistia_pipeline.config import Settings


class PublishFailed(RuntimeError):
    """The publish Lambda returned an error (its message is kept)."""


def publish_window(
    settings: Settings, start: date, end: date, run_id: str, any_run: bool = False
) -> dict[str, Any]:
    """Publish the stage of ``[start, end]`` staged by ``run_id`` (``any_run``: by any run)."""
    if settings.target == "local":
        import dataclasses

        from wistia_pipeline.publishing import publish
        from wistia_pipeline.storage import open_storage

        lake = settings.lake_uri
        result = publish(open_storage(lake), lake, None if any_run else run_id, start, end)
        return {**dataclasses.asdict(result), "start": start.isoformat(), "end": end.isoformat()}
    if settings.target != "aws":
        raise ValueError(f"unknown target {settings.target!r}: expected 'local' or 'aws'")
    return _invoke(settings, start, end, run_id, any_run)


def _invoke(settings: Settings, start: date, end: date, run_id: str, any_run: bool) -> dict:
    from airflow.providers.amazon.aws.hooks.lambda_function import LambdaHook

    event = {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "run_id": run_id,
        "any_run": any_run,
    }
    response = LambdaHook(aws_conn_id=settings.aws_conn_id).invoke_lambda(
        function_name=settings.publish_function,
        invocation_type="RequestResponse",
        payload=json.dumps(event),
    )
    body = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        message = body.get("errorMessage") if isinstance(body, dict) else body
        kind = body.get("errorType") if isinstance(body, dict) else "Error"
        raise PublishFailed(f"{settings.publish_function}: {kind}: {message}")
    return body
