"""Athena DDL on this server's Glue Data Catalog, as Athena runs it: ``CREATE DATABASE``,
``CREATE EXTERNAL TABLE`` (columns, partition keys, ``LOCATION``, ``TBLPROPERTIES`` such as
partition projection, SerDe and input/output formats from ``STORED AS``), ``DROP TABLE`` and
``DROP DATABASE``. Statements are parsed with sqlglot (dialect ``athena``); the catalog is
moto's Glue backend of the query's account and region.
"""

from __future__ import annotations

import time
from typing import Any

from sqlglot import exp

from .athena_catalog import AthenaError, glue_type

_HIVE = "org.apache.hadoop.hive"
#: STORED AS <format> -> (InputFormat, OutputFormat, SerDe), as Athena records them in Glue.
STORAGE_FORMATS = {
    "PARQUET": (
        f"{_HIVE}.ql.io.parquet.MapredParquetInputFormat",
        f"{_HIVE}.ql.io.parquet.MapredParquetOutputFormat",
        f"{_HIVE}.ql.io.parquet.serde.ParquetHiveSerDe",
    ),
    "ORC": (
        f"{_HIVE}.ql.io.orc.OrcInputFormat",
        f"{_HIVE}.ql.io.orc.OrcOutputFormat",
        f"{_HIVE}.ql.io.orc.OrcSerde",
    ),
    "TEXTFILE": (
        "org.apache.hadoop.mapred.TextInputFormat",
        f"{_HIVE}.ql.io.HiveIgnoreKeyTextOutputFormat",
        f"{_HIVE}.serde2.lazy.LazySimpleSerDe",
    ),
}

DDL_TYPES = {
    ("CREATE", "DATABASE"): "CREATE_DATABASE",
    ("CREATE", "SCHEMA"): "CREATE_DATABASE",
    ("CREATE", "TABLE"): "CREATE_TABLE",
    ("DROP", "TABLE"): "DROP_TABLE",
    ("DROP", "DATABASE"): "DROP_DATABASE",
    ("DROP", "SCHEMA"): "DROP_DATABASE",
}


def ddl_kind(statement: exp.Expression) -> str | None:
    """``CREATE_TABLE``, ``DROP_DATABASE``, ... for a supported DDL statement, else None."""
    if not isinstance(statement, exp.Create | exp.Drop):
        return None
    verb = "CREATE" if isinstance(statement, exp.Create) else "DROP"
    if isinstance(statement, exp.Create) and statement.args.get("expression") is not None:
        return None  # CREATE TABLE AS SELECT: not supported here
    return DDL_TYPES.get((verb, str(statement.args.get("kind") or "").upper()))


def run_ddl(statement: exp.Expression, glue: Any, default_database: str) -> None:
    """Apply one DDL statement (see :func:`ddl_kind`) to the Glue backend ``glue``."""
    kind = ddl_kind(statement)
    if kind == "CREATE_DATABASE":
        _create_database(statement, glue)
    elif kind == "CREATE_TABLE":
        _create_table(statement, glue, default_database)
    elif kind == "DROP_TABLE":
        _drop_table(statement, glue, default_database)
    elif kind == "DROP_DATABASE":
        _drop_database(statement, glue)
    else:
        raise AthenaError(f"NOT_SUPPORTED: statement not supported here: {statement.sql()[:80]}")


def _database_name(target: exp.Table) -> str:
    # sqlglot puts CREATE DATABASE d in Table.this and CREATE SCHEMA d in Table.db.
    return (target.name or target.db).lower()


def _literal(node: exp.Expression | None) -> str:
    return "" if node is None else str(node.name)


def _key_values(properties: list[exp.Expression]) -> dict[str, str]:
    return {
        _literal(p.this): _literal(p.args.get("value"))
        for p in properties
        if isinstance(p, exp.Property) and isinstance(p.this, exp.Literal)
    }


def _create_database(statement: exp.Create, glue: Any) -> None:
    name = _database_name(statement.this)
    if name in glue.databases:
        if statement.args.get("exists"):
            return
        raise AthenaError(f"FAILED: AlreadyExistsException: Database {name} already exists")
    props = (statement.args.get("properties") or exp.Properties(expressions=[])).expressions
    database_input: dict[str, Any] = {"Name": name, "Parameters": _key_values(props)}
    for prop in props:
        if isinstance(prop, exp.SchemaCommentProperty):
            database_input["Description"] = _literal(prop.this)
        elif isinstance(prop, exp.LocationProperty):
            database_input["LocationUri"] = _literal(prop.this)
    glue.create_database(name, database_input)


def _table_name(target: exp.Table, default_database: str) -> tuple[str, str]:
    return (target.db or default_database).lower(), target.name.lower()


def _require_database(glue: Any, database: str) -> Any:
    if database not in glue.databases:
        raise AthenaError(
            f"FAILED: SemanticException [Error 10072]: Database does not exist: {database}"
        )
    return glue.databases[database]


