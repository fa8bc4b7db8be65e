"""Athena on the local AWS runs the SQL: the project's DDL registers its tables in the Glue
catalog, and the project's checks and example queries, run through boto3 against the server,
give what the local target gives on the same lake (written once to a local folder and copied to
the server's S3). Plus Athena's failure reasons, paging, result files and cancellation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from botocore.exceptions import ClientError
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from wistia_awslocal.athena import install
from wistia_awslocal.athena_catalog import partition_filter
from wistia_awslocal.athena_results import athena_type, java_double, to_text
from wistia_pipeline.publishing import PUBLISHED, adopt_unversioned, tables_root
from wistia_pipeline.sql import (
    check_result_from_athena,
    list_queries,
    render_sql,
    run_checks_local,
    run_query_local,
)
from wistia_pipeline.sql.schema import table_specs
from wistia_pipeline.storage import LocalStorage, S3Storage

REGION = "us-east-1"
DB = "wistia"
TABLES = tables_root("s3://lake", PUBLISHED)  # the DDL's root: the published manifests
DAYS = [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]
BIG_DAY = date(2026, 3, 4)  # 1500 events: more than one GetQueryResults page
WINDOW = {"start_date": DAYS[0], "end_date": DAYS[-1], "database": DB, "tolerance": 0.0}
OUTPUT = "s3://results/athena/"
# (media, loads, plays) per day
STATS = {
    DAYS[0]: [("m1", 4, 2), ("m2", 5, 1), ("m3", 0, 0)],
    DAYS[1]: [("m1", 3, 3), ("m2", 2, 1)],
    DAYS[2]: [("m1", 6, 2), ("m2", 1, 1)],
}
EVENT_TYPES = {
    "event_key": "VARCHAR",
    "received_at": "TIMESTAMPTZ",
    "media_id": "VARCHAR",
    "media_name": "VARCHAR",
    "visitor_key": "VARCHAR",
    "percent_viewed": "DOUBLE",
    "ip_hash": "VARCHAR",
    "email_hash": "VARCHAR",
    "org": "VARCHAR",
    "country": "VARCHAR",
}
FACT_TYPES = {
    "media_id": "VARCHAR",
    "media_name": "VARCHAR",
    "loads": "BIGINT",
    "plays": "BIGINT",
    "play_rate": "DOUBLE",
    "hours_watched": "DOUBLE",
    "unique_visitors": "BIGINT",
    "events": "BIGINT",
    "avg_percent_viewed": "DOUBLE",
    "gold_ingested_at": "TIMESTAMPTZ",
}
RECON_TYPES = {
    "media_id": "VARCHAR",
    "events_count": "BIGINT",
    "play_count": "BIGINT",
    "difference": "BIGINT",
}
VISITOR_TYPES = {"visitor_key": "VARCHAR", "email_hash": "VARCHAR", "name_hash": "VARCHAR"}
HEX = "ab" * 32


def write_parquet(
    con: duckdb.DuckDBPyConnection, folder: Path, types: dict[str, str], rows: list[dict[str, Any]]
) -> None:
    """``folder/part-0.parquet`` holding ``rows`` with columns typed as ``types``."""
    folder.mkdir(parents=True, exist_ok=True)
    con.execute(
        "CREATE OR REPLACE TABLE t (" + ", ".join(f'"{k}" {v}' for k, v in types.items()) + ")"
    )
    con.executemany(
        f"INSERT INTO t VALUES ({', '.join('?' for _ in types)})",
        [[row.get(k) for k in types] for row in rows],
    )
    con.execute(f"COPY t TO '{folder / 'part-0.parquet'}' (FORMAT parquet)")


def _events(day: date) -> list[dict[str, Any]]:
    rows = []
    for media, _loads, plays in STATS[day]:
        for i in range(plays):
            rows.append(
                {
                    "event_key": f"{day:%Y%m%d}-{media}-{i}",
                    "received_at": datetime(day.year, day.month, day.day, 1 + i, tzinfo=UTC),
                    "media_id": media,
                    "media_name": f"Video {media}",
                    "visitor_key": f"v{i % 3}",
                    "percent_viewed": 0.2 * (i + 1),
                    "ip_hash": HEX,
                    "email_hash": HEX,
                    "country": "US" if media == "m1" else "DE",
                }
            )
    return rows


def _fact(day: date) -> list[dict[str, Any]]:
    return [
        {
            "media_id": media,
            "media_name": f"Video {media}",
            "loads": loads,
            "plays": plays,
            "play_rate": plays / loads if loads else None,
            "hours_watched": 0.25 * plays,
            "unique_visitors": min(plays, 3),
            "events": plays,
            "avg_percent_viewed": 0.1 * (plays + 1) if plays else None,
            "gold_ingested_at": datetime(2026, 3, 5, tzinfo=UTC),
        }
        for media, loads, plays in STATS[day]
    ]


def build_lake(root: Path) -> Path:
    """A small lake with one defect for three of the five checks."""
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        _write_lake(con, root)
    # Spark leftovers Athena ignores.
    fact = root / "gold" / "wistia" / "fact_media_daily"
    (fact / "_SUCCESS").write_text("")
    (fact / "_temporary" / "0").mkdir(parents=True)
    (fact / "_temporary" / "0" / "part-0.parquet").write_bytes(b"junk")
    adopt_unversioned(LocalStorage(), str(root))  # what the local runner reads
    return root


def _write_lake(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    silver, gold = root / "silver" / "wistia", root / "gold" / "wistia"
    for day in DAYS:
        events, fact = _events(day), _fact(day)
        if day == DAYS[0]:
            events[0]["org"] = "jane@example.com"  # silver_no_raw_pii
        if day == DAYS[1]:
            fact.append(dict(fact[0]))  # gold_unique_dt_media
        recon = [
            {"media_id": f["media_id"], "events_count": f["events"], "play_count": f["plays"]}
            for f in fact
        ]
        if day == DAYS[2]:
            recon[0]["events_count"] += 3  # reconciliation_gap
        for row in recon:
            row["difference"] = row["events_count"] - row["play_count"]
        write_parquet(con, silver / "events" / f"dt={day}", EVENT_TYPES, events)
        write_parquet(con, gold / "fact_media_daily" / f"dt={day}", FACT_TYPES, fact)
        write_parquet(con, gold / "reconciliation" / f"dt={day}", RECON_TYPES, recon)
    big = silver / "events" / f"dt={BIG_DAY}"
    big.mkdir(parents=True)
    con.execute(  # 1500 events; the columns not written read as NULL
        "COPY (SELECT 'big-' || lpad(CAST(i AS VARCHAR), 5, '0') AS event_key, "
        f"'m1' AS media_id, 'v' || CAST(i AS VARCHAR) AS visitor_key, '{HEX}' AS ip_hash "
        f"FROM range(1500) AS t (i)) TO '{big / 'part-0.parquet'}' (FORMAT parquet)"
    )
    write_parquet(
        con, silver / "visitors", VISITOR_TYPES, [{"visitor_key": "v0", "email_hash": HEX}]
    )
    # Outside the projection (before its range start, not a date): Athena never reads them.
    for outside in ("2019-12-31", "junk"):
        write_parquet(
            con, gold / "reconciliation" / f"dt={outside}", RECON_TYPES, [{"media_id": "x"}]
        )


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    install(url)
    yield url
    server.stop()


def _client(url: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="awslocal",
        aws_secret_access_key="awslocal",
    )


@pytest.fixture(scope="module")
def athena(server_url: str) -> Any:
    return _client(server_url, "athena")


@pytest.fixture(scope="module")
def glue(server_url: str) -> Any:
    return _client(server_url, "glue")


@pytest.fixture(scope="module")
def s3(server_url: str) -> Any:
    return _client(server_url, "s3")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, athena: Any, s3: Any) -> Path:
    """The lake on local disk, the same objects in s3://lake/, and the project's DDL run."""
    root = build_lake(tmp_path_factory.mktemp("athena") / "lake")
    s3.create_bucket(Bucket="lake")
    s3.create_bucket(Bucket="results")
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.relative_to(root).parts[0] != PUBLISHED:
            s3.upload_file(str(path), "lake", path.relative_to(root).as_posix())
    # Published as the pipeline leaves it: symlink manifests listing the s3:// data objects.
    assert adopt_unversioned(S3Storage(s3), "s3://lake") > 0
    for name in list_queries("ddl"):
        sql = render_sql("ddl", name, database=DB, tables_uri=TABLES)
        assert state(athena, start(athena, sql)) == "SUCCEEDED", name
    return root


