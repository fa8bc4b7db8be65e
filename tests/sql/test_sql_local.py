"""The local runner: translation, views over the lake (Athena's read rules), query lookup,
packaging of the SQL files, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
from sql_lake import END, EVENT_TYPES, FACT_TYPES, START, write_rows

from wistia_pipeline.publishing import (
    PUBLISHED,
    STAGING,
    adopt_unversioned,
    manifest_uri,
    write_manifest,
)
from wistia_pipeline.sql import (
    LocalSchemaMismatch,
    SqlNotFound,
    SqlTranslationError,
    athena_to_duckdb,
    list_queries,
    load_sql,
    run_query_local,
    sql_root,
)
from wistia_pipeline.sql.cli import format_table, main
from wistia_pipeline.sql.local import connect_local
from wistia_pipeline.storage import LocalStorage

REPO = Path(__file__).resolve().parents[2]


def test_translation_rewrites_athena_functions() -> None:
    out = athena_to_duckdb(
        "SELECT regexp_like(a, '^x$'), approx_distinct(b), "
        "array_join(array_agg(c), ',') FROM UNNEST(sequence(DATE '2024-01-01', "
        "DATE '2024-01-02', INTERVAL '1' DAY)) AS t (c)"
    ).upper()
    assert "REGEXP_MATCHES" in out and "APPROX_COUNT_DISTINCT" in out
    assert "ARRAY_TO_STRING" in out and "GENERATE_SERIES" in out
    with pytest.raises(SqlTranslationError, match="cannot parse"):
        athena_to_duckdb("SELECT FROM WHERE (")


def test_views_follow_athena_read_rules(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    folder = lake / "gold" / "wistia" / "fact_media_daily" / "dt=2024-03-04"
    # An older file without the analytics columns plus one with an extra, undeclared column.
    old = {k: v for k, v in FACT_TYPES.items() if not k.startswith("analytics_")}
    write_rows(folder, old, [{"media_id": "a", "loads": 2, "plays": 1, "play_rate": 0.5}])
    write_rows(
        folder,
        {**FACT_TYPES, "new_field": "VARCHAR"},
        [{"media_id": "b", "loads": 1, "plays": 1, "analytics_play_rate": 0.9, "new_field": "x"}],
    )
    adopt_unversioned(LocalStorage(), str(lake))
    cols, rows = run_query_local(
        str(lake),
        "SELECT dt, media_id, analytics_play_rate FROM ${database}.fact_media_daily ORDER BY 2",
    )
    assert cols == ["dt", "media_id", "analytics_play_rate"]
    assert rows == [("2024-03-04", "a", None), ("2024-03-04", "b", 0.9)]
    with pytest.raises(Exception, match="new_field"):
        run_query_local(str(lake), "SELECT new_field FROM wistia.fact_media_daily")


def test_rejects_partition_keys_come_from_the_location_template(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    folder = lake / "silver" / "wistia" / "_rejects" / "events" / "dt=2024-03-05"
    write_rows(
        folder,
        {"reason": "VARCHAR", "raw": "VARCHAR", "_run_id": "VARCHAR"},
        [{"reason": "bad received_at", "raw": "{}", "_run_id": "r1"}],
    )
    adopt_unversioned(LocalStorage(), str(lake))
    _, rows = run_query_local(
        str(lake), "SELECT source_table, dt, reason FROM wistia.rejects", database="wistia"
    )
    assert rows == [("events", "2024-03-05", "bad received_at")]


def test_type_mismatch_with_the_ddl_is_reported(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    types = {**EVENT_TYPES, "percent_viewed": "VARCHAR"}
    write_rows(
        lake / "silver" / "wistia" / "events" / "dt=2024-03-04",
        types,
        [{"event_key": "e1", "percent_viewed": "0.5"}],
    )
    adopt_unversioned(LocalStorage(), str(lake))
    with pytest.raises(LocalSchemaMismatch, match=r"events\.percent_viewed.*declares double"):
        run_query_local(str(lake), "SELECT 1")


def test_views_read_only_what_manifests_list(tmp_path: Path) -> None:
    """Write-audit-publish: data without a published manifest is invisible to readers; the
    staged manifests make the staging views; partition values come from the manifest's path."""
    lake = tmp_path / "lake"
    table = lake / "gold" / "wistia" / "fact_media_daily"
    published_dir, staged_dir = table / "dt=2024-03-04" / "v=a", table / "dt=2024-03-04" / "v=b"
    write_rows(published_dir, FACT_TYPES, [{"media_id": "old", "loads": 1, "plays": 1}])
    write_rows(staged_dir, FACT_TYPES, [{"media_id": "new", "loads": 2, "plays": 1}])
    query = "SELECT dt, media_id FROM ${database}.fact_media_daily"
    assert run_query_local(str(lake), query) == (["dt", "media_id"], [])
    storage, day = LocalStorage(), date(2024, 3, 4)
    for area, folder in ((PUBLISHED, published_dir), (STAGING, staged_dir)):
        files = sorted(str(p) for p in folder.glob("*.parquet"))
        write_manifest(storage, manifest_uri(str(lake), area, str(table), day), files)
    assert run_query_local(str(lake), query)[1] == [("2024-03-04", "old")]
    con = connect_local(str(lake), "wistia_staging", STAGING)
    try:
        assert con.execute(
            "SELECT dt, media_id FROM wistia_staging.fact_media_daily"
        ).fetchall() == [("2024-03-04", "new")]
    finally:
        con.close()