def _columns(defs: list[exp.Expression]) -> list[dict[str, str]]:
    columns = []
    for column in defs:
        if not isinstance(column, exp.ColumnDef):
            continue
        entry = {"Name": column.name.lower(), "Type": glue_type(column.args["kind"])}
        for constraint in column.args.get("constraints") or []:
            if isinstance(constraint.kind, exp.CommentColumnConstraint):
                entry["Comment"] = _literal(constraint.kind.this)
        columns.append(entry)
    return columns


def _create_table(statement: exp.Create, glue: Any, default_database: str) -> None:
    schema = statement.this  # exp.Schema (table + columns), or a bare exp.Table
    target = schema.this if isinstance(schema, exp.Schema) else schema
    database, name = _table_name(target, default_database)
    catalog_db = _require_database(glue, database)
    if name in catalog_db.tables:
        if statement.args.get("exists"):
            return
        raise AthenaError(f"FAILED: AlreadyExistsException: Table {database}.{name} already exists")
    props = (statement.args.get("properties") or exp.Properties(expressions=[])).expressions
    if not any(isinstance(p, exp.ExternalProperty) for p in props):
        raise AthenaError("NOT_SUPPORTED: Only external table creation is supported")
    table_input = _table_input(name, _columns(schema.expressions), props)
    if "Location" not in table_input["StorageDescriptor"]:
        base = str(catalog_db.input.get("LocationUri") or "").rstrip("/")
        table_input["StorageDescriptor"]["Location"] = f"{base}/{name}"
    glue.create_table(database, name, table_input)


def _table_input(name: str, columns: list[dict[str, str]], props: list[exp.Expression]) -> dict:
    """The Glue ``TableInput`` Athena records for a CREATE EXTERNAL TABLE."""
    parameters = {"EXTERNAL": "TRUE", **_key_values(props)}
    parameters["transient_lastDdlTime"] = str(int(time.time()))
    descriptor: dict[str, Any] = {
        "Columns": columns,
        "Compressed": False,
        "NumberOfBuckets": -1,
        "SerdeInfo": {"Parameters": {"serialization.format": "1"}},
        "BucketColumns": [],
        "SortColumns": [],
        "Parameters": {},
        "StoredAsSubDirectories": False,
    }
    table_input = {
        "Name": name,
        "Owner": "hadoop",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": [],
        "StorageDescriptor": descriptor,
        "Retention": 0,
    }
    for prop in props:
        _apply_property(prop, table_input)
    return table_input


def _apply_property(prop: exp.Expression, table_input: dict[str, Any]) -> None:
    descriptor = table_input["StorageDescriptor"]
    if isinstance(prop, exp.PartitionedByProperty):
        table_input["PartitionKeys"] = _columns(prop.this.expressions)
    elif isinstance(prop, exp.LocationProperty):
        descriptor["Location"] = _literal(prop.this)
    elif isinstance(prop, exp.SchemaCommentProperty):
        table_input["Parameters"]["comment"] = _literal(prop.this)
    elif isinstance(prop, exp.FileFormatProperty):
        _apply_format(prop.this, descriptor)
    elif isinstance(prop, exp.RowFormatSerdeProperty):
        descriptor["SerdeInfo"]["SerializationLibrary"] = _literal(prop.this)
        serde = prop.args.get("serde_properties")
        if serde is not None:
            descriptor["SerdeInfo"]["Parameters"].update(_key_values(serde.expressions))


def _apply_format(fmt: exp.Expression, descriptor: dict[str, Any]) -> None:
    if isinstance(fmt, exp.InputOutputFormat):
        descriptor["InputFormat"] = _literal(fmt.args.get("input_format"))
        descriptor["OutputFormat"] = _literal(fmt.args.get("output_format"))
        return
    stored_as = fmt.name.upper()
    if stored_as not in STORAGE_FORMATS:
        raise AthenaError(f"NOT_SUPPORTED: STORED AS {stored_as} is not supported here")
    input_format, output_format, serde = STORAGE_FORMATS[stored_as]
    descriptor["InputFormat"], descriptor["OutputFormat"] = input_format, output_format
    descriptor["SerdeInfo"].setdefault("SerializationLibrary", serde)


def _drop_table(statement: exp.Drop, glue: Any, default_database: str) -> None:
    database, name = _table_name(statement.this, default_database)
    catalog_db = glue.databases.get(database)
    if catalog_db is None or name not in catalog_db.tables:
        if statement.args.get("exists"):
            return
        raise AthenaError(
            f"FAILED: SemanticException [Error 10001]: Table not found {database}.{name}"
        )
    glue.delete_table(database, name)


def _drop_database(statement: exp.Drop, glue: Any) -> None:
    name = _database_name(statement.this)
    catalog_db = glue.databases.get(name)
    if catalog_db is None:
        if statement.args.get("exists"):
            return
        raise AthenaError(
            f"FAILED: SemanticException [Error 10072]: Database does not exist: {name}"
        )
    if catalog_db.tables and not statement.args.get("cascade"):
        raise AthenaError(
            f"FAILED: InvalidOperationException: Database {name} is not empty. "
            "One or more tables exist."
        )
    glue.delete_database(name)
