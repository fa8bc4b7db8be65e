"""The project's own operators of ``wistia_daily``: the steps that are the same on both targets.

``claim_day``, ``checks``, ``publish`` and the ``mark_failed`` teardown run on both targets; the
ingest and Glue steps are the Amazon provider's operators on the aws target and
:mod:`wistia_airflow.local_operators` on the local one. Each operator resolves its target
(``WISTIA_TARGET``) and resource names when it executes. At import time this module needs only
``airflow.sdk``, the standard provider's ``BaseBranchOperator`` (the ``route`` branch of a
``publish_only`` run) and ``wistia_pipeline.pipeline``; nothing touches the network, the
metadata DB or Airflow Variables before ``execute()``.

A failed step's error reaches the ``mark_failed`` teardown through XCom (key ``error``), pushed
by :func:`wistia_airflow.callbacks.record_step_error`, the first failure callback of every task.

Every task of the DAG is built from :func:`guarded` (its class with :class:`RunGuardMixin`):
a permanent error (:func:`wistia_pipeline.errors.is_permanent`) fails the task at once,
without its retries, and the main-line steps after ``claim_day`` renew the day's claim as they
start and, from a background thread, while they run (:class:`ClaimHeartbeat`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.branch import BaseBranchOperator
from airflow.sdk import BaseOperator

from wistia_airflow import runtime
from wistia_airflow.callbacks import ERROR_XCOM_KEY
from wistia_airflow.plan import PLAN_TASK_ID, build_plan
from wistia_airflow.publish import publish_window
from wistia_airflow.runtime import RunInfo
from wistia_pipeline import pipeline
from wistia_pipeline.config import Settings
from wistia_pipeline.dates import require_finished_day
from wistia_pipeline.errors import permanent_error_name

MAX_COUNT_KEYS = 50
log = logging.getLogger(__name__)

# The steps that hold the day while they work: renew its claim (claim_day claims it; the
# teardowns finish or only read it).
HEARTBEAT_STEPS = frozenset(step.task_id for step in pipeline.STEPS if step is not pipeline.CLAIM)
# A deferred task (GlueJobOperator on the triggerer) cannot heartbeat: its lease covers the
# task's execution_timeout instead (this when it has none).
DEFERRED_LEASE_FALLBACK_SECONDS = 2 * 3600


# The branch after claim_day: the full run, or (param publish_only) straight to the checks and
# publish of the stage the latest run of the window left. Not a pipeline.Step: the Step
# Functions twin has no such state (its input has no publish_only).
ROUTE = pipeline.Step(
    "route",
    "Route",
    "state",
    "Branch: ingest, silver and gold, or (publish_only) only the checks and publish of the "
    "stage the latest run of the window left.",
)
OVERRIDES_XCOM_KEY = "overrides"


class OverlappingRunLive(RuntimeError):
    """A live run of another day has a window overlapping this run's (refused at claim)."""


class ClaimHeartbeat:
    """Renew run ``run_id``'s claim on ``days`` now and every lease / 3 seconds until stopped.

    The thread only logs a failed renewal: when the claim is lost the step's own writes
    (``mark_*``) refuse, and a transient store error must not kill a healthy step.
    """

    def __init__(
        self, store: Any, days: date | list[date], run_id: str, lease_seconds: int
    ) -> None:
        self.days = [days] if isinstance(days, date) else list(days)
        self.store, self.run_id, self.lease_seconds = store, run_id, lease_seconds
        self.day = self.days[-1]
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"claim-heartbeat-{self.day}", daemon=True
        )

    def renew(self, lease_seconds: int | None = None) -> Any:
        lease = lease_seconds or self.lease_seconds
        # Every day of a range run: a lapsed day could be claimed by an overlapping run.
        renewed = [self.store.renew_claim(day, self.run_id, lease) for day in self.days]
        return renewed[-1]

    def start(self) -> ClaimHeartbeat:
        self.renew()  # at the start of every step: a lost claim fails the step here
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(max(1.0, self.lease_seconds / 3)):
            try:
                self.renew()
            except Exception as exc:
                if not self._stop.is_set():
                    log.warning("could not renew the claim on %s: %s", self.days, exc)


