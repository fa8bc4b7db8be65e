"""The local target's ingest and Glue steps: the same code and arguments as on AWS, on one machine.

They take the same templated arguments as the provider operators they stand in for
(``LambdaInvokeFunctionOperator``'s ``payload``, ``GlueJobOperator``'s ``script_args``), so both
targets run a day with the same values from the run plan (:mod:`wistia_airflow.plan`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator

from wistia_pipeline import pipeline


def glue_script_path(step: str) -> Path:
    """``glue_scripts/<script>`` of a Glue step in the checkout that holds these plugins.

    The local target runs from a checkout (or the compose image's copy of one), never from
    ``plugins.zip``; on AWS the scripts are the Glue jobs' ``ScriptLocation``.
    """
    try:
        name = pipeline.GLUE_SCRIPTS[step]
    except KeyError:
        raise ValueError(f"no Glue script for step {step!r}") from None
    path = Path(__file__).resolve().parents[2] / "glue_scripts" / name
    if not path.is_file():
        raise FileNotFoundError(f"Glue script for step {step!r} not found at {path}")
    return path


class LocalIngestOperator(BaseOperator):
    """The ingestion Lambda's handler, in-process, with the Lambda's payload."""

    template_fields: Sequence[str] = ("payload",)
    template_fields_renderers = {"payload": "json"}
    ui_color = "#ff9900"

    def __init__(self, *, payload: Any, **kwargs: Any) -> None:
        kwargs.setdefault("task_id", pipeline.INGEST.task_id)
        kwargs.setdefault("doc_md", pipeline.INGEST.doc)
        super().__init__(**kwargs)
        self.payload = payload

    def execute(self, context: Any) -> dict[str, Any]:
        from wistia_pipeline.lambda_handler import handler

        event = json.loads(self.payload) if isinstance(self.payload, str) else self.payload
        if not isinstance(event, Mapping):
            raise TypeError(f"the ingestion payload must be a JSON object, got {event!r}")
        self.log.info("ingesting with %s", json.dumps(event))
        summary = handler(dict(event), None)
        self.log.info("ingestion summary: %s", summary)
        return summary


class LocalGlueJobOperator(BaseOperator):
    """A Glue step's script under local Spark, with the Glue job's ``script_args``."""

    template_fields: Sequence[str] = ("script_args",)
    template_fields_renderers = {"script_args": "json"}
    ui_color = "#a77dc2"

    def __init__(self, *, step: pipeline.Step, script_args: Any, **kwargs: Any) -> None:
        if step not in pipeline.GLUE_STEPS:
            raise ValueError(f"{step.task_id} is not a Glue step")
        kwargs.setdefault("task_id", step.task_id)
        kwargs.setdefault("doc_md", step.doc)
        super().__init__(**kwargs)
        self.step = step
        self.script_args = script_args

    def execute(self, context: Any) -> dict[str, Any]:
        from wistia_pipeline.local_spark import run_glue_script

        if not isinstance(self.script_args, Mapping):
            raise TypeError(f"script_args must be a mapping, got {self.script_args!r}")
        script = glue_script_path(self.step.task_id)
        started = time.monotonic()
        run_glue_script(str(script), pipeline.job_args_from_glue_arguments(self.script_args))
        return {
            "step": self.step.task_id,
            "script": script.name,
            "state": "SUCCEEDED",
            "duration_s": round(time.monotonic() - started, 3),
        }
