"""The operators of ``wistia_daily``: one per pipeline step, the same on both targets.

Each operator resolves its target (``WISTIA_TARGET``) and resource names when it executes, then
calls the shared run-state store or the target's adapter. At import time this module needs only
``airflow.sdk`` and ``wistia_pipeline.pipeline``; nothing touches the network, the metadata DB or
Airflow Variables before ``execute()``.

A step that fails pushes its error to XCom (key ``error``) and re-raises, so the ``mark_failed``
teardown can record the error in the run-state store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from airflow.sdk import BaseOperator

from wistia_airflow.runtime import RunInfo, resources, run_info
from wistia_pipeline import pipeline

T = TypeVar("T")
ERROR_XCOM_KEY = "error"
MAX_ERROR_XCOM_CHARS = 4000
MAX_COUNT_KEYS = 50


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_XCOM_CHARS]


class WistiaStepOperator(BaseOperator):
    """Base of the step operators: run info from the context, error capture for the teardown."""

    template_fields: Sequence[str] = ("lookback_days", "streams")
    ui_color = "#54bbff"
    step: pipeline.Step

    def __init__(
        self,
        *,
        lookback_days: object = "{{ params.lookback_days }}",
        streams: object = "{{ params.streams }}",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("task_id", self.step.task_id)
        kwargs.setdefault("doc_md", self.step.doc)
        super().__init__(**kwargs)
        self.lookback_days = lookback_days
        self.streams = streams

    # -- helpers -------------------------------------------------------------------------------
    def run(self, context: Any) -> RunInfo:
        return run_info(context, self.lookback_days, self.streams)  # type: ignore[arg-type]

    @staticmethod
    def settings() -> Any:
        from wistia_pipeline.config import load_settings

        return load_settings()

    def store(self) -> Any:
        from wistia_pipeline.state import open_state_store

        return open_state_store(self.settings())

    def adapter(self) -> Any:
        from wistia_airflow.adapters import get_adapter

        return get_adapter(self.settings(), resources())

    def guarded(self, context: Any, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:
            context["ti"].xcom_push(key=ERROR_XCOM_KEY, value=describe_error(exc))
            raise

    def execute(self, context: Any) -> Any:
        return self.guarded(context, lambda: self.run_step(context))

    def run_step(self, context: Any) -> Any:
        raise NotImplementedError


class ClaimDayOperator(WistiaStepOperator):
    """Setup: mark day ``D`` RUNNING by this run (fails if another live run holds it)."""

    step = pipeline.CLAIM
    ui_color = "#c9e6ff"

    def run_step(self, context: Any) -> dict[str, Any]:
        info = self.run(context)
        store = self.store()
        lookback = info.lookback_days
        around = store.list_days(
            info.day - timedelta(days=lookback), info.day + timedelta(days=lookback)
        )
        busy = pipeline.conflicting_runs(info.day, lookback, info.run_id, around, datetime.now(UTC))
        if busy:
            held = ", ".join(f"{r.day} by {r.run_id}" for r in busy)
            raise RuntimeError(
                f"cannot claim {info.day}: runs with overlapping windows are live ({held}); "
                "the task retries (backfills of wistia_daily need --max-active-runs 1)"
            )
        claimed = store.claim_day(info.day, info.run_id)
        self.log.info("claimed %s for run %s (attempt %s)", info.day, info.run_id, claimed.attempt)
        start, end = info.window
        return {
            "day": info.day.isoformat(),
            "run_id": info.run_id,
            "attempt": claimed.attempt,
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
        }


class IngestOperator(WistiaStepOperator):
    """Ingest ``[D - L, D]`` to bronze: the Lambda (aws) or its handler in-process (local)."""

    step = pipeline.INGEST
    ui_color = "#ff9900"

    def run_step(self, context: Any) -> dict[str, Any]:
        info = self.run(context)
        payload = pipeline.lambda_payload(info.day, info.lookback_days, info.streams, info.run_id)
        summary = self.adapter().ingest(payload)
        self.log.info("ingestion summary: %s", summary)
        return summary


class GlueStepOperator(WistiaStepOperator):
    """Run a Glue job (silver or gold) over the window; deferrable on the aws target."""

    ui_color = "#a77dc2"

    def __init__(self, *, step: pipeline.Step, **kwargs: Any) -> None:
        if step not in pipeline.GLUE_STEPS:
            raise ValueError(f"{step.task_id} is not a Glue step")
        self.step = step
        super().__init__(**kwargs)

    def run_step(self, context: Any) -> dict[str, Any]:
        from wistia_airflow.adapters import GlueRun

        info = self.run(context)
        settings = self.settings()
        res = resources()
        start, end = info.window
        args = pipeline.glue_job_args(
            start, end, settings.lake_uri, settings.pii_secret_id, res.max_reject_share
        )
        adapter = self.adapter()
        run: GlueRun = adapter.start_glue(self.step.task_id, args)
        if run.done:
            return adapter.wait_glue(run).result()
        if res.glue_deferrable:
            self.defer(
                trigger=adapter.glue_trigger(run),
                method_name="execute_complete",
                kwargs={"run": asdict(run)},
            )
        return adapter.wait_glue(run).result()

    def execute_complete(
        self, context: Any, event: dict[str, Any] | None = None, run: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Resume after the trigger. The Glue run comes from ``run`` (our defer kwargs) or, when
        a runner passes only the event (``dag.test()`` does), from the event's ``run_id``."""
        from wistia_airflow.adapters import GlueRun

        def finish() -> dict[str, Any]:
            if not event or event.get("status") != "success":
                raise RuntimeError(f"Glue job of step {self.step.task_id} did not succeed: {event}")
            if run is not None:
                glue_run = GlueRun(**run)
            elif event.get("run_id"):
                job = resources().glue_job(self.step.task_id)
                glue_run = GlueRun(self.step.task_id, job, str(event["run_id"]), done=False)
            else:
                raise RuntimeError(f"resumed without the Glue run id (event {event})")
            return self.adapter().finish_glue(glue_run).result()

        return self.guarded(context, finish)


