"""AWS target: the data checks on Athena through the Amazon provider's ``AthenaHook``.

All check queries are started first and then awaited, so they run concurrently in Athena.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from wistia_airflow.adapters.base import Adapter, CheckOutcome
from wistia_pipeline import pipeline
from wistia_pipeline.config import Settings

ATHENA_MAX_WAIT_SECONDS = 30 * 60


class AthenaQueryFailed(RuntimeError):
    """An Athena check query did not succeed."""


class AwsAdapter(Adapter):
    def __init__(self, settings: Settings, resources: pipeline.Resources) -> None:
        self.settings = settings
        self.resources = resources

    # --- checks -------------------------------------------------------------------------------
    def run_checks(self, start: date, end: date) -> list[CheckOutcome]:
        from airflow.providers.amazon.aws.hooks.athena import AthenaHook

        from wistia_pipeline.sql import list_queries, render_sql

        res = self.resources
        hook = AthenaHook(aws_conn_id=res.aws_conn_id)
        result_conf = {"OutputLocation": res.athena_output} if res.athena_output else {}
        started: list[tuple[str, str]] = []
        for name in list_queries("checks"):
            sql = render_sql(
                "checks",
                name,
                start_date=start.isoformat(),
                end_date=end.isoformat(),
                database=res.athena_database,
                tolerance=res.check_tolerance,
            )
            query_id = hook.run_query(
                sql,
                query_context={"Database": res.athena_database},
                result_configuration=result_conf,
                workgroup=res.athena_workgroup,
            )
            started.append((name, query_id))
        sleep = max(1, int(res.poll_seconds))
        outcomes = []
        for name, query_id in started:
            state = hook.poll_query_status(
                query_id, max_polling_attempts=ATHENA_MAX_WAIT_SECONDS // sleep, sleep_time=sleep
            )
            if state != "SUCCEEDED":
                reason = hook.get_state_change_reason(query_id)
                raise AthenaQueryFailed(f"check {name} (query {query_id}) ended {state}: {reason}")
            outcomes.append(parse_check_result(name, query_id, hook.get_query_results(query_id)))
        return outcomes


def parse_check_result(name: str, query_id: str, results: dict[str, Any] | None) -> CheckOutcome:
    """One check's Athena ``GetQueryResults`` (header row + one row) -> :class:`CheckOutcome`."""
    rows = ((results or {}).get("ResultSet") or {}).get("Rows") or []
    values = [[col.get("VarCharValue") for col in row.get("Data", [])] for row in rows]
    if values and values[0][:2] == ["check_name", "failures"]:
        values = values[1:]  # Athena returns the header as the first row
    if len(values) != 1 or len(values[0]) < 2:
        raise AthenaQueryFailed(
            f"check {name} (query {query_id}) must return one row (check_name, failures, detail), "
            f"got {values!r}"
        )
    row = values[0]
    try:
        failures = int(row[1])
    except (TypeError, ValueError):
        raise AthenaQueryFailed(f"check {name}: failures is not an integer: {row[1]!r}") from None
    detail = row[2] if len(row) > 2 and row[2] is not None else ""
    return CheckOutcome(check_name=row[0] or name, failures=failures, detail=detail)
