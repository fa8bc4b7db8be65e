"""Local target: the Lambda handler in-process, Glue scripts on local Spark, checks on DuckDB."""

from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path
from typing import Any

from wistia_airflow.adapters.base import Adapter, CheckOutcome, GlueRun
from wistia_pipeline import pipeline
from wistia_pipeline.config import Settings, repo_root

log = logging.getLogger(__name__)


def glue_script_path(step: str) -> Path:
    """``glue_scripts/<script>`` of a Glue step in this checkout."""
    try:
        name = pipeline.GLUE_SCRIPTS[step]
    except KeyError:
        raise ValueError(f"no Glue script for step {step!r}") from None
    path = repo_root() / "glue_scripts" / name
    if not path.is_file():
        raise FileNotFoundError(f"Glue script for step {step!r} not found at {path}")
    return path


class LocalAdapter(Adapter):
    def __init__(self, settings: Settings, resources: pipeline.Resources) -> None:
        self.settings = settings
        self.resources = resources

    def ingest(self, payload: dict[str, Any]) -> dict[str, Any]:
        from wistia_pipeline.lambda_handler import handler

        return handler(payload, None)

    def start_glue(self, step: str, args: dict[str, str]) -> GlueRun:
        from wistia_pipeline.local_spark import run_glue_script

        script = glue_script_path(step)
        started = time.monotonic()
        log.info("running %s under local Spark with %s", script.name, args)
        run_glue_script(str(script), args)
        return GlueRun(
            step=step,
            job_name=script.name,
            run_id="local",
            done=True,
            state="SUCCEEDED",
            detail={"duration_s": round(time.monotonic() - started, 3)},
        )

    def wait_glue(self, run: GlueRun) -> GlueRun:
        if not run.done or run.state != "SUCCEEDED":
            raise RuntimeError(f"local Glue run {run.job_name} did not succeed: {run.state}")
        return run

    def run_checks(self, start: date, end: date) -> list[CheckOutcome]:
        from wistia_pipeline.sql import run_checks_local

        results = run_checks_local(
            self.settings.lake_uri,
            start,
            end,
            tolerance=self.resources.check_tolerance,
            database=self.resources.athena_database,
        )
        return [CheckOutcome(r.check_name, int(r.failures), str(r.detail)) for r in results]
