"""plugins.zip and the dist/ layout (the packaged artifacts, not the source tree)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from wistia_pipeline.packaging.dist import Dist, build_dist, sha256_file
from wistia_pipeline.packaging.plugins_zip import build_plugins_zip

REPO = Path(__file__).resolve().parents[2]


def test_plugins_zip_layout_and_reproducible(tmp_path: Path) -> None:
    first = build_plugins_zip(tmp_path / "a" / "plugins.zip")
    second = build_plugins_zip(tmp_path / "b" / "plugins.zip")
    assert first.read_bytes() == second.read_bytes()
    names = zipfile.ZipFile(first).namelist()
    assert names == sorted(names)
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {".airflowignore", "wistia_pipeline", "wistia_airflow"}
    assert "wistia_pipeline/__init__.py" in names
    assert "wistia_airflow/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith("wistia_pipeline/packaging/")]
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