class RunGuardMixin:
    """Fail fast on permanent errors; keep the day's claim alive while a main-line step runs.

    Mixed in front of an operator class by :func:`guarded`, so it wraps the class's own
    ``execute`` and the resumption of a deferred task (``resume_execution``).
    """

    def execute(self, context: Any) -> Any:
        with self._guard(context):
            return super().execute(context)  # type: ignore[misc]

    def resume_execution(
        self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any
    ) -> Any:
        with self._guard(context):
            return super().resume_execution(next_method, next_kwargs, context)  # type: ignore[misc]

    @contextlib.contextmanager
    def _guard(self, context: Any) -> Iterator[None]:
        heartbeat = None
        try:
            if self.task_id in HEARTBEAT_STEPS:  # type: ignore[attr-defined]
                heartbeat = _start_heartbeat(context)
            yield
        except BaseException as exc:  # TaskDeferred is a BaseException in the Task SDK
            if type(exc).__name__ == "TaskDeferred":
                if heartbeat is not None:
                    heartbeat.renew(_deferred_lease(self))
                raise
            if not isinstance(exc, Exception):
                raise
            name = permanent_error_name(exc)
            if name is None:
                raise
            from wistia_airflow.compat import fail_exception

            raise fail_exception()(
                f"{type(exc).__name__}: {exc} [permanent ({name}): failing without retries]"
            ) from exc
        finally:
            if heartbeat is not None:
                heartbeat.stop()


def _start_heartbeat(context: Any) -> ClaimHeartbeat:
    from wistia_pipeline.dates import days_between
    from wistia_pipeline.state import open_state_store

    settings = runtime.settings()
    days = days_between(*runtime.data_range(context))
    store = open_state_store(settings)
    return ClaimHeartbeat(store, days, str(context["run_id"]), settings.claim_lease_seconds).start()


def _deferred_lease(task: Any) -> int:
    timeout = getattr(task, "execution_timeout", None)
    return int(timeout.total_seconds()) if timeout else DEFERRED_LEASE_FALLBACK_SECONDS


@functools.cache
def guarded(operator_class: type[BaseOperator]) -> type[BaseOperator]:
    """``operator_class`` with :class:`RunGuardMixin` in front (same name and module, so the
    UI and serialization show the operator it is). One class per operator class."""
    return type(
        operator_class.__name__,
        (RunGuardMixin, operator_class),
        {"__module__": operator_class.__module__, "__doc__": operator_class.__doc__},
    )


class WistiaStepOperator(BaseOperator):
    """Base of the project's step operators: task id and doc from the pipeline description."""

    ui_color = "#54bbff"
    step: pipeline.Step

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("task_id", self.step.task_id)
        kwargs.setdefault("doc_md", self.step.doc)
        super().__init__(**kwargs)

    @staticmethod
    def run(context: Any, settings: Settings) -> RunInfo:
        return runtime.run_info(context, settings.lookback_days)

    @staticmethod
    def store(settings: Settings) -> Any:
        from wistia_pipeline.state import open_state_store

        return open_state_store(settings)

    @staticmethod
    def plan(context: Any) -> dict[str, Any]:
        """The run plan ``claim_day`` returned (:mod:`wistia_airflow.plan`)."""
        plan = context["ti"].xcom_pull(task_ids=PLAN_TASK_ID)
        if not isinstance(plan, dict):
            raise RuntimeError(f"no run plan from {PLAN_TASK_ID} (got {plan!r})")
        return plan


