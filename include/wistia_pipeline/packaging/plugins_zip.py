"""Build MWAA's ``plugins.zip``.

    python -m wistia_pipeline.packaging.plugins_zip --out dist/mwaa/plugins.zip

MWAA unpacks ``plugins.zip`` into its ``plugins/`` folder, which is on ``sys.path``; so the zip
carries the two packages the DAG imports at its root:

- ``wistia_pipeline/`` (from ``include/``), with its SQL files, minus ``packaging/``
  (build-time only);
- ``wistia_airflow/`` (from ``plugins/``), the Airflow-side adapters and callbacks.

plus ``.airflowignore`` at the root (from ``plugins/.airflowignore``), so Airflow's plugin
loader does not import the packages' modules as plugins. Bytecode caches and other dot-files are
left out. The zip is reproducible (sorted entries, fixed
timestamps, same writer as the Lambda and Glue zips), so an unchanged tree gives byte-identical
output and ``scripts/deploy.py`` does not push a new MWAA object version.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wistia_pipeline.config import repo_root
from wistia_pipeline.packaging.lambda_zip import write_zip

# (source directory relative to the repo, top-level name in the zip, subpackages left out)
PACKAGES: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("include/wistia_pipeline", "wistia_pipeline", frozenset({"packaging"})),
    ("plugins/wistia_airflow", "wistia_airflow", frozenset()),
)
# Files the DAG needs on MWAA; the build fails when one is missing.
REQUIRED = (
    ".airflowignore",
    "wistia_pipeline/__init__.py",
    "wistia_pipeline/config.py",
    "wistia_pipeline/pipeline.py",
    "wistia_airflow/__init__.py",
)
_SKIPPED_SUFFIXES = frozenset({".pyc", ".pyo"})
# Shipped at the zip's root: keeps Airflow's plugin loader out of the two packages.
AIRFLOWIGNORE = "plugins/.airflowignore"


def plugins_zip_entries(repo: Path) -> list[tuple[Path, str]]:
    """(source, arcname) of every file shipped in ``plugins.zip``, sorted by arcname."""
    entries: list[tuple[Path, str]] = []
    for rel_dir, top, excluded in PACKAGES:
        package_dir = repo / rel_dir
        if not package_dir.is_dir():
            raise FileNotFoundError(f"{package_dir} does not exist; cannot build plugins.zip")
        for path in sorted(package_dir.rglob("*")):
            rel = path.relative_to(package_dir)
            if not path.is_file() or "__pycache__" in rel.parts:
                continue
            if path.suffix in _SKIPPED_SUFFIXES or any(p.startswith(".") for p in rel.parts):
                continue
            if rel.parts[0] in excluded:
                continue
            entries.append((path, f"{top}/{rel.as_posix()}"))
    entries.append((repo / AIRFLOWIGNORE, ".airflowignore"))
    names = {arc for _, arc in entries}
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise RuntimeError(f"plugins.zip would miss required files: {missing}")
    return sorted(entries, key=lambda entry: entry[1])


def build_plugins_zip(out: Path, repo: Path | None = None) -> Path:
    """Build ``plugins.zip`` at ``out`` from the checkout at ``repo``; return ``out``."""
    write_zip(out, plugins_zip_entries(repo or repo_root()))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build MWAA's plugins.zip.")
    parser.add_argument("--out", type=Path, default=Path("dist/mwaa/plugins.zip"))
    args = parser.parse_args(argv)
    path = build_plugins_zip(args.out)
    print(f"{path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
