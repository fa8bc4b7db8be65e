"""The report's reads of the lake: Athena SQL, run on DuckDB locally and on Athena on AWS.

The SQL is the project's (``report/sql/*.sql`` here, plus ``examples/daily_summary`` and
``examples/reconciliation_report``),
rendered with :func:`wistia_pipeline.sql.render_template`. A runner takes rendered Athena SQL by
name and returns rows as dicts with Python values (int, float, str, datetime, None):

- :class:`DuckDBRunner`: one in-memory DuckDB over the local lake
  (:func:`wistia_pipeline.sql.connect_local`), the SQL translated by the project's translator.
- :class:`AthenaRunner`: a boto3 Athena client (works in an Airflow worker and in a Lambda);
  every query is started first, then awaited, so they run concurrently.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any, Protocol

from wistia_pipeline.report.model import TOP_TREND_MEDIA, TREND_DAYS

Row = dict[str, Any]


class QueryRunner(Protocol):
    def run_many(self, queries: Mapping[str, str]) -> dict[str, list[Row]]:
        """Rendered Athena SQL by name -> the rows of each query."""
        ...


def report_sql(name: str) -> str:
    """The raw template of ``report/sql/<name>.sql``."""
    return resources.files(__package__).joinpath("sql", f"{name}.sql").read_text("utf-8")


def report_queries(day: date, lookback_days: int, database: str) -> dict[str, str]:
    """The rendered Athena SQL the report of ``day`` needs, by name."""
    from wistia_pipeline.sql import load_sql, render_template

    trend_start = day - timedelta(days=TREND_DAYS - 1)
    window_start = day - timedelta(days=lookback_days)
    templates = {
        "daily_totals": (load_sql("examples", "daily_summary"), trend_start),
        "media_day": (report_sql("media_day"), day),
        "media_trend": (report_sql("media_trend"), trend_start),
        "reconciliation": (load_sql("examples", "reconciliation_report"), window_start),
    }
    return {
        name: render_template(
            template,
            {
                "start_date": start,
                "end_date": day,
                "database": database,
                "top_n": TOP_TREND_MEDIA,
            },
            f"report/{name}",
        )
        for name, (template, start) in templates.items()
    }


class DuckDBRunner:
    """The report's queries on DuckDB over a local lake directory."""

    def __init__(self, lake_uri: str, database: str = "wistia") -> None:
        self.lake_uri = lake_uri
        self.database = database

    def run_many(self, queries: Mapping[str, str]) -> dict[str, list[Row]]:
        from wistia_pipeline.sql import connect_local
        from wistia_pipeline.sql.translate import athena_to_duckdb_statements

        con = connect_local(self.lake_uri, self.database)
        try:
            out: dict[str, list[Row]] = {}
            for name, sql in queries.items():
                result = None
                for statement in athena_to_duckdb_statements(sql):
                    result = con.execute(statement)
                if result is None or result.description is None:
                    out[name] = []
                    continue
                columns = [d[0] for d in result.description]
                out[name] = [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
            return out
        finally:
            con.close()


class AthenaQueryFailed(RuntimeError):
    """An Athena query of the report did not succeed."""


def _athena_timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace(" UTC", "").strip())
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# Athena result types -> Python (results arrive as text; NULL has no VarCharValue).
_ATHENA_TYPES: Mapping[str, Callable[[str], Any]] = {
    "tinyint": int,
    "smallint": int,
    "integer": int,
    "bigint": int,
    "double": float,
    "float": float,
    "real": float,
    "decimal": float,
    "boolean": lambda text: text.lower() == "true",
    "timestamp": _athena_timestamp,
    "timestamp with time zone": _athena_timestamp,
}


def athena_rows(pages: list[Mapping[str, Any]]) -> list[Row]:
    """Rows of ``GetQueryResults`` pages (the first row of the first page is the header)."""
    if not pages:
        return []
    columns = pages[0]["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    names = [c["Name"] for c in columns]
    parsers = [_ATHENA_TYPES.get(c["Type"].lower(), str) for c in columns]
    rows: list[Row] = []
    for index, page in enumerate(pages):
        data = page["ResultSet"]["Rows"]
        for raw in data[1:] if index == 0 else data:
            cells = raw["Data"]
            rows.append(
                {
                    name: (parse(cell["VarCharValue"]) if "VarCharValue" in cell else None)
                    for name, parse, cell in zip(names, parsers, cells, strict=True)
                }
            )
    return rows


class AthenaRunner:
    """The report's queries on Athena (a boto3 ``athena`` client)."""

    def __init__(
        self,
        client: Any,
        database: str,
        workgroup: str,
        output_location: str | None = None,
        poll_seconds: float = 1.0,
        max_wait_seconds: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.database = database
        self.workgroup = workgroup
        self.output_location = output_location
        self.poll_seconds = poll_seconds
        self.max_wait_seconds = max_wait_seconds
        self.sleep = sleep

    def run_many(self, queries: Mapping[str, str]) -> dict[str, list[Row]]:
        extra = (
            {"ResultConfiguration": {"OutputLocation": self.output_location}}
            if self.output_location
            else {}
        )
        started = {
            name: self.client.start_query_execution(
                QueryString=sql,
                QueryExecutionContext={"Database": self.database},
                WorkGroup=self.workgroup,
                **extra,
            )["QueryExecutionId"]
            for name, sql in queries.items()
        }
        out: dict[str, list[Row]] = {}
        for name, query_id in started.items():
            self._wait(name, query_id)
            pages = list(
                self.client.get_paginator("get_query_results").paginate(QueryExecutionId=query_id)
            )
            out[name] = athena_rows(pages)
        return out

    def _wait(self, name: str, query_id: str) -> None:
        waited = 0.0
        while True:
            status = self.client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"][
                "Status"
            ]
            state = status["State"]
            if state == "SUCCEEDED":
                return
            if state in ("FAILED", "CANCELLED"):
                reason = status.get("StateChangeReason", "")
                raise AthenaQueryFailed(f"report query {name} ({query_id}) {state}: {reason}")
            if waited >= self.max_wait_seconds:
                raise AthenaQueryFailed(
                    f"report query {name} ({query_id}) still {state} after {waited:.0f}s"
                )
            self.sleep(self.poll_seconds)
            waited += self.poll_seconds
