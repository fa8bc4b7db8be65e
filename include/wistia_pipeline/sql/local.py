"""Run the project's Athena SQL locally: DuckDB over the local lake.

A schema (the database name) holds one view per DDL table, reading that table's Parquet files
by name with the declared types (like Athena: missing columns read as NULL, extra columns are
ignored, files and folders whose name starts with ``_`` or ``.`` are skipped) and partition
values taken from the path through the table's ``storage.location.template``. A table without
files yet is an empty view with the right columns, so checks report failures instead of
crashing. The query text is the SAME Athena SQL, translated by :func:`athena_to_duckdb`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from wistia_pipeline.publishing import PUBLISHED, tables_root

from .checks import CheckResult, check_result_from_rows
from .loader import find_query, list_queries, load_sql
from .render import render_template, validate_params
from .schema import Column, TableSpec, table_specs
from .translate import athena_to_duckdb_statements

if TYPE_CHECKING:  # duckdb is a local/dev dependency: never imported on MWAA or Lambda
    import duckdb


class LocalSchemaMismatch(TypeError):
    """A Parquet file's column type is not readable as the type the DDL declares."""


# DuckDB type families a declared (DuckDB-spelled) type accepts from Parquet, as Athena would.
_COMPATIBLE = {
    "BIGINT": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"),
    "INT": ("TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT"),
    "DOUBLE": ("FLOAT", "DOUBLE"),
    "TEXT": ("VARCHAR",),
    "BOOLEAN": ("BOOLEAN",),
    "TIMESTAMP": ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS"),
    "DATE": ("DATE",),
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def local_lake_path(lake_uri: str) -> Path:
    """The lake root as a local directory (``file://`` accepted; ``s3://`` is not local)."""
    if lake_uri.startswith("s3://"):
        raise ValueError(
            f"the local runner reads a local lake directory, not {lake_uri!r}; "
            "on AWS run the same SQL on Athena"
        )
    path = lake_uri[len("file://") :] if lake_uri.startswith("file://") else lake_uri
    return Path(path).resolve()


def data_files(location: str) -> list[str]:
    """Files under ``location``, skipping ``_``/``.`` names below it (Hive/Athena rule)."""
    root = Path(location)
    if not root.is_dir():
        return []
    files = []
    for path in root.rglob("*"):
        relative = path.relative_to(root).parts
        if path.is_file() and not any(p.startswith(("_", ".")) for p in relative):
            files.append(str(path))
    return sorted(files)


#: A data file and its partition values (in the table's partition-key order).
DataFile = tuple[str, tuple[str, ...]]


def partition_values(spec: TableSpec, path: str) -> tuple[str, ...] | None:
    """The partition values ``path`` encodes (None when it does not match the layout)."""
    regex = spec.partition_regex()
    if regex is None:
        return ()
    match = re.search(regex, path)
    return match.groups() if match else None


def table_files(spec: TableSpec) -> list[DataFile]:
    """The data files a local table reads, with their partition values: the files its
    symlink manifests list, else the Parquet files under its location."""
    out: list[DataFile] = []
    for path in data_files(spec.location):
        values = partition_values(spec, path)
        if values is None:
            continue
        if not spec.symlink:
            if path.endswith(".parquet"):
                out.append((path, values))
            continue
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        out.extend((line.strip(), values) for line in lines if line.strip())
    return out


def view_sql(
    con: duckdb.DuckDBPyConnection,
    database: str,
    spec: TableSpec,
    files: Sequence[DataFile] | None = None,
) -> str:
    """The view of one table over ``files`` (default: :func:`table_files` of its location)."""
    files = table_files(spec) if files is None else list(files)
    target = f"{_ident(database)}.{_ident(spec.name)}"
    if not files:
        cols = ", ".join(
            f"CAST(NULL AS {c.duckdb_type}) AS {_ident(c.name)}" for c in spec.all_columns
        )
        return f"CREATE OR REPLACE VIEW {target} AS SELECT {cols} LIMIT 0"
    source = (
        f"read_parquet([{', '.join(_quote(f) for f, _ in files)}], "
        "hive_partitioning = false, union_by_name = true, filename = true)"
    )
    file_types = {
        name.lower(): (name, dtype)
        for name, dtype, *_ in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    }
    selects = [_data_column(spec, column, file_types) for column in spec.columns]
    if not spec.partitions:
        return f"CREATE OR REPLACE VIEW {target} AS SELECT {', '.join(selects)} FROM {source}"
    # Partition values come with each file (from its manifest's path), joined by file name.
    keys = [f"_p{i}" for i in range(len(spec.partitions))]
    rows = ", ".join(
        "(" + ", ".join(_quote(v) for v in (path, *values)) + ")" for path, values in files
    )
    for key, column in zip(keys, spec.partitions, strict=True):
        selects.append(f"CAST(_parts.{key} AS {column.duckdb_type}) AS {_ident(column.name)}")
    return (
        f"CREATE OR REPLACE VIEW {target} AS SELECT {', '.join(selects)} FROM {source} AS _data "
        f"JOIN (VALUES {rows}) AS _parts(_file, {', '.join(keys)}) "
        "ON _data.filename = _parts._file"
    )


def _data_column(spec: TableSpec, column: Column, file_types: dict[str, tuple[str, str]]) -> str:
    if column.name.lower() not in file_types:
        return f"CAST(NULL AS {column.duckdb_type}) AS {_ident(column.name)}"
    file_name, file_type = file_types[column.name.lower()]
    accepted = _COMPATIBLE.get(column.duckdb_type)
    if accepted is None:
        raise LocalSchemaMismatch(
            f"{spec.name}.{column.name}: DDL type {column.athena_type} has no local mapping"
        )
    if file_type.upper() not in accepted:
        raise LocalSchemaMismatch(
            f"{spec.name}.{column.name}: Parquet files under {spec.location} hold {file_type}, "
            f"but the DDL declares {column.athena_type} (Athena would fail to read it)"
        )
    return f"CAST({_ident(file_name)} AS {column.duckdb_type}) AS {_ident(column.name)}"


def connect_local(
    lake_uri: str, database: str = "wistia", area: str = PUBLISHED
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with schema ``database`` and one view per lake table,
    over the published tables (readers) or the staged ones (``area="staging"``: the checks)."""
    import duckdb

    lake = tables_root(str(local_lake_path(lake_uri)), area)
    validate_params({"lake_uri": lake, "database": database})
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(database)}")
        for spec in table_specs(lake, database):
            con.execute(view_sql(con, database, spec))
    except Exception:
        con.close()
        raise
    return con


def _execute(con: duckdb.DuckDBPyConnection, athena_sql: str) -> tuple[list[str], list[tuple]]:
    for statement in athena_to_duckdb_statements(athena_sql):
        result = con.execute(statement)
    if result.description is None:
        return [], []
    columns = [d[0] for d in result.description]
    return columns, result.fetchall()


_NAME = re.compile(r"[a-z0-9_]+(/[a-z0-9_]+)?(\.sql)?")


def resolve_sql(sql_or_name: str) -> tuple[str, str]:
    """``(source label, Athena SQL template)`` for a query name, a ``.sql`` file or SQL text."""
    text = sql_or_name.strip()
    if text.endswith(".sql") and Path(text).is_file():
        return text, Path(text).read_text(encoding="utf-8")
    if _NAME.fullmatch(text):
        kind, name = find_query(text)
        return f"{kind}/{name}", load_sql(kind, name)
    return "<sql>", sql_or_name


def run_query_local(
    lake_uri: str, sql_or_name: str, **params: object
) -> tuple[list[str], list[tuple]]:
    """Run a query (name such as ``top_media_by_play_rate``, ``checks/x``, a ``.sql`` path or
    Athena SQL text) on DuckDB over the local lake; returns ``(columns, rows)``.

    ``params`` fill the ``${...}`` placeholders; ``database`` defaults to ``wistia`` and
    ``lake_uri`` to the lake being queried.
    """
    database = str(params.setdefault("database", "wistia"))
    params.setdefault("lake_uri", str(local_lake_path(lake_uri)))
    source, template = resolve_sql(sql_or_name)
    if source.startswith("ddl/"):
        raise ValueError(
            f"{source} is Athena DDL; the local runner builds its views from the DDL itself"
        )
    sql = render_template(template, params, source)
    con = connect_local(lake_uri, database)
    try:
        return _execute(con, sql)
    finally:
        con.close()


def run_checks_local(
    lake_uri: str,
    start_date: date,
    end_date: date,
    tolerance: float = 0.0,
    database: str = "wistia",
    area: str = PUBLISHED,
) -> list[CheckResult]:
    """Run every ``checks/*.sql`` for the window on DuckDB; one :class:`CheckResult` each.

    Does not raise on failed checks (see :func:`raise_for_failures`); raises
    :class:`DataCheckFailed` if a check returns a malformed result.
    """
    params = {
        "start_date": start_date,
        "end_date": end_date,
        "tolerance": tolerance,
        "database": database,
    }
    con = connect_local(lake_uri, database, area)
    try:
        results = []
        for name in list_queries("checks"):
            sql = render_template(load_sql("checks", name), params, f"checks/{name}")
            columns, rows = _execute(con, sql)
            results.append(check_result_from_rows(f"checks/{name}", columns, rows))
        return results
    finally:
        con.close()
