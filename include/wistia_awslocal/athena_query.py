"""Athena queries on DuckDB.

A statement is parsed with sqlglot (dialect ``athena``); a parse error is the query's failure
reason. Every table it names is resolved ONLY through the Glue Data Catalog (``db.table``,
``awsdatacatalog.db.table``, or a bare name in the execution's database): a database or table
the catalog lacks fails the query with Athena's ``SCHEMA_NOT_FOUND`` / ``TABLE_NOT_FOUND``
reason at the name's position. Each table becomes a view over its Parquet objects in this
server's S3, built by the local target's own view code (:mod:`wistia_pipeline.sql.local`), read
through DuckDB's httpfs extension (from the ``duckdb-ext-httpfs`` wheel, loaded by path, never
downloaded) pointed at this server; the SQL runs translated by the local target's translator
(:func:`wistia_pipeline.sql.translate.athena_to_duckdb_statements`).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from wistia_pipeline.sql import local
from wistia_pipeline.sql.translate import SqlTranslationError, athena_to_duckdb_statements

from .athena_catalog import AthenaError, table_data
from .athena_ddl import ddl_kind

CATALOG = "awsdatacatalog"
FAKE_KEY = "awslocal"  # fake credentials for this server's S3 (moto accepts any)


class QueryCancelled(Exception):
    """StopQueryExecution arrived while the query was between DuckDB statements."""


@dataclass(frozen=True)
class Parsed:
    """A submitted query: its one statement (or the reason it cannot run) and its type."""

    statement: exp.Expression | None
    error: str | None
    statement_type: str  # DDL, DML or UTILITY, as GetQueryExecution reports it
    substatement_type: str
    sql: str = ""  # as submitted (error positions refer to it)
    text: str = ""  # the SQL to run: as submitted, or re-rendered with its parameters bound


@dataclass(frozen=True)
class QueryOutput:
    columns: list[tuple[str, str]]  # (name, DuckDB type)
    rows: list[tuple[Any, ...]]
    scanned_bytes: int


def _syntax_error(exc: ParseError | TokenError) -> str:
    errors = getattr(exc, "errors", None)
    if not errors:
        return f"SYNTAX_ERROR: {exc}"
    first = errors[0]
    col = max(1, int(first.get("col") or 1) - len(str(first.get("highlight") or "")) + 1)
    return f"SYNTAX_ERROR: line {first.get('line') or 1}:{col}: {first.get('description')}"


def _bind(statement: exp.Expression, parameters: list[str]) -> None:
    """Substitute ExecutionParameters for the ``?`` placeholders, in order."""
    placeholders = list(statement.find_all(exp.Placeholder, bfs=False))
    if len(placeholders) != len(parameters):
        raise AthenaError(
            "INVALID_PARAMETER_USAGE: Incorrect number of parameters: "
            f"expected {len(placeholders)} but found {len(parameters)}"
        )
    for node, value in zip(placeholders, parameters, strict=True):
        node.replace(sqlglot.parse_one(value, read="athena"))


def _types(statement: exp.Expression) -> tuple[str, str]:
    kind = ddl_kind(statement)
    if kind:
        return "DDL", kind
    if isinstance(statement, exp.Query):
        return "DML", "SELECT"
    if isinstance(statement, exp.Command) and statement.name.upper() in ("SHOW", "DESCRIBE"):
        return "UTILITY", statement.name.upper()
    return "DDL" if isinstance(statement, exp.Create | exp.Drop | exp.Alter) else "DML", "UNKNOWN"


def parse_query(sql: str, parameters: list[str] | None = None) -> Parsed:
    """Parse the one statement of ``sql`` (Athena runs exactly one per query)."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="athena") if s is not None]
    except (ParseError, TokenError) as exc:
        return Parsed(None, _syntax_error(exc), "DML", "UNKNOWN")
    if len(statements) != 1:
        reason = f"SYNTAX_ERROR: Only one sql statement is allowed. Got: {len(statements)}"
        return Parsed(None, reason, "DML", "UNKNOWN")
    statement = statements[0]
    statement_type, substatement_type = _types(statement)
    text = sql
    try:
        if parameters:
            _bind(statement, parameters)
            text = statement.sql(dialect="athena")
    except (AthenaError, ParseError, TokenError) as exc:
        return Parsed(None, str(exc), statement_type, substatement_type)
    error = None
    if substatement_type in ("UNKNOWN", "SHOW", "DESCRIBE"):
        error = f"NOT_SUPPORTED: this local Athena runs SELECT and DDL only: {sql.strip()[:80]}"
    return Parsed(statement, error, statement_type, substatement_type, sql, text)


