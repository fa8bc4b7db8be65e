"""plugins.zip and the dist/ layout (the packaged artifacts, not the source tree)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from wistia_dev.dist import (
    GLUE_ZIP_KEY,
    LAMBDA_ZIP_KEY,
    REPORT_LAMBDA_ZIP_KEY,
    Dist,
    build_dist,
    sha256_file,
)
from wistia_dev.lambda_zip import REPORT_ZIP, UNZIPPED_LIMIT, ZIPPED_DIRECT_UPLOAD_LIMIT, zip_sizes
from wistia_dev.zips import build_plugins_zip

REPO = Path(__file__).resolve().parents[2]
DEV_PACKAGE = REPO / "dev" / "wistia_dev"
_IMPORTS_DEV = re.compile(r"^\s*(from|import)\s+wistia_dev\b", re.MULTILINE)


def test_plugins_zip_layout_and_reproducible(tmp_path: Path) -> None:
    first = build_plugins_zip(tmp_path / "a" / "plugins.zip")
    second = build_plugins_zip(tmp_path / "b" / "plugins.zip")
    assert first.read_bytes() == second.read_bytes()
    names = zipfile.ZipFile(first).namelist()
    assert names == sorted(names)
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {".airflowignore", "wistia_plugin.py", "wistia_pipeline", "wistia_airflow"}
    assert "wistia_pipeline/__init__.py" in names
    assert "wistia_airflow/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # every SQL file of the package ships (the DAG's checks read them on MWAA)
    sql_src = REPO / "include" / "wistia_pipeline" / "sql" / "files"
    sql_files = [p for p in sql_src.rglob("*.sql")]
    assert sql_files
    for path in sql_files:
        assert f"wistia_pipeline/sql/files/{path.relative_to(sql_src).as_posix()}" in names


def test_plugins_zip_imports_like_mwaa(tmp_path: Path) -> None:
    """On MWAA the unpacked plugins.zip is on sys.path: the DAG's imports resolve from it alone."""
    zip_path = build_plugins_zip(tmp_path / "plugins.zip")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import wistia_pipeline.pipeline, wistia_pipeline.config, wistia_airflow;"
        "import wistia_pipeline.sql as q;"
        "assert wistia_pipeline.pipeline.__file__.startswith(sys.argv[1]), "
        "wistia_pipeline.pipeline.__file__;"
        "print(len(q.list_queries('checks')))"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code, str(zip_path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) > 0


