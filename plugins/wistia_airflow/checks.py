"""The ``checks`` task's runner: every ``checks/*.sql`` over the window, on the run's target.

aws: Athena through the Amazon provider's ``AthenaHook``; local: DuckDB over the local lake.
Both return :class:`~wistia_pipeline.sql.CheckResult`; the operator fails the run with
:func:`~wistia_pipeline.sql.raise_for_failures` unless the run's override accepts every failed
check (:func:`override_records` turns the verdict into the records the run state keeps). The SQL package (sqlglot), DuckDB and the
provider are imported only when checks run: Airflow imports every plugins file at startup.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from wistia_pipeline.config import Settings
from wistia_pipeline.publishing import STAGING, staging_database

if TYPE_CHECKING:
    from wistia_pipeline.sql import CheckResult, CheckVerdict
    from wistia_pipeline.state import CheckOverride

ATHENA_MAX_WAIT_SECONDS = 30 * 60
MAX_DETAIL_CHARS = 500  # a check's detail kept with an override (the run state's text bound)


class AthenaQueryFailed(RuntimeError):
    """An Athena check query did not succeed."""


def override_records(verdict: CheckVerdict, reason: str, by: str) -> list[CheckOverride]:
    """One record per check the run's override named: the failed checks it let through (with
    what they reported) first, then the named checks that passed (``failures`` 0: unused)."""
    from wistia_pipeline.state import CheckOverride

    used = [
        CheckOverride(r.check_name, r.failures, r.detail[:MAX_DETAIL_CHARS], reason, by)
        for r in verdict.overridden
    ]
    unused = [CheckOverride(name, 0, "", reason, by) for name in verdict.unused]
    return used + unused


def run_checks(settings: Settings, start: date, end: date) -> list[CheckResult]:
    """Run every data check over ``[start, end]`` on ``settings.target``; all results, passed
    or not. Raises if no check ran at all.

    The checks read the run's *staged* silver and gold (``<db>_staging``): readers of the
    published tables never see output whose checks have not passed.
    """
    if settings.target == "local":
        from wistia_pipeline.sql import run_checks_local

        results = run_checks_local(
            settings.lake_uri,
            start,
            end,
            tolerance=settings.check_tolerance,
            database=staging_database(settings.athena_database),
            area=STAGING,
        )
    elif settings.target == "aws":
        results = run_checks_athena(settings, start, end)
    else:
        raise ValueError(f"unknown target {settings.target!r}: expected 'local' or 'aws'")
    if not results:
        raise RuntimeError("no data checks ran (the checks SQL directory is empty?)")
    return results


def run_checks_athena(settings: Settings, start: date, end: date) -> list[CheckResult]:
    """The checks on Athena: all queries are started first and then awaited, so they run
    concurrently."""
    from airflow.providers.amazon.aws.hooks.athena import AthenaHook

    from wistia_pipeline.sql import check_result_from_athena, list_queries, render_sql

    hook = AthenaHook(aws_conn_id=settings.aws_conn_id)
    database = staging_database(settings.athena_database)
    output = {"OutputLocation": settings.athena_output} if settings.athena_output else {}
    started: dict[str, str] = {}
    for name in list_queries("checks"):
        sql = render_sql(
            "checks",
            name,
            start_date=start,
            end_date=end,
            database=database,
            tolerance=settings.check_tolerance,
        )
        started[name] = hook.run_query(
            sql,
            query_context={"Database": database},
            result_configuration=output,
            workgroup=settings.athena_workgroup,
        )
    sleep = max(1, int(settings.poll_seconds))
    results = []
    for name, query_id in started.items():
        state = hook.poll_query_status(
            query_id, max_polling_attempts=ATHENA_MAX_WAIT_SECONDS // sleep, sleep_time=sleep
        )
        if state != "SUCCEEDED":
            reason = hook.get_state_change_reason(query_id)
            raise AthenaQueryFailed(f"check {name} (query {query_id}) ended {state}: {reason}")
        response = hook.get_query_results(query_id)
        results.append(check_result_from_athena(f"checks/{name} (query {query_id})", response))
    return results
