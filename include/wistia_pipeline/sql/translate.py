"""Athena (Trino engine v3) SQL -> DuckDB SQL, with sqlglot.

The project's SQL is written for Athena and kept portable (explicit ``CAST(... AS DOUBLE)``
for every ratio, ISO date strings for ``dt``), so translation only has to rename functions
(``regexp_like`` -> ``regexp_matches``, ``sequence`` -> ``generate_series``, ...).
"""

from __future__ import annotations

import sqlglot
from sqlglot.errors import ParseError


class SqlTranslationError(ValueError):
    """sqlglot could not parse or translate the statement."""


def athena_to_duckdb_statements(sql: str) -> list[str]:
    """Translate Athena SQL (one or more statements) to a list of DuckDB statements."""
    try:
        statements = sqlglot.transpile(sql, read="athena", write="duckdb")
    except ParseError as exc:
        raise SqlTranslationError(f"cannot parse Athena SQL: {exc}") from exc
    statements = [s for s in statements if s.strip()]
    if not statements:
        raise SqlTranslationError("no SQL statement to translate")
    return statements


def athena_to_duckdb(sql: str) -> str:
    """Translate one or more Athena statements to DuckDB (statements joined by ``;\\n``)."""
    return ";\n".join(athena_to_duckdb_statements(sql))
