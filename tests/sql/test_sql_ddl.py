"""The Athena DDL: parses with sqlglot (Athena dialect), covers every lake table with the
columns of docs/architecture.md, and uses partition projection on the documented locations."""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from wistia_pipeline.sql import list_queries, render_sql
from wistia_pipeline.sql.schema import parse_table_ddl, table_specs

LAKE = "s3://wistia-lake-123/prod"
PARAMS = {"tables_uri": LAKE, "database": "wistia"}

# docs/architecture.md "Silver / gold": types fixed by the contract (the column names are
# cross-checked with the Spark jobs below).
FACT_COLUMNS = {
    "media_id": "string",
    "media_name": "string",
    "loads": "bigint",
    "plays": "bigint",
    "play_rate": "double",
    "hours_watched": "double",
    "unique_visitors": "bigint",
    "events": "bigint",
    "avg_percent_viewed": "double",
    "analytics_unique_visitors": "bigint",
    "analytics_play_rate": "double",
    "analytics_engagement_rate": "double",
    "gold_ingested_at": "timestamp",
}
LOCATIONS = {
    "events": "silver/wistia/events/",
    "media_daily_stats": "silver/wistia/media_daily_stats/",
    "media_analytics_daily": "silver/wistia/media_analytics_daily/",
    "medias": "silver/wistia/medias/",
    "medias_history": "silver/wistia/medias_history/",
    "medias_snapshots": "silver/wistia/medias_snapshots/",
    "visitors": "silver/wistia/visitors/",
    "visitors_snapshots": "silver/wistia/visitors_snapshots/",
    "rejects": "silver/wistia/_rejects/",
    "fact_media_daily": "gold/wistia/fact_media_daily/",
    "dim_media": "gold/wistia/dim_media/",
    "reconciliation": "gold/wistia/reconciliation/",
}
DT_PARTITIONED = {
    "events",
    "media_daily_stats",
    "media_analytics_daily",
    "medias_snapshots",
    "visitors_snapshots",
    "rejects",
    "fact_media_daily",
    "reconciliation",
}


@pytest.mark.parametrize("name", list_queries("ddl"))
def test_ddl_parses_with_the_athena_dialect(name: str) -> None:
    sql = render_sql("ddl", name, **PARAMS)
    statements = sqlglot.parse(sql, read="athena")
    assert len(statements) == 1 and isinstance(statements[0], exp.Create)
    assert "${database}" not in sql and "${tables_uri}" not in sql
    # one bare statement as Athena's StartQueryExecution wants it for DDL
    assert sql.startswith("CREATE ") and not sql.endswith(";") and "\n--" not in sql


def test_every_lake_table_has_ddl_at_its_documented_location() -> None:
    specs = {s.name: s for s in table_specs(LAKE)}
    assert set(specs) == set(LOCATIONS)
    for name, relative in LOCATIONS.items():
        assert specs[name].location == f"{LAKE}/{relative}", name


def test_database_ddl_comes_first_and_is_parameterised() -> None:
    first = list_queries("ddl")[0]
    sql = render_sql("ddl", first, tables_uri=LAKE, database="wistia_dev")
    create = sqlglot.parse_one(sql, read="athena")
    assert create.args["kind"] == "DATABASE" and create.this.name == "wistia_dev"


def test_contract_columns_and_types() -> None:
    specs = {s.name: s for s in table_specs(LAKE)}
    events = {c.name: c.athena_type for c in specs["events"].columns}
    assert events["received_at"] == "timestamp"
    assert events["percent_viewed"] == "double"
    assert events["conversion_type"] == "string"
    fact = {c.name: c.athena_type for c in specs["fact_media_daily"].columns}
    assert fact == FACT_COLUMNS
    stats = {c.name: c.athena_type for c in specs["media_daily_stats"].columns}
    assert stats == {
        "media_id": "string",
        "load_count": "bigint",
        "play_count": "bigint",
        "hours_watched": "double",
        "_run_id": "string",
        "_fetched_at": "timestamp",
    }
    recon = [c.name for c in specs["reconciliation"].columns]
    assert recon == ["media_id", "events_count", "play_count", "difference"]
    assert [c.name for c in specs["rejects"].columns] == [
        "reason",
        "source_file",
        "line",
        "_run_id",
        "ip_hash",
        "email_hash",
    ]


def _properties(sql: str) -> dict[str, str]:
    create = sqlglot.parse_one(sql, read="athena")
    return {
        p.name: p.args["value"].name
        for p in create.args["properties"].expressions
        if type(p) is exp.Property
    }


@pytest.mark.parametrize("name", [n for n in list_queries("ddl") if "database" not in n])
def test_partitioned_tables_use_dt_date_projection(name: str) -> None:
    sql = render_sql("ddl", name, **PARAMS)
    spec = parse_table_ddl(sql)
    props = _properties(sql)
    # Write-audit-publish: the table reads Parquet through symlink manifests (publishing.py).
    assert spec.symlink and "EXTERNAL" in sql
    assert "ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'" in sql
    if spec.name not in DT_PARTITIONED:
        assert not spec.partitions and "projection.enabled" not in props
        return
    assert spec.partitions[-1].name == "dt" and spec.partitions[-1].athena_type == "string"
    assert props["projection.enabled"] == "true"
    assert props["projection.dt.type"] == "date"
    assert props["projection.dt.format"] == "yyyy-MM-dd"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2},NOW", props["projection.dt.range"])
    assert props["projection.dt.interval.unit"] == "DAYS"
    template = props["storage.location.template"]
    assert template.startswith(spec.location) and template.endswith("dt=${dt}/")
    for column in spec.partitions:
        assert "${" + column.name + "}" in template
        assert props[f"projection.{column.name}.type"] in {"date", "enum"}
    assert spec.partition_regex() is not None


def test_ddl_matches_the_columns_the_spark_jobs_write() -> None:
    """Cross-check with the transforms' own output contracts (wistia_pipeline.transforms)."""
    schemas = pytest.importorskip("wistia_pipeline.transforms.schemas")
    specs = {s.name: s for s in table_specs(LAKE)}

    def names(table: str) -> list[str]:
        return [c.name for c in specs[table].all_columns]

    assert names("events") == list(schemas.SILVER_EVENTS_COLUMNS)
    assert names("media_daily_stats") == list(schemas.SILVER_MEDIA_DAILY_STATS_COLUMNS)
    assert names("media_analytics_daily") == list(schemas.SILVER_MEDIA_ANALYTICS_COLUMNS)
    assert names("fact_media_daily") == list(schemas.GOLD_FACT_COLUMNS)
    assert names("reconciliation") == list(schemas.GOLD_RECONCILIATION_COLUMNS)
    assert names("visitors") == list(schemas.VISITOR_COLUMNS)
    assert names("visitors_snapshots") == [*schemas.VISITOR_COLUMNS, "dt"]
    attrs = list(schemas.MEDIA_ATTRIBUTE_COLUMNS)
    assert names("medias_snapshots") == [*attrs, "_run_id", "_fetched_at", "dt"]
    assert names("medias")[: len(attrs)] == attrs
    assert names("medias_history")[: len(attrs)] == attrs
    assert names("rejects") == [
        *["reason", "source_file", "line", "_run_id", "ip_hash", "email_hash"],
        "source_table",
        "dt",
    ]
    assert [c for c in schemas.REJECT_COLUMNS if c != "dt"] == [
        "reason",
        "source_file",
        "line",
        "_run_id",
        "ip_hash",
        "email_hash",
    ]