@dataclass(frozen=True)
class TableRef:
    catalog: str
    database: str
    name: str
    line: int
    col: int


def _position(sql: str, node: exp.Expression) -> tuple[int, int]:
    start = node.meta.get("start") if isinstance(node, exp.Identifier) else None
    if start is None:
        return 1, 1
    line_start = sql.rfind("\n", 0, start) + 1
    return sql.count("\n", 0, start) + 1, start - line_start + 1


def table_refs(statement: exp.Expression, sql: str, database: str) -> list[TableRef]:
    """The catalog tables a query names (CTE names excluded), in text order. A table function
    (DuckDB's ``read_parquet(...)`` and the like) is no Athena table: the query fails."""
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    refs = []
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            function = table.this.sql(dialect="athena").split("(")[0].lower()
            raise AthenaError(f"FUNCTION_NOT_FOUND: Table function '{function}' not registered")
        if not table.db and table.name.lower() in ctes:
            continue
        first = table.args.get("catalog") or table.args.get("db") or table.this
        line, col = _position(sql, first)
        catalog = (table.catalog or CATALOG).lower()
        refs.append(
            TableRef(catalog, (table.db or database).lower(), table.name.lower(), line, col)
        )
    return sorted(refs, key=lambda ref: (ref.line, ref.col))


def resolve(refs: list[TableRef], glue: Any) -> dict[tuple[str, str], Any]:
    """The Glue tables behind ``refs``; the first missing one fails the query as Athena does."""
    tables = {}
    for ref in refs:
        where = f"line {ref.line}:{ref.col}"
        if ref.catalog != CATALOG:
            raise AthenaError(f"CATALOG_NOT_FOUND: {where}: Catalog '{ref.catalog}' does not exist")
        database = glue.databases.get(ref.database)
        if database is None:
            raise AthenaError(f"SCHEMA_NOT_FOUND: {where}: Schema '{ref.database}' does not exist")
        if ref.name not in database.tables:
            raise AthenaError(
                f"TABLE_NOT_FOUND: {where}: Table '{CATALOG}.{ref.database}.{ref.name}' "
                "does not exist"
            )
        tables[(ref.database, ref.name)] = database.tables[ref.name]
    return tables


@functools.cache
def httpfs_extension() -> Path:
    """The httpfs extension file of the installed ``duckdb-ext-httpfs`` wheel."""
    spec = importlib.util.find_spec("duckdb_ext")
    platform = duckdb.execute("PRAGMA platform").fetchone()[0]  # type: ignore[index]
    relative = Path("extensions") / f"v{duckdb.__version__}" / platform / "httpfs.duckdb_extension"
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / relative).is_file():
            return Path(folder) / relative
    raise RuntimeError(
        f"DuckDB's httpfs extension ({relative}) is not installed: add duckdb-ext-httpfs "
        f"matching duckdb {duckdb.__version__} (uv sync)"
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_ENGINES: dict[tuple[str, str], duckdb.DuckDBPyConnection] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(endpoint_url: str, region: str) -> duckdb.DuckDBPyConnection:
    """The process's DuckDB instance for this server: httpfs loaded once (its signature check
    takes ~0.3 s) and an S3 secret pointed at ``endpoint_url``."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get((endpoint_url, region))
        if engine is not None:
            return engine
        engine = duckdb.connect(
            ":memory:",
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
        engine.execute(f"LOAD {_quote(str(httpfs_extension()))}")
        url = urlsplit(endpoint_url)
        engine.execute(
            f"CREATE SECRET awslocal (TYPE s3, KEY_ID {_quote(FAKE_KEY)}, SECRET {_quote(FAKE_KEY)}, "
            f"REGION {_quote(region)}, ENDPOINT {_quote(url.netloc)}, URL_STYLE 'path', "
            f"USE_SSL {'true' if url.scheme == 'https' else 'false'})"
        )
        _ENGINES[(endpoint_url, region)] = engine
        return engine


@contextlib.contextmanager
def session(endpoint_url: str, region: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection of its own for one query, with an empty in-memory catalog in use
    (dropped afterwards), so concurrent queries never see each other's views."""
    con = _engine(endpoint_url, region).cursor()
    catalog = f"query_{uuid.uuid4().hex}"
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH ':memory:' AS {catalog}")
        con.execute(f"USE {catalog}")
        yield con
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("USE memory")
            con.execute(f"DETACH DATABASE IF EXISTS {catalog}")
        con.close()


def _create_views(
    con: duckdb.DuckDBPyConnection, tables: dict[tuple[str, str], Any], s3: Any
) -> int:
    """One view per table in schema ``<database>``; returns the bytes to scan."""
    scanned = 0
    for (database, _name), table in tables.items():
        registered = [p.values for p in table.partitions.values()]
        data = table_data(s3, table.as_dict(), registered)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(database)}")
        try:
            con.execute(local.view_sql(con, database, data.spec, data.files))
        except local.LocalSchemaMismatch as exc:
            raise AthenaError(f"HIVE_BAD_DATA: {exc}") from None
        except (duckdb.IOException, duckdb.InvalidInputException) as exc:
            raise AthenaError(f"HIVE_CANNOT_OPEN_SPLIT: {exc}") from None
        scanned += data.size
    return scanned


