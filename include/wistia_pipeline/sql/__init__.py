"""Athena SQL for the lake (DDL, data checks, example queries) and its local DuckDB runner.

The SQL files live in this package (``files/ddl``, ``files/checks``, ``files/examples``) so they
ship wherever the package ships (MWAA ``plugins.zip``, wheel, checkout). See
``include/sql/README.md``.
"""

from __future__ import annotations

from .checks import (
    CheckResult,
    CheckVerdict,
    DataCheckFailed,
    check_result_from_athena,
    check_result_from_rows,
    judge_checks,
    raise_for_failures,
)
from .loader import (
    KINDS,
    SqlNotFound,
    list_queries,
    load_sql,
    sql_root,
)
from .local import LocalSchemaMismatch, connect_local, run_checks_local, run_query_local
from .render import PARAMETERS, SqlParamError, render_template
from .translate import SqlTranslationError, athena_to_duckdb


def render_sql(kind: str, name: str, **params: object) -> str:
    """The Athena SQL text of ``<kind>/<name>.sql`` with validated ``params`` substituted.

    DDL comes back as one bare statement (no ``--`` comment lines, no trailing ``;``), the
    form Athena's StartQueryExecution expects for DDL.
    """
    sql = render_template(load_sql(kind, name), params, f"{kind}/{name}")
    if kind == "ddl":
        lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
        sql = "\n".join(lines).strip().rstrip(";").rstrip()
    return sql


__all__ = [
    "KINDS",
    "PARAMETERS",
    "CheckResult",
    "CheckVerdict",
    "DataCheckFailed",
    "LocalSchemaMismatch",
    "SqlNotFound",
    "SqlParamError",
    "SqlTranslationError",
    "athena_to_duckdb",
    "check_result_from_athena",
    "check_result_from_rows",
    "connect_local",
    "judge_checks",
    "list_queries",
    "load_sql",
    "raise_for_failures",
    "render_sql",
    "render_template",
    "run_checks_local",
    "run_query_local",
    "sql_root",
]