def test_query_lookup(tmp_path: Path, good_lake: Path) -> None:
    sql_file = tmp_path / "q.sql"
    sql_file.write_text("SELECT COUNT(*) AS n FROM ${database}.events")
    assert run_query_local(str(good_lake), str(sql_file)) == (["n"], [(13,)])
    with pytest.raises(SqlNotFound, match="no query named"):
        run_query_local(str(good_lake), "no_such_query")
    with pytest.raises(ValueError, match="Athena DDL"):
        run_query_local(str(good_lake), "ddl/10_silver_events")
    with pytest.raises(ValueError, match=r"not .*s3://"):
        run_query_local("s3://bucket/lake", "SELECT 1")
    with pytest.raises(ValueError, match="kind must be one of"):
        list_queries("views")


def test_sql_root_holds_the_three_kinds() -> None:
    root = sql_root()
    for kind in ("ddl", "checks", "examples"):
        assert sorted(p.stem for p in (root / kind).glob("*.sql")) == list_queries(kind)
    assert (REPO / "include" / "sql" / "README.md").is_file()


def test_sql_is_readable_from_the_built_plugins_zip_without_duckdb(tmp_path: Path) -> None:
    """From MWAA's plugins.zip as the project builds it: SQL found via importlib.resources
    (even zipimported), and importing the package pulls in neither duckdb nor the source tree."""
    from wistia_dev.zips import build_plugins_zip

    archive = build_plugins_zip(tmp_path / "plugins.zip")
    with zipfile.ZipFile(archive) as zf:
        shipped = {n for n in zf.namelist() if n.startswith("wistia_pipeline/sql/files/")}
    for kind in ("ddl", "checks", "examples"):
        for name in list_queries(kind):
            assert f"wistia_pipeline/sql/files/{kind}/{name}.sql" in shipped
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import wistia_pipeline.sql as s;"
        "assert '.zip' in s.__file__, s.__file__;"
        "assert 'duckdb' not in sys.modules;"
        "print(len(s.list_queries('checks')), len(s.render_sql('checks', 'gold_days_present',"
        " start_date='2024-01-01', end_date='2024-01-02', database='wistia')) > 0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(archive)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert out.stdout.split() == [str(len(list_queries("checks"))), "True"]


def test_cli_list_query_and_checks(good_lake: Path, bad_lake: Path, capsys) -> None:
    assert main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert "examples/top_media_by_play_rate" in listed and "checks/silver_no_raw_pii" in listed

    args = ["--lake-uri", str(good_lake), "--start-date", str(START), "--end-date", str(END)]
    assert main(["top_media_by_play_rate", "--top-n", "1", *args]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split(" | ")[0].strip() == "dt" and "(3 rows)" in out

    assert main(["--checks", *args]) == 0
    assert "(5 rows)" in capsys.readouterr().out
    bad = ["--lake-uri", str(bad_lake), "--start-date", str(START), "--end-date", str(END)]
    assert main(["--checks", *bad]) == 1
    assert main(["no_such_query", *args]) == 2
    assert "no query named" in capsys.readouterr().err


def test_cli_module_runs_as_make_query_does(good_lake: Path) -> None:
    env = {**os.environ, "WISTIA_LAKE_URI": str(good_lake)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "wistia_pipeline.sql.cli",
            "SELECT dt, SUM(plays) AS plays FROM ${database}.fact_media_daily GROUP BY dt ORDER BY dt",
            "--start-date",
            str(START),
            "--end-date",
            str(END),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["dt", "|", "plays"]
    assert lines[2].split() == ["2024-03-04", "|", "4"]


def test_format_table() -> None:
    text = format_table(["a", "bb"], [(1, None), (2.5, "x" * 100)])
    lines = text.splitlines()
    assert lines[0] == "a   | bb" + " " * 58
    assert "NULL" in lines[2] and lines[3].endswith("...") and lines[-1] == "(2 rows)"
    assert load_sql("checks", "gold_days_present.sql").startswith("--")