def _local_names(statement: exp.Expression, text: str) -> str:
    """The SQL to run with ``awsdatacatalog.`` qualifiers dropped (the session's catalog holds
    the views); ``text`` as is when it has none."""
    qualified = [t for t in statement.find_all(exp.Table) if t.args.get("catalog")]
    if not qualified:
        return text
    for table in qualified:
        table.set("catalog", None)
    return statement.sql(dialect="athena")


_REASONS = (
    (duckdb.InvalidInputException, "HIVE_BAD_DATA"),
    (duckdb.IOException, "HIVE_CANNOT_OPEN_SPLIT"),
    (duckdb.ConversionException, "INVALID_CAST_ARGUMENT"),
    (duckdb.OutOfRangeException, "NUMERIC_VALUE_OUT_OF_RANGE"),
    (duckdb.BinderException, "COLUMN_NOT_FOUND"),
    (duckdb.CatalogException, "FUNCTION_NOT_FOUND"),
)


def _failure(exc: duckdb.Error) -> AthenaError:
    code = next((code for kind, code in _REASONS if isinstance(exc, kind)), "GENERIC_USER_ERROR")
    return AthenaError(f"{code}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")


def run_query(
    con: duckdb.DuckDBPyConnection,
    parsed: Parsed,
    database: str,
    catalog: tuple[Any, Any],
    cancelled: Callable[[], bool] = lambda: False,
) -> QueryOutput:
    """Run a parsed SELECT on ``con`` (from :func:`session`) over the tables of ``catalog``
    (moto's Glue and S3 backends). A cancel interrupts DuckDB mid-statement; ``cancelled``
    catches one that arrives between statements (an idle connection ignores an interrupt)."""
    if parsed.statement is None:
        raise AthenaError(parsed.error or "SYNTAX_ERROR: no statement")
    glue, s3 = catalog
    database = database.lower()
    tables = resolve(table_refs(parsed.statement, parsed.sql, database), glue)
    scanned = _create_views(con, tables, s3)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(database)}")
    con.execute(f"USE {_ident(database)}")
    if cancelled():
        raise QueryCancelled
    try:
        result = None
        for statement in athena_to_duckdb_statements(_local_names(parsed.statement, parsed.text)):
            result = con.execute(statement)
        columns = [(str(d[0]), str(d[1])) for d in (result.description or [])] if result else []
        rows = result.fetchall() if columns and result else []
    except duckdb.InterruptException:
        raise
    except SqlTranslationError as exc:
        raise AthenaError(f"SYNTAX_ERROR: {exc}") from None
    except duckdb.Error as exc:
        raise _failure(exc) from None
    return QueryOutput(columns, rows, scanned)
