"""Build the Glue jobs' ``--extra-py-files`` zip.

    python -m wistia_pipeline.packaging.glue_zip --out dist/glue/wistia_pipeline.zip

The zip holds the ``wistia_pipeline`` package at its root (so ``import wistia_pipeline`` works
on Glue), minus ``packaging/`` (build-time only) and bytecode caches. Glue 5.x provides Spark,
boto3 and Python 3.11; nothing else is vendored. The zip is reproducible (sorted entries, fixed
timestamps), written by the same writer as the Lambda zip.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wistia_pipeline.packaging.lambda_zip import write_zip

PACKAGE = "wistia_pipeline"
EXCLUDED_SUBPACKAGES = frozenset({"packaging"})
# Modules the Glue scripts import; the build fails if any is missing from the zip.
REQUIRED_MODULES = (
    "wistia_pipeline/__init__.py",
    "wistia_pipeline/config.py",
    "wistia_pipeline/storage.py",
    "wistia_pipeline/bronze.py",
    "wistia_pipeline/glue_args.py",
    "wistia_pipeline/transforms/__init__.py",
)


def glue_zip_entries(package_dir: Path) -> list[tuple[Path, str]]:
    """(source, arcname) for every shipped ``.py`` file of the package."""
    entries: list[tuple[Path, str]] = []
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir)
        if not path.is_file() or "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if rel.parts[0] in EXCLUDED_SUBPACKAGES or path.name.startswith("."):
            continue
        entries.append((path, f"{PACKAGE}/{rel.as_posix()}"))
    names = {arc for _, arc in entries}
    missing = [m for m in REQUIRED_MODULES if m not in names]
    if missing:
        raise RuntimeError(f"Glue zip would miss required modules: {missing}")
    return entries


def build_glue_zip(out: Path) -> Path:
    """Build the zip at ``out``; return its path."""
    package_dir = Path(__file__).resolve().parents[1]
    write_zip(out, glue_zip_entries(package_dir))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Glue --extra-py-files zip.")
    parser.add_argument("--out", type=Path, default=Path("dist/glue/wistia_pipeline.zip"))
    args = parser.parse_args(argv)
    path = build_glue_zip(args.out)
    print(f"{path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