def start(athena: Any, sql: str, **kwargs: Any) -> str:
    kwargs.setdefault("ResultConfiguration", {"OutputLocation": OUTPUT})
    kwargs.setdefault("QueryExecutionContext", {"Database": DB})
    return athena.start_query_execution(QueryString=sql, **kwargs)["QueryExecutionId"]


def execution(athena: Any, query_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """GetQueryExecution once the query is in a final state."""
    deadline = time.monotonic() + timeout
    while True:
        found = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        if found["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return found
        assert time.monotonic() < deadline, f"query {query_id} still {found['Status']['State']}"
        time.sleep(0.02)


def state(athena: Any, query_id: str) -> str:
    found = execution(athena, query_id)
    assert found["Status"]["State"] == "SUCCEEDED", found["Status"]
    return found["Status"]["State"]


def failure(athena: Any, sql: str) -> str:
    found = execution(athena, start(athena, sql))
    assert found["Status"]["State"] == "FAILED"
    return found["Status"]["StateChangeReason"]


def results(athena: Any, sql: str) -> tuple[list[dict[str, Any]], list[list[str | None]]]:
    """(ColumnInfo, data rows as text) of a successful query, every page read."""
    query_id = start(athena, sql)
    state(athena, query_id)
    pages = athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id)
    info, rows = [], []
    for page in pages:
        info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
        rows += [[c.get("VarCharValue") for c in r["Data"]] for r in page["ResultSet"]["Rows"]]
    assert rows[0] == [c["Name"] for c in info]  # the header row comes first
    return info, rows[1:]


def typed(value: str | None, athena_type: str) -> Any:
    """An Athena text value back as the Python value DuckDB gives for its type."""
    if value is None:
        return None
    if athena_type in ("bigint", "integer", "smallint", "tinyint"):
        return int(value)
    if athena_type in ("double", "float"):
        return pytest.approx(float(value))
    if athena_type == "boolean":
        return value == "true"
    if athena_type == "date":
        return date.fromisoformat(value)
    if athena_type == "timestamp":
        return datetime.fromisoformat(value)
    return value


def test_ddl_registers_the_tables_in_glue_as_athena_does(
    lake: Path, athena: Any, glue: Any
) -> None:
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=DB)["TableList"]}
    assert len(tables) == len(list_queries("ddl")) - 1  # all but 00_database
    events = tables["events"]
    descriptor = events["StorageDescriptor"]
    assert descriptor["Location"] == "s3://lake/published/silver/wistia/events/"
    assert descriptor["Columns"][:2] == [
        {"Name": "event_key", "Type": "string"},
        {"Name": "received_at", "Type": "timestamp"},
    ]
    assert events["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert events["TableType"] == "EXTERNAL_TABLE"
    assert descriptor["InputFormat"].endswith("SymlinkTextInputFormat")  # manifests
    assert descriptor["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    params = events["Parameters"]
    assert params["projection.enabled"] == "true" and params["projection.dt.type"] == "date"
    assert (
        params["storage.location.template"] == "s3://lake/published/silver/wistia/events/dt=${dt}/"
    )
    assert tables["rejects"]["PartitionKeys"][0] == {"Name": "source_table", "Type": "string"}
    assert "PartitionKeys" not in tables["medias"] or not tables["medias"]["PartitionKeys"]
    database = glue.get_database(Name=DB)["Database"]
    assert database["LocationUri"] == "s3://lake/published/"
    listed = athena.list_databases(CatalogName="AwsDataCatalog")["DatabaseList"]
    assert DB in {d["Name"] for d in listed}


def test_ddl_result_is_empty_and_rerunning_if_not_exists_succeeds(
    lake: Path, athena: Any, s3: Any
) -> None:
    query_id = start(athena, render_sql("ddl", "10_silver_events", database=DB, tables_uri=TABLES))
    found = execution(athena, query_id)
    assert found["Status"]["State"] == "SUCCEEDED"
    assert found["StatementType"] == "DDL"
    assert found["ResultConfiguration"]["OutputLocation"] == f"{OUTPUT}{query_id}.txt"
    page = athena.get_query_results(QueryExecutionId=query_id)
    assert page["ResultSet"]["Rows"] == []
    assert s3.get_object(Bucket="results", Key=f"athena/{query_id}.txt")["Body"].read() == b""
    again = failure(athena, "CREATE DATABASE wistia")
    assert "Database wistia already exists" in again


def test_checks_give_the_local_targets_results(lake: Path, athena: Any) -> None:
    local = {r.check_name: r for r in run_checks_local(str(lake), DAYS[0], DAYS[-1], 0.0, DB)}
    # Started together and then awaited, as the DAG's checks task runs them.
    started = {
        name: start(athena, render_sql("checks", name, **WINDOW)) for name in list_queries("checks")
    }
    on_athena = {}
    for name, query_id in started.items():
        state(athena, query_id)
        response = athena.get_query_results(QueryExecutionId=query_id)
        result = check_result_from_athena(f"checks/{name}", response)
        on_athena[result.check_name] = result
    assert on_athena == local
    failed = {name: r.failures for name, r in on_athena.items() if not r.passed}
    assert failed == {"gold_unique_dt_media": 1, "reconciliation_gap": 1, "silver_no_raw_pii": 1}


@pytest.mark.parametrize("name", list_queries("examples"))
def test_examples_give_the_local_targets_results(lake: Path, athena: Any, name: str) -> None:
    params = {**WINDOW, "top_n": 2}
    info, rows = results(athena, render_sql("examples", name, **params))
    columns, local_rows = run_query_local(str(lake), f"examples/{name}", **params)
    assert [c["Name"] for c in info] == columns
    assert local_rows, "the example should return rows on this lake"
    types = [c["Type"] for c in info]
    assert [[typed(v, t) for v, t in zip(row, types, strict=True)] for row in rows] == [
        list(row) for row in local_rows
    ]


def test_missing_table_or_database_fails_with_athenas_reason(lake: Path, athena: Any) -> None:
    assert failure(athena, "SELECT * FROM wistia.nope") == (
        "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.wistia.nope' does not exist"
    )
    assert failure(athena, "SELECT 1\nFROM events e JOIN\n  missing m ON true") == (
        "TABLE_NOT_FOUND: line 3:3: Table 'awsdatacatalog.wistia.missing' does not exist"
    )
    assert failure(athena, "SELECT * FROM nodb.events") == (
        "SCHEMA_NOT_FOUND: line 1:15: Schema 'nodb' does not exist"
    )
    assert failure(athena, "SELECT * FROM read_parquet('/etc/hosts')").startswith(
        "FUNCTION_NOT_FOUND: Table function 'read_parquet' not registered"
    )
    with pytest.raises(ClientError, match="QueryExecution nope was not found"):
        athena.get_query_execution(QueryExecutionId="nope")


def test_tables_resolve_only_through_the_catalog(lake: Path, athena: Any) -> None:
    ddl = render_sql("ddl", "10_silver_events", database="scratch", tables_uri=TABLES)
    for sql in ("CREATE DATABASE IF NOT EXISTS scratch", ddl):
        state(athena, start(athena, sql))
    _, rows = results(athena, "SELECT count(*) FROM scratch.events WHERE dt = '2026-03-04'")
    assert rows == [["1500"]]
    state(athena, start(athena, "DROP TABLE scratch.events"))
    assert failure(athena, "SELECT count(*) FROM scratch.events").startswith("TABLE_NOT_FOUND")
    state(athena, start(athena, "DROP TABLE IF EXISTS scratch.events"))


def test_syntax_error_fails_with_the_parsers_message(lake: Path, athena: Any) -> None:
    reason = failure(athena, "SELECT FROM WHERE (")
    assert reason.startswith("SYNTAX_ERROR: line 1:13: ")
    assert "table name" in reason


def test_results_page_like_athena_with_the_header_first(lake: Path, athena: Any, s3: Any) -> None:
    sql = f"SELECT event_key FROM events WHERE dt = '{BIG_DAY}' ORDER BY event_key"
    query_id = start(athena, sql)
    found = execution(athena, query_id)
    assert found["ResultConfiguration"]["OutputLocation"] == f"{OUTPUT}{query_id}.csv"
    first = athena.get_query_results(QueryExecutionId=query_id)
    rows = first["ResultSet"]["Rows"]
    assert len(rows) == 1000 and rows[0]["Data"] == [{"VarCharValue": "event_key"}]
    assert rows[1]["Data"] == [{"VarCharValue": "big-00000"}]
    second = athena.get_query_results(QueryExecutionId=query_id, NextToken=first["NextToken"])
    rest = second["ResultSet"]["Rows"]
    assert len(rest) == 501 and "NextToken" not in second
    assert rest[-1]["Data"] == [{"VarCharValue": "big-01499"}]
    small = athena.get_query_results(QueryExecutionId=query_id, MaxResults=2)
    assert [r["Data"][0]["VarCharValue"] for r in small["ResultSet"]["Rows"]] == [
        "event_key",
        "big-00000",
    ]
    body = s3.get_object(Bucket="results", Key=f"athena/{query_id}.csv")["Body"].read().decode()
    lines = body.splitlines()
    assert lines[:2] == ['"event_key"', '"big-00000"'] and len(lines) == 1501


def test_values_types_and_nulls_as_athena_returns_them(lake: Path, athena: Any, s3: Any) -> None:
    sql = (
        "SELECT 'a\"b' AS s, CAST(NULL AS VARCHAR) AS n, CAST(2 AS BIGINT) AS i, 0.5 AS d, "
        "CAST(1 AS DOUBLE) / 3 AS third, true AS b, DATE '2026-03-01' AS day, "
        "TIMESTAMP '2026-03-01 01:02:03' AS ts, CAST(0.00001 AS DOUBLE) AS tiny"
    )
    query_id = start(athena, sql)
    state(athena, query_id)
    page = athena.get_query_results(QueryExecutionId=query_id)
    info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [c["Type"] for c in info] == [
        "varchar", "varchar", "bigint", "decimal", "double", "boolean", "date", "timestamp",
        "double",
    ]  # fmt: skip
    values = [c.get("VarCharValue") for c in page["ResultSet"]["Rows"][1]["Data"]]
    assert values == [
        'a"b', None, "2", "0.5", "0.3333333333333333", "true", "2026-03-01",
        "2026-03-01 01:02:03.000", "1.0E-5",
    ]  # fmt: skip
    body = s3.get_object(Bucket="results", Key=f"athena/{query_id}.csv")["Body"].read().decode()
    assert body.splitlines()[1].startswith('"a""b",,"2","0.5"')


def test_only_projected_partitions_are_read(lake: Path, athena: Any) -> None:
    info, rows = results(
        athena, "SELECT dt, count(*) AS n FROM reconciliation GROUP BY dt ORDER BY dt"
    )
    assert [r[0] for r in rows] == [str(d) for d in DAYS]
    assert info[0]["Type"] == "varchar"  # the partition column, as declared
    _, local_rows = run_query_local(
        str(lake), "SELECT DISTINCT dt FROM ${database}.reconciliation ORDER BY dt"
    )
    # The local runner reads every published partition, the one before the projection's range
    # included; a folder that is not a day never gets a manifest.
    assert [r[0] for r in local_rows] == ["2019-12-31", *(str(d) for d in DAYS)]


def test_stop_cancels_a_running_query(lake: Path, athena: Any) -> None:
    slow = (
        "SELECT count(*) FROM events a CROSS JOIN events b CROSS JOIN events c "
        f"WHERE a.dt = '{BIG_DAY}' AND b.dt = '{BIG_DAY}' AND c.dt = '{BIG_DAY}' "
        "AND a.visitor_key || b.visitor_key < c.visitor_key"
    )
    query_id = start(athena, slow)
    deadline = time.monotonic() + 10
    while athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"][
        "State"
    ] in ("QUEUED",):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    athena.stop_query_execution(QueryExecutionId=query_id)
    assert execution(athena, query_id, timeout=5)["Status"]["State"] == "CANCELLED"
    worker = f"athena-{query_id[:8]}"  # the worker thread stops: DuckDB was interrupted
    while any(t.name == worker for t in threading.enumerate()):
        assert time.monotonic() < deadline + 5
        time.sleep(0.01)
    with pytest.raises(ClientError, match="Final query state: CANCELLED"):
        athena.get_query_results(QueryExecutionId=query_id)


def test_output_location_comes_from_the_request_or_the_workgroup(lake: Path, athena: Any) -> None:
    with pytest.raises(ClientError, match="No output location provided"):
        athena.start_query_execution(QueryString="SELECT 1")
    athena.create_work_group(
        Name="wg",
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://results/wg/"}},
    )
    query_id = start(athena, "SELECT 1", WorkGroup="wg", ResultConfiguration={})
    found = execution(athena, query_id)
    assert found["ResultConfiguration"]["OutputLocation"] == f"s3://results/wg/{query_id}.csv"
    assert found["WorkGroup"] == "wg"


def test_execution_parameters_are_bound(lake: Path, athena: Any) -> None:
    query_id = start(
        athena,
        "SELECT count(*) FROM events WHERE dt = ? AND media_id = ?",
        ExecutionParameters=[f"'{BIG_DAY}'", "'m1'"],
    )
    state(athena, query_id)
    page = athena.get_query_results(QueryExecutionId=query_id)
    assert page["ResultSet"]["Rows"][1]["Data"] == [{"VarCharValue": "1500"}]


def test_an_empty_partitioned_table_reads_as_no_rows(lake: Path, athena: Any) -> None:
    info, rows = results(athena, "SELECT * FROM rejects")
    (spec,) = [s for s in table_specs(TABLES) if s.name == "rejects"]
    assert [c["Name"] for c in info] == [c.name for c in spec.all_columns]  # as the DDL says
    assert [c["Name"] for c in info][-2:] == ["source_table", "dt"]
    assert rows == []


def _table(parameters: dict[str, str], keys: list[str]) -> dict[str, Any]:
    return {
        "Name": "t",
        "Parameters": parameters,
        "PartitionKeys": [{"Name": k, "Type": "string"} for k in keys],
        "StorageDescriptor": {"Location": "s3://lake/t/", "Columns": []},
    }


def test_partition_projection_admits_what_athena_reads() -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    table = _table(
        {
            "projection.enabled": "true",
            "projection.kind.type": "enum",
            "projection.kind.values": "a,b",
            "projection.n.type": "integer",
            "projection.n.range": "1,20",
            "projection.n.digits": "2",
            "projection.dt.type": "date",
            "projection.dt.format": "yyyy-MM-dd",
            "projection.dt.range": "NOW-7DAYS,NOW",
        },
        ["kind", "n", "dt"],
    )
    accept = partition_filter(table, [], now)
    assert accept(("a", "05", "2026-03-10"))
    assert not accept(("c", "05", "2026-03-10"))  # not an enum value
    assert not accept(("a", "5", "2026-03-10"))  # not zero-padded to 2 digits
    assert not accept(("a", "21", "2026-03-10"))  # outside the integer range
    assert not accept(("a", "05", "2026-03-02"))  # before NOW-7DAYS
    assert not accept(("a", "05", "2026-3-09"))  # not in the format
    every_other = _table(
        {
            "projection.enabled": "true",
            "projection.dt.type": "date",
            "projection.dt.format": "yyyy/MM/dd",
            "projection.dt.range": "2026/03/01,NOW",
            "projection.dt.interval": "2",
        },
        ["dt"],
    )
    accept = partition_filter(every_other, [], now)
    assert accept(("2026/03/03",)) and not accept(("2026/03/04",))
    registered = partition_filter(_table({}, ["dt"]), [["2026-03-01"]], now)
    assert registered(("2026-03-01",)) and not registered(("2026-03-02",))


def test_values_render_as_athena_renders_them() -> None:
    assert [java_double(v) for v in (1.0, 0.1, 1e7, 12345678.9, 1e-4, -2.5e-10)] == [
        "1.0", "0.1", "1.0E7", "1.23456789E7", "1.0E-4", "-2.5E-10",
    ]  # fmt: skip
    assert to_text([1, None, "x"]) == "[1, null, x]"
    assert to_text({"a": 1.5, "b": True}) == "{a=1.5, b=true}"
    assert to_text(datetime(2026, 3, 1, 1, 2, 3, 456789)) == "2026-03-01 01:02:03.456"
    assert athena_type("DECIMAL(18,3)") == ("decimal", 18, 3)
    assert athena_type("VARCHAR[]")[0] == "array" and athena_type("HUGEINT")[0] == "bigint"