def test_airflow_plugin_loader_accepts_the_unpacked_zip(tmp_path: Path) -> None:
    """MWAA's scheduler/api-server load the plugins folder at start-up: nothing in plugins.zip may
    be imported as a plugin (a __main__.py would exit the process, relative imports would fail)."""
    folder = tmp_path / "plugins"
    zipfile.ZipFile(build_plugins_zip(tmp_path / "plugins.zip")).extractall(folder)
    code = (
        "import sys; sys.argv = ['airflow', 'scheduler'];"
        "from airflow import plugins_manager as pm;"
        "pm.ensure_plugins_loaded();"
        "print('errors', pm.get_import_errors())"
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "home"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "errors {}" in proc.stdout, proc.stdout[-2000:]


def test_dist_layout(built_dist: Dist) -> None:
    artifacts = built_dist.artifact_objects()
    assert set(artifacts) == {
        "lambda/wistia_ingest.zip",
        "lambda/wistia_report.zip",
        "glue/wistia_pipeline.zip",
        "glue_scripts/wistia_silver.py",
        "glue_scripts/wistia_gold.py",
        "stepfunctions/wistia_daily.asl.json",
    }
    mwaa = built_dist.mwaa_objects()
    assert {"plugins.zip", "requirements.txt", "dags/wistia_daily.py"} <= set(mwaa)
    assert not [k for k in mwaa if k not in ("plugins.zip", "requirements.txt")
                and not k.startswith("dags/")]  # fmt: skip
    assert mwaa["requirements.txt"].read_text().startswith("--constraint")
    lambda_names = zipfile.ZipFile(artifacts["lambda/wistia_ingest.zip"]).namelist()
    assert "wistia_pipeline/lambda_handler.py" in lambda_names
    glue_names = zipfile.ZipFile(artifacts["glue/wistia_pipeline.zip"]).namelist()
    assert "wistia_pipeline/transforms/__init__.py" in glue_names
    definition = json.loads(artifacts["stepfunctions/wistia_daily.asl.json"].read_text())
    assert "StartAt" in definition
    manifest = json.loads((built_dist.root / "manifest.json").read_text())
    assert manifest["mwaa"]["plugins.zip"]["sha256"] == sha256_file(mwaa["plugins.zip"])


def test_shipped_zips_hold_no_build_or_dev_code(built_dist: Dist) -> None:
    """Build tooling and the dag.test() runner live in dev/wistia_dev: no zip shipped to AWS
    carries a module of that name (nor the old packaging/ package) or imports wistia_dev."""
    dev_modules = {path.stem for path in DEV_PACKAGE.glob("*.py")} - {"__init__"}
    assert {"dist", "zips", "lambda_zip", "local_runner"} <= dev_modules
    forbidden = dev_modules | {"packaging"}
    artifacts = built_dist.artifact_objects()
    shipped = {
        "plugins.zip": built_dist.mwaa_objects()["plugins.zip"],
        "Glue zip": artifacts[GLUE_ZIP_KEY],
        "Lambda zip": artifacts[LAMBDA_ZIP_KEY],
        "report Lambda zip": artifacts[REPORT_LAMBDA_ZIP_KEY],
    }
    for label, path in shipped.items():
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            ours = [n for n in names if n.startswith(("wistia_pipeline/", "wistia_airflow/"))]
            assert "wistia_pipeline/__init__.py" in ours, label
            assert not [n for n in names if n.startswith("wistia_dev/")], label
            leaked = [n for n in ours if {Path(p).stem for p in n.split("/")} & forbidden]
            assert not leaked, f"{label} ships build/dev code: {leaked}"
            importing = [
                n for n in ours if n.endswith(".py") and _IMPORTS_DEV.search(zf.read(n).decode())
            ]
            assert not importing, f"{label} modules import wistia_dev: {importing}"


def test_dist_rebuild_is_identical_and_drops_deleted_files(tmp_path: Path) -> None:
    first = build_dist(tmp_path / "first")
    root = tmp_path / "dist"
    stale = root / "mwaa" / "dags" / "deleted_dag.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("# a DAG file removed from the repo\n")
    (root / "manifest.json").write_text("{}")
    rebuilt = build_dist(root)
    assert not stale.exists()
    assert rebuilt.manifest() == first.manifest()


def test_dist_refuses_to_wipe_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(RuntimeError, match="refusing"):
        build_dist(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


# The report zip imported as Lambda would: the standard library, the unpacked zip, and only what
# the Lambda Python runtime adds (boto3 & co.); then one chart rendered by vl-convert.
REPORT_IMPORT_PROBE = """
import sys
sys.path[:0] = [sys.argv[1]]
sys.path.append(sys.argv[2])
import importlib
handler = importlib.import_module(sys.argv[3]).handler
from datetime import date
from wistia_pipeline.report.queries import report_queries
import vl_convert
assert sorted(report_queries(date(2026, 3, 8), 2, "db")) == [
    "daily_totals", "media_day", "media_trend", "reconciliation"]
svg = vl_convert.vegalite_to_svg({"mark": "bar", "data": {"values": [{"a": "x", "b": 2}]},
    "encoding": {"x": {"field": "a"}, "y": {"field": "b", "type": "quantitative"}}})
assert svg.startswith("<svg"), svg[:80]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("pandas", "numpy", "duckdb", "pyspark"))
print("ok", heavy)
"""


def test_report_zip_fits_lambda_and_imports_alone(built_dist: Dist, tmp_path: Path) -> None:
    """The report Lambda's zip: its handler, the SQL and templates it reads, the chart stack;
    under Lambda's limits; importable with nothing but the runtime's own libraries."""
    import boto3

    path = built_dist.artifact_objects()[REPORT_LAMBDA_ZIP_KEY]
    zipped, unzipped = zip_sizes(path)
    print(f"\n{REPORT_LAMBDA_ZIP_KEY}: {zipped / 2**20:.1f} MiB zipped, "
          f"{unzipped / 2**20:.1f} MiB unzipped")  # fmt: skip
    assert zipped < ZIPPED_DIRECT_UPLOAD_LIMIT and unzipped < UNZIPPED_LIMIT
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "task")
    assert "wistia_pipeline/report/lambda_handler.py" in names
    assert {"wistia_pipeline/report/templates/report.html.j2",
            "wistia_pipeline/report/sql/media_day.sql",
            "wistia_pipeline/sql/files/examples/daily_summary.sql"} <= names  # fmt: skip
    assert not [n for n in names if n.startswith(("wistia_pipeline/transforms/", "boto3/"))]
    # rpds-py (jsonschema's) has no pure-Python fallback: one build per interpreter.
    assert {"rpds/rpds.cpython-312-x86_64-linux-gnu.so",
            "rpds/rpds.cpython-311-x86_64-linux-gnu.so"} <= names  # fmt: skip
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site = Path(boto3.__file__).resolve().parents[1]
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"):
        (runtime / name).symlink_to(site / name)
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", REPORT_IMPORT_PROBE, str(tmp_path / "task"),
         str(runtime), REPORT_ZIP.handler_module],
        capture_output=True, text=True, timeout=120, env={"HOME": str(tmp_path)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok []"
