"""Helpers of the deployment tests: scripts/deploy.py as a module, Athena queries and lake files
on the local AWS the tests deployed into (boto3 reads AWS_ENDPOINT_URL)."""

from __future__ import annotations

import functools
import importlib.util
import sys
import tempfile
from datetime import date
from pathlib import Path
from types import ModuleType

import boto3
import duckdb

from wistia_pipeline.sql import CheckResult, check_result_from_athena, render_sql

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"


@functools.cache
def deploy_module() -> ModuleType:
    """``scripts/deploy.py`` imported as a module."""
    spec = importlib.util.spec_from_file_location("deploy_script", REPO / "scripts" / "deploy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["deploy_script"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def query_rows(sql: str, workgroup: str, database: str | None = None) -> list[list[str | None]]:
    """Run ``sql`` in ``workgroup`` (deploy's own runner) and return every row, header first."""
    athena = boto3.client("athena")
    query_id = deploy_module().run_athena(athena, sql, workgroup, database)
    rows = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]["Rows"]
    return [[cell.get("VarCharValue") for cell in row["Data"]] for row in rows]


def athena_check(
    outputs: dict[str, str], database: str, name: str, start: date, end: date
) -> CheckResult:
    """``checks/<name>.sql`` for ``[start, end]`` through Athena, as the DAG renders it."""
    sql = render_sql(
        "checks", name, start_date=start, end_date=end, database=database, tolerance=0.0
    )
    athena = boto3.client("athena")
    query_id = deploy_module().run_athena(athena, sql, outputs["AthenaWorkGroupName"], database)
    return check_result_from_athena(name, athena.get_query_results(QueryExecutionId=query_id))


def put_parquet(
    lake_uri: str, prefix: str, rows: list[tuple[str, int, int, int]], part: int = 0
) -> None:
    """One gold ``reconciliation`` Parquet file (media_id, events_count, play_count,
    difference) at ``<lake>/<prefix>/part-NNNNN.parquet`` (replacing that part)."""
    bucket, _, root = lake_uri.removeprefix("s3://").partition("/")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "part.parquet"
        with duckdb.connect() as con:
            con.execute(
                "CREATE TABLE t (media_id VARCHAR, events_count BIGINT, play_count BIGINT, "
                "difference BIGINT)"
            )
            con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
            con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
        key = "/".join(p for p in (root, prefix, f"part-{part:05d}.parquet") if p)
        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
    _publish_prefix(lake_uri, prefix)


def _publish_prefix(lake_uri: str, prefix: str) -> None:
    """Point the partition's published and staged manifests at every Parquet object under
    ``<lake>/<prefix>`` (what a run leaves: readers and checks see only manifests)."""
    from wistia_pipeline.publishing import MANIFEST_NAME, PUBLISHED, STAGING, write_manifest
    from wistia_pipeline.storage import S3Storage

    storage = S3Storage(boto3.client("s3"))
    data = f"{lake_uri.rstrip('/')}/{prefix}"
    files = [u for u in storage.list(data) if u.endswith(".parquet")]
    for area in (PUBLISHED, STAGING):
        write_manifest(storage, f"{lake_uri.rstrip('/')}/{area}/{prefix}/{MANIFEST_NAME}", files)
