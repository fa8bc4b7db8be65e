"""Table definitions read from the Athena DDL files (the single source of the lake's schema).

The local DuckDB runner builds its views from these, so the local target reads exactly the
columns, types, locations and partition keys that Athena would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from .loader import list_queries, load_sql
from .render import render_template

SYMLINK_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"


@dataclass(frozen=True)
class Column:
    name: str
    athena_type: str  # as declared in the DDL (Hive DDL spelling, e.g. "string", "bigint")
    duckdb_type: str  # the same type in DuckDB spelling


@dataclass(frozen=True)
class TableSpec:
    name: str
    location: str  # rendered LOCATION, always ending with "/"
    columns: tuple[Column, ...]  # data columns, in DDL order
    partitions: tuple[Column, ...]  # partition columns, in DDL order
    location_template: str | None  # rendered storage.location.template (projection), if any
    # Stored as symlink manifests (SymlinkTextInputFormat): the files under LOCATION list the
    # data files (write-audit-publish, wistia_pipeline.publishing); else they are the data.
    symlink: bool = False

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.columns + self.partitions

    def partition_regex(self) -> str | None:
        """A regex over a file's path capturing the partition values in order (the manifest's
        path for a symlink table, else the data file's)."""
        if not self.partitions:
            return None
        if not self.location_template or not self.location_template.startswith(self.location):
            raise ValueError(
                f"table {self.name}: partitioned but storage.location.template "
                f"{self.location_template!r} is not under LOCATION {self.location!r}"
            )
        relative = self.location_template[len(self.location) :]
        parts = re.split(r"\$\{([a-z0-9_]+)\}", relative)
        keys = parts[1::2]
        if keys != [c.name for c in self.partitions]:
            raise ValueError(
                f"table {self.name}: template keys {keys} differ from partition columns "
                f"{[c.name for c in self.partitions]}"
            )
        pattern = "".join(
            re.escape(piece) if i % 2 == 0 else "([^/]+)" for i, piece in enumerate(parts)
        )
        if not pattern.endswith("/"):
            pattern += "/"
        return "/" + pattern + r"[^/]+$"


def _column(defn: exp.ColumnDef) -> Column:
    kind = defn.args["kind"]
    return Column(
        name=defn.name, athena_type=kind.sql("hive").lower(), duckdb_type=kind.sql("duckdb")
    )


def parse_table_ddl(sql: str) -> TableSpec:
    """Parse one rendered ``CREATE EXTERNAL TABLE`` statement."""
    create = sqlglot.parse_one(sql, read="athena")
    if not isinstance(create, exp.Create) or create.args.get("kind") != "TABLE":
        raise ValueError("not a CREATE TABLE statement")
    schema = create.this
    name = schema.this.name
    columns = tuple(_column(c) for c in schema.expressions if isinstance(c, exp.ColumnDef))
    partitions: tuple[Column, ...] = ()
    location = None
    template = None
    symlink = False
    for prop in create.args["properties"].expressions:
        if isinstance(prop, exp.PartitionedByProperty):
            partitions = tuple(_column(c) for c in prop.this.expressions)
        elif isinstance(prop, exp.LocationProperty):
            location = prop.this.name
        elif isinstance(prop, exp.Property) and prop.name == "storage.location.template":
            template = prop.args["value"].name
        elif isinstance(prop, exp.FileFormatProperty) and isinstance(
            prop.this, exp.InputOutputFormat
        ):
            symlink = prop.this.args["input_format"].name == SYMLINK_INPUT_FORMAT
    if not location:
        raise ValueError(f"table {name}: no LOCATION")
    if not location.endswith("/"):
        location += "/"
    return TableSpec(name, location, columns, partitions, template, symlink)


def table_specs(tables_uri: str, database: str = "wistia") -> list[TableSpec]:
    """Every table defined in ``ddl/`` (DDL order), rendered for ``tables_uri``
    (``<lake>/published`` or ``<lake>/staging``, see ``wistia_pipeline.publishing``)."""
    specs = []
    for name in list_queries("ddl"):
        sql = render_template(
            load_sql("ddl", name), {"tables_uri": tables_uri, "database": database}, f"ddl/{name}"
        )
        if re.search(r"\bCREATE\s+EXTERNAL\s+TABLE\b", sql, re.IGNORECASE):
            specs.append(parse_table_ddl(sql))
    return specs
