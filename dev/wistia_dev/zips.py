"""The zips that ship the project's code: one directory walker, one writer.

- Glue ``--extra-py-files`` zip: the ``wistia_pipeline`` package at the root, so
  ``import wistia_pipeline`` works on Glue (Glue 5.x provides Spark, boto3 and Python 3.11;
  nothing is vendored).
- MWAA ``plugins.zip``: MWAA unpacks it into its plugins folder, which is on ``sys.path``, so
  the zip carries the two packages the DAG imports at its root, ``wistia_pipeline/`` (with its
  SQL files) and ``wistia_airflow/``, plus ``.airflowignore`` (keeps Airflow's plugin loader out
  of the two packages).

Every zip is reproducible (sorted entries, fixed timestamps): an unchanged tree gives
byte-identical output, so ``scripts/deploy.py`` pushes no new object version.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

from wistia_dev import repo_root

Entry = tuple[Path, str]  # (source file, name in the zip)

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIPPED_SUFFIXES = frozenset({".pyc", ".pyo"})

PIPELINE_SOURCE = "include/wistia_pipeline"
AIRFLOW_SOURCE = "plugins/wistia_airflow"
AIRFLOWIGNORE = "plugins/.airflowignore"
PLUGIN_MODULE = "plugins/wistia_plugin.py"
# Modules the Glue scripts import; the build fails if any is missing from the zip.
GLUE_REQUIRED = (
    "wistia_pipeline/__init__.py",
    "wistia_pipeline/config.py",
    "wistia_pipeline/storage.py",
    "wistia_pipeline/bronze.py",
    "wistia_pipeline/glue_args.py",
    "wistia_pipeline/transforms/__init__.py",
)
# Files the DAG needs on MWAA; the build fails when one is missing.
PLUGINS_REQUIRED = (
    ".airflowignore",
    "wistia_plugin.py",
    "wistia_pipeline/__init__.py",
    "wistia_pipeline/config.py",
    "wistia_pipeline/pipeline.py",
    "wistia_airflow/__init__.py",
)


def tree_entries(directory: Path, prefix: str = "", skip_top: Iterable[str] = ()) -> list[Entry]:
    """Every file under ``directory`` named ``prefix + relative path``, sorted.

    Leaves out bytecode, ``__pycache__``, dot-files and dot-directories, and the top-level
    names in ``skip_top``.
    """
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} does not exist; cannot package it")
    skipped = frozenset(skip_top)
    entries: list[Entry] = []
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if not path.is_file() or rel.parts[0] in skipped or path.suffix in _SKIPPED_SUFFIXES:
            continue
        if "__pycache__" in rel.parts or any(part.startswith(".") for part in rel.parts):
            continue
        entries.append((path, f"{prefix}{rel.as_posix()}"))
    return entries


def require(entries: list[Entry], required: Iterable[str], artifact: str) -> list[Entry]:
    """``entries`` sorted by name; fails when one of ``required`` is missing."""
    names = {arcname for _, arcname in entries}
    missing = [name for name in required if name not in names]
    if missing:
        raise RuntimeError(f"{artifact} would miss required files: {missing}")
    return sorted(entries, key=lambda entry: entry[1])


def write_zip(out: Path, entries: list[Entry]) -> Path:
    """Write ``entries`` to ``out`` as a reproducible zip, atomically; return ``out``."""
    names = [arcname for _, arcname in entries]
    if len(names) != len(set(names)):
        duplicates = sorted({name for name in names if names.count(name) > 1})
        raise RuntimeError(f"{out.name} would hold duplicate paths: {duplicates}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for source, arcname in sorted(entries, key=lambda entry: entry[1]):
            info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, source.read_bytes())
    tmp.replace(out)
    return out


def glue_zip_entries(repo: Path) -> list[Entry]:
    """The Glue zip's files: the whole ``wistia_pipeline`` package."""
    entries = tree_entries(repo / PIPELINE_SOURCE, "wistia_pipeline/")
    return require(entries, GLUE_REQUIRED, "the Glue zip")


def plugins_zip_entries(repo: Path) -> list[Entry]:
    """``plugins.zip``'s files: both packages, ``.airflowignore`` and the plugin module."""
    entries = [
        *tree_entries(repo / PIPELINE_SOURCE, "wistia_pipeline/"),
        *tree_entries(repo / AIRFLOW_SOURCE, "wistia_airflow/"),
        (repo / AIRFLOWIGNORE, ".airflowignore"),
        (repo / PLUGIN_MODULE, "wistia_plugin.py"),  # registers the plugin (timetable, view)
    ]
    return require(entries, PLUGINS_REQUIRED, "plugins.zip")


def build_glue_zip(out: Path, repo: Path | None = None) -> Path:
    """Build the Glue ``--extra-py-files`` zip at ``out`` from the checkout at ``repo``."""
    return write_zip(out, glue_zip_entries(repo or repo_root()))


def build_plugins_zip(out: Path, repo: Path | None = None) -> Path:
    """Build MWAA's ``plugins.zip`` at ``out`` from the checkout at ``repo``."""
    return write_zip(out, plugins_zip_entries(repo or repo_root()))