class ClaimDayOperator(WistiaStepOperator):
    """Setup: mark every data day of the run RUNNING by this run, in one atomic claim.

    While a live run with an overlapping window holds its days, the claim waits: it defers
    (the worker slot is freed; the triggerer wakes it every ``WISTIA_CLAIM_POKE_SECONDS``) and
    tries again, for at most ``WISTIA_CLAIM_WAIT_SECONDS``, then fails as
    ``OverlappingRunLive``. So a backfill whose runs overlap (any max active runs) completes,
    each run starting when its neighbours are done.
    """

    step = pipeline.CLAIM
    ui_color = "#c9e6ff"

    def execute(self, context: Any) -> dict[str, Any]:
        return self._claim(context, waiting_since=None)

    def execute_after_wait(
        self, context: Any, event: Any = None, waiting_since: str | None = None
    ) -> dict[str, Any]:
        """Resumed after a wait (the deferral's ``method_name``): try the claim again."""
        return self._claim(context, waiting_since=waiting_since)

    def _claim(self, context: Any, waiting_since: str | None) -> dict[str, Any]:
        from wistia_pipeline.state import DayAlreadyClaimed

        settings = runtime.settings()
        info = self.run(context, settings)
        # Before anything is written: only a day that has ended in UTC may run (a published
        # partial day would move the forward-only watermark past days still to come).
        require_finished_day(info.day)
        from wistia_pipeline.sql import list_queries

        # The override and publish_only params, checked before any work: a misspelt check or a
        # missing reason fails here with nothing claimed, not after hours of Glue.
        options = runtime.run_options(context.get("params") or {}, list_queries("checks"))
        # Resolve the plan before writing any state: a config error fails with nothing claimed.
        plan = build_plan(info, 0, settings, options)
        if waiting_since is None:  # a wrong token or an unwritable lake: fail before claiming
            self._preflight(settings, info, options)
        try:
            # One atomic write: every day of the range, refused (nothing written) while a live
            # run holds a day of the range or of the L days around it (overlapping windows).
            claimed = self.store(settings).claim_range(
                info.first,
                info.day,
                info.run_id,
                settings.claim_lease_seconds,
                guard_days=info.lookback_days,
            )
        except DayAlreadyClaimed as exc:
            self._wait_or_fail(settings, info, exc, waiting_since)
            raise AssertionError("unreachable: _wait_or_fail defers or raises") from exc
        attempt = claimed[-1].attempt
        self.log.info(
            "claimed %s..%s for run %s (attempt %s)", info.first, info.day, info.run_id, attempt
        )
        self._log_options(context, options)
        return {**plan, "attempt": attempt}

    def _preflight(self, settings: Settings, info: RunInfo, options: Any) -> None:
        """``wistia_pipeline.preflight`` for the target (aws: the ingestion Lambda's dry run;
        the MWAA role neither reads the token nor writes the lake). A publish-only run ingests
        nothing, so its token is not checked."""
        from wistia_pipeline.preflight import preflight

        invoke = None
        if settings.target == "aws":
            from airflow.providers.amazon.aws.hooks.lambda_function import LambdaHook

            invoke = LambdaHook(aws_conn_id=settings.aws_conn_id).invoke_lambda
        found = preflight(
            settings,
            info.day,
            info.run_id,
            invoke_lambda=invoke,
            token=not options.publish_only,
        )
        self.log.info("preflight: %s", found)

    def _wait_or_fail(
        self, settings: Settings, info: RunInfo, refused: Exception, waiting_since: str | None
    ) -> None:
        """Defer for a poke interval (the claim is tried again), or fail after the bound."""
        now = datetime.now(UTC)
        since = datetime.fromisoformat(waiting_since) if waiting_since else now
        waited = (now - since).total_seconds()
        if waited >= settings.claim_wait_seconds:
            raise OverlappingRunLive(
                f"cannot claim {info.first}..{info.day}: after waiting {waited:.0f} s a run "
                f"with an overlapping window is still live ({refused}); raise "
                "WISTIA_CLAIM_WAIT_SECONDS or release the holder (python -m "
                "wistia_pipeline.state release ...)"
            ) from refused
        self.log.info(
            "waiting for a live run with an overlapping window (%s); trying again in %s s "
            "(waited %.0f of %s s)",
            refused,
            settings.claim_poke_seconds,
            waited,
            settings.claim_wait_seconds,
        )
        # The standard provider's trigger (the same on every supported version), imported only
        # when a claim waits.
        from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger

        self.defer(
            trigger=TimeDeltaTrigger(timedelta(seconds=settings.claim_poke_seconds)),
            method_name="execute_after_wait",
            kwargs={"waiting_since": since.isoformat()},
        )

    def _log_options(self, context: Any, options: runtime.RunOptions) -> None:
        if options.publish_only:
            self.log.warning("publish_only: checks and publish of the window's latest stage only")
        if options.accepted_checks:
            self.log.warning(
                "override requested by %s: a failure of %s will not fail the run; reason: %s",
                runtime.triggered_by(context),
                ", ".join(options.accepted_checks),
                options.override_reason,
            )


class RouteOperator(WistiaStepOperator, BaseBranchOperator):
    """Branch after ``claim_day``: ``ingest`` and ``checks`` (the full run; ``checks`` waits for
    ``gold``), or with the ``publish_only`` param only ``checks``. The skipped ``ingest`` skips
    ``silver`` and ``gold`` with it; ``checks`` runs after skipped upstreams but never after a
    failed one (trigger rule ``none_failed_min_one_success``)."""

    step = ROUTE
    ui_color = "#e8e8e8"

    def choose_branch(self, context: Any) -> list[str]:
        if self.plan(context).get("publish_only"):
            self.log.info("publish_only: skipping ingest, silver and gold")
            return [pipeline.CHECKS.task_id]
        return [pipeline.INGEST.task_id, pipeline.CHECKS.task_id]