class ChecksOperator(WistiaStepOperator):
    """Run every data check over the window; any failure fails the task."""

    step = pipeline.CHECKS
    ui_color = "#f0e442"

    def run_step(self, context: Any) -> list[dict[str, Any]]:
        from wistia_airflow.adapters import ChecksFailed

        info = self.run(context)
        start, end = info.window
        outcomes = self.adapter().run_checks(start, end)
        if not outcomes:
            raise RuntimeError("no data checks ran (the checks SQL directory is empty?)")
        for outcome in outcomes:
            self.log.info("check %s: %s failure(s) %s", *asdict(outcome).values())
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise ChecksFailed(start, end, failed)
        return [asdict(o) for o in outcomes]


def counts_from_summary(summary: Any) -> dict[str, int]:
    """Integer counts for the run-state record from the ingestion summary."""
    counts: dict[str, int] = {}
    if not isinstance(summary, dict):
        return counts
    streams = summary.get("streams")
    for name, stream in sorted(streams.items() if isinstance(streams, dict) else []):
        if isinstance(stream, dict):
            for key in ("records", "requests"):
                value = stream.get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    counts[f"{name}_{key}"] = value
    total = summary.get("requests_total")
    if isinstance(total, int) and not isinstance(total, bool):
        counts["requests_total"] = total
    return dict(list(counts.items())[:MAX_COUNT_KEYS])


class PublishOperator(WistiaStepOperator):
    """Advance the watermark to ``D`` (never backwards) and mark ``D`` SUCCEEDED."""

    step = pipeline.PUBLISH
    ui_color = "#77dd77"

    def run_step(self, context: Any) -> dict[str, Any]:
        info = self.run(context)
        store = self.store()
        summary = context["ti"].xcom_pull(task_ids=pipeline.INGEST.task_id)
        checks = context["ti"].xcom_pull(task_ids=pipeline.CHECKS.task_id) or []
        counts = {**counts_from_summary(summary), "checks_passed": len(checks)}
        moved = store.advance_watermark(info.day, info.run_id)
        store.mark_succeeded(info.day, info.run_id, counts)
        watermark = store.get_watermark()
        self.log.info("published %s (watermark %s, moved=%s)", info.day, watermark, moved)
        return {
            "day": info.day.isoformat(),
            "watermark": watermark.isoformat() if watermark else None,
            "watermark_moved": moved,
            "counts": counts,
        }


class MarkFailedOperator(WistiaStepOperator):
    """Teardown: when the run did not publish, mark ``D`` FAILED with the first step error.

    Runs after every step (as the teardown of ``claim_day``); a no-op when ``publish`` succeeded.
    The DAG run still fails: teardowns do not decide the run state.
    """

    step = pipeline.MARK_FAILED
    ui_color = "#ff6961"

    def run_step(self, context: Any) -> dict[str, Any]:
        info = self.run(context)
        ti = context["ti"]
        if ti.xcom_pull(task_ids=pipeline.PUBLISH.task_id):
            self.log.info("run %s published %s; nothing to mark", info.run_id, info.day)
            return {"marked_failed": False}
        error = None
        for step in pipeline.STEPS:
            error = ti.xcom_pull(task_ids=step.task_id, key=ERROR_XCOM_KEY)
            if error:
                error = f"{step.task_id}: {error}"
                break
        if not error:
            error = (
                f"run {info.run_id} did not publish {info.day}: a step failed without reporting "
                "an error (killed, timed out or upstream failed); see the Airflow task logs"
            )
        self.store().mark_failed(info.day, info.run_id, error)
        self.log.error("marked %s FAILED: %s", info.day, error)
        return {"marked_failed": True, "error": error}

    def execute(self, context: Any) -> Any:
        # The teardown's own failure is not a step error: no XCom capture.
        return self.run_step(context)