class ChecksOperator(WistiaStepOperator):
    """Run every data check over the window; a failure fails the task unless the run's
    override (params ``accept_failed_checks`` + ``override_reason``) names that check."""

    step = pipeline.CHECKS
    ui_color = "#f0e442"

    def execute(self, context: Any) -> list[dict[str, Any]]:
        from wistia_airflow.checks import override_records, run_checks
        from wistia_pipeline.sql import raise_for_failures

        plan = self.plan(context)
        start = date.fromisoformat(plan["window_start"])
        end = date.fromisoformat(plan["window_end"])
        results = run_checks(runtime.settings(), start, end)
        for result in results:
            self.log.info("check %s: %s failure(s) %s", *asdict(result).values())
        accepted = plan.get("accept_failed_checks") or []
        # Every check has run; only the failures nobody accepted fail the run.
        verdict = raise_for_failures(results, window=(start, end), accepted=accepted)
        records = override_records(
            verdict, plan.get("override_reason") or "", runtime.triggered_by(context)
        )
        for record in records:
            if record.used:
                self.log.warning(
                    "check %s FAILED with %s failure(s) (%s): OVERRIDDEN by %s, reason: %s",
                    record.check,
                    record.failures,
                    record.detail,
                    record.by,
                    record.reason,
                )
            else:
                self.log.info("override of check %s unused: the check passed", record.check)
        # Publish stores them with the day's run state; the report shows them.
        context["ti"].xcom_push(key=OVERRIDES_XCOM_KEY, value=[asdict(r) for r in records])
        return [asdict(r) for r in results]


def counts_from_summary(summary: Any) -> dict[str, int]:
    """Integer counts for the run-state record from the ingestion summary.

    The summary is a dict (local target) or the Lambda's response payload, JSON text (aws).
    """
    counts: dict[str, int] = {}
    if isinstance(summary, (str, bytes)):
        try:
            summary = json.loads(summary)
        except ValueError:
            return counts
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
    """Publish the run's checked stage of the window (with ``publish_only``: the latest stage
    of the window, whoever staged it), advance the watermark to ``D`` (never backwards) and
    mark ``D`` SUCCEEDED with the check overrides the run used. Runs only after ``checks``
    passed."""

    step = pipeline.PUBLISH
    ui_color = "#77dd77"

    def execute(self, context: Any) -> dict[str, Any]:
        settings = runtime.settings()
        info = self.run(context, settings)
        store = self.store(settings)
        ti = context["ti"]
        summary = ti.xcom_pull(task_ids=pipeline.INGEST.task_id)
        checks = ti.xcom_pull(task_ids=pipeline.CHECKS.task_id) or []
        overrides = check_overrides_of(ti)
        counts = {
            **counts_from_summary(summary),
            "checks_passed": sum(1 for c in checks if not c.get("failures")),
            "checks_overridden": sum(1 for o in overrides if o.used),
        }
        start, end = info.window
        # publish_only publishes the stage an earlier run left; publishing refuses when none of
        # this window is left or a later run re-staged its partitions.
        any_run = bool(self.plan(context).get("publish_only"))
        published = publish_window(settings, start, end, info.run_id, any_run=any_run)
        self.log.info("published the stage of %s..%s: %s", start, end, published)
        # Only now, with every day of the range checked and published: the watermark to D2,
        # then each day SUCCEEDED (the counts are the run's, recorded on each of its days).
        moved = store.advance_watermark(info.day, info.run_id)
        for day in info.days:
            store.mark_succeeded(day, info.run_id, counts, overrides=overrides)
        watermark = store.get_watermark()
        self.log.info(
            "published %s..%s (watermark %s, moved=%s)", info.first, info.day, watermark, moved
        )
        return {
            "day": info.day.isoformat(),
            "first_day": info.first.isoformat(),
            "watermark": watermark.isoformat() if watermark else None,
            "watermark_moved": moved,
            "counts": counts,
            "published_manifests": published["manifests"],
            "stage_run_id": published.get("run_id"),
        }


def check_overrides_of(ti: Any) -> list[Any]:
    """The check overrides the ``checks`` task recorded (XCom ``overrides``), as records."""
    from wistia_pipeline.state import CheckOverride

    raw = ti.xcom_pull(task_ids=pipeline.CHECKS.task_id, key=OVERRIDES_XCOM_KEY) or []
    return [CheckOverride(**item) for item in raw]


class MarkFailedOperator(WistiaStepOperator):
    """Teardown: when the run did not publish, mark ``D`` FAILED with the first step error.

    Runs after every step (as the teardown of ``claim_day``); a no-op when ``publish`` succeeded.
    The DAG run still fails: teardowns do not decide the run state.
    """

    step = pipeline.MARK_FAILED
    ui_color = "#ff6961"

    def execute(self, context: Any) -> dict[str, Any]:
        settings = runtime.settings()
        info = self.run(context, settings)
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
        marked = self.mark_days_failed(self.store(settings), info, error)
        self.log.error("marked %s FAILED: %s", marked, error)
        return {"marked_failed": bool(marked), "error": error, "days": marked}

    def mark_days_failed(self, store: Any, info: RunInfo, error: str) -> list[str]:
        """Mark FAILED every day of the range this run holds; a day it does not hold (a claim
        that never happened, or was refused) is left as it is."""
        from wistia_pipeline.state import NotClaimedByRun

        marked: list[str] = []
        for day in info.days:
            try:
                store.mark_failed(day, info.run_id, error)
            except NotClaimedByRun as exc:
                self.log.info("not marking %s: %s", day, exc)
                continue
            marked.append(day.isoformat())
        if not marked and len(info.days) == 1:
            # the daily run keeps its contract: a day it never held is an error to report
            store.mark_failed(info.day, info.run_id, error)
        return marked


class ReportOperator(WistiaStepOperator):
    """Teardown after ``publish``: render ``D``'s report to ``<lake>/reports/wistia/``.

    A teardown of ``claim_day`` downstream of ``publish`` (trigger rule
    ``all_done_setup_success``): it runs when ``publish`` succeeded (the day's numbers from
    gold) and when an earlier step failed (a page that says ``D`` is not published and why,
    never numbers that did not pass the checks); it does nothing when this run did not claim
    ``D``. As a teardown it does not decide the run's state: a report failure leaves the day
    published and the run successful, and is reported by the failure callbacks (the task turns
    red, the SNS alert is sent when configured). Rerun it by clearing ``report`` alone (clearing a
    teardown does not re-claim the day) or with ``make report DAY=``.
    """

    step = pipeline.REPORT
    ui_color = "#cfc2ea"

    def execute(self, context: Any) -> dict[str, Any]:
        from wistia_airflow.callbacks import notify_report
        from wistia_pipeline.report import generate_report, report_link
        from wistia_pipeline.report.model import CheckInfo, DayState

        settings = runtime.settings()
        info = self.run(context, settings)
        ti = context["ti"]
        store = self.store(settings)
        record = store.get_day(info.day)
        if ti.xcom_pull(task_ids=pipeline.PUBLISH.task_id):
            checks = ti.xcom_pull(task_ids=pipeline.CHECKS.task_id) or []
            state = DayState(
                status="published",
                run_id=info.run_id,
                finished_at=record.finished_at if record else None,
                checks_passed=len(checks),
                checks=tuple(
                    CheckInfo(str(c["check_name"]), int(c["failures"]), str(c["detail"]))
                    for c in checks
                ),
                # the stored record: what the run state says this day was published with
                overrides=tuple(record.overrides) if record else (),
            )
        elif record is None or record.run_id != info.run_id:
            holder = record.run_id if record else "nobody"
            self.log.info(
                "run %s does not hold %s (%s does): no report", info.run_id, info.day, holder
            )
            return {"rendered": False, "reason": f"{info.day} is held by {holder}"}
        else:
            state = DayState(
                status="failed",
                run_id=info.run_id,
                error=self.run_error(ti) or record.error,
            )
        result = generate_report(
            settings,
            info.day,
            lookback_days=info.lookback_days,
            state=state,
            runner=self.query_runner(settings),
            store=store,
        )
        link = report_link(settings, result.report_uri)
        self.log.info("report of %s (%s): %s", info.day, result.status, link)
        latest = report_link(settings, result.latest_uri) if result.latest_uri else None
        out = {**result.as_dict(), "rendered": True, "link": link, "latest_link": latest}
        out["notified"] = notify_report(context, settings, out)
        return out

    @staticmethod
    def run_error(ti: Any) -> str | None:
        """The first failed step's error (as ``mark_failed`` records it, which may not have yet)."""
        for step in pipeline.STEPS:
            error = ti.xcom_pull(task_ids=step.task_id, key=ERROR_XCOM_KEY)
            if error:
                return f"{step.task_id}: {error}"
        return None

    @staticmethod
    def query_runner(settings: Settings) -> Any:
        """DuckDB locally; on aws Athena through the run's Airflow AWS connection."""
        from wistia_pipeline.report.writer import query_runner

        if settings.target != "aws":
            return query_runner(settings)
        from airflow.providers.amazon.aws.hooks.athena import AthenaHook

        return query_runner(settings, AthenaHook(aws_conn_id=settings.aws_conn_id).get_conn())
