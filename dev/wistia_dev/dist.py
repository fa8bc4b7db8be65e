"""Build ``dist/``: every deployable artifact, laid out exactly as the two buckets expect.

    python -m wistia_dev.dist [--out dist] [--airflow-version 3.3.1]
                                    (make package [MWAA_AIRFLOW_VERSION=3.3.1])

Layout (the path under ``dist/`` is the S3 key; ``scripts/deploy.py`` uploads them as is)::

    dist/
      lambda/wistia_ingest.zip              artifacts bucket: ingestion Lambda code
      lambda/wistia_report.zip              artifacts bucket: report Lambda code (the twin's Report)
      glue/wistia_pipeline.zip              artifacts bucket: Glue --extra-py-files
      glue_scripts/wistia_silver.py         artifacts bucket: Glue job scripts
      glue_scripts/wistia_gold.py
      stepfunctions/wistia_daily.asl.json   artifacts bucket: the Step Functions twin
      mwaa/dags/wistia_daily.py             MWAA bucket (key without the mwaa/ prefix)
      mwaa/plugins.zip
      mwaa/requirements.txt                 with the MWAA Airflow version's constraint line
      manifest.json                         sha256 and size of every file above

The output directory is rebuilt from scratch on every run, so a DAG file deleted from the
repository also disappears from ``dist/mwaa/dags/`` (and deploy removes it from the bucket).
All zips are reproducible: an unchanged tree gives byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wistia_dev import mwaa_versions, repo_root
from wistia_dev.lambda_zip import build_lambda_zip, build_report_zip, zip_sizes
from wistia_dev.zips import build_glue_zip, build_plugins_zip, tree_entries

MANIFEST = "manifest.json"
MWAA_DIR = "mwaa"
LAMBDA_ZIP_KEY = "lambda/wistia_ingest.zip"
REPORT_LAMBDA_ZIP_KEY = "lambda/wistia_report.zip"
GLUE_ZIP_KEY = "glue/wistia_pipeline.zip"
GLUE_SCRIPT_KEYS = ("glue_scripts/wistia_silver.py", "glue_scripts/wistia_gold.py")
STATE_MACHINE_KEY = "stepfunctions/wistia_daily.asl.json"
STATE_MACHINE_SOURCE = "include/stepfunctions/wistia_daily.asl.json"
PLUGINS_KEY = "plugins.zip"
REQUIREMENTS_KEY = "requirements.txt"
DAGS_PREFIX = "dags/"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Dist:
    """A built ``dist/`` directory."""

    root: Path

    def artifact_objects(self) -> dict[str, Path]:
        """Artifacts-bucket key -> local file."""
        return {
            path.relative_to(self.root).as_posix(): path
            for path in sorted(self.root.rglob("*"))
            if path.is_file()
            and path.relative_to(self.root).parts[0] != MWAA_DIR
            and path.name != MANIFEST
        }

    def mwaa_objects(self) -> dict[str, Path]:
        """MWAA-bucket key -> local file."""
        base = self.root / MWAA_DIR
        return {
            path.relative_to(base).as_posix(): path
            for path in sorted(base.rglob("*"))
            if path.is_file()
        }

    def manifest(self) -> dict[str, dict[str, dict[str, object]]]:
        def describe(objects: dict[str, Path]) -> dict[str, dict[str, object]]:
            return {
                key: {"sha256": sha256_file(path), "bytes": path.stat().st_size}
                for key, path in objects.items()
            }

        return {
            "artifacts": describe(self.artifact_objects()),
            "mwaa": describe(self.mwaa_objects()),
        }


def _reset_dir(root: Path) -> None:
    """Empty ``root``; refuse to wipe a non-empty directory that is not a previous dist/."""
    if root.exists():
        if any(root.iterdir()) and not (root / MANIFEST).is_file():
            raise RuntimeError(
                f"{root} is not empty and has no {MANIFEST}: refusing to delete it as dist/"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True)


def _copy(source: Path, dest: Path) -> None:
    if not source.is_file():
        raise FileNotFoundError(f"{source} is missing; cannot build dist/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)


def _copy_dags(dags_dir: Path, dest: Path) -> list[str]:
    copied = []
    for path, rel in tree_entries(dags_dir):
        _copy(path, dest / rel)
        copied.append(rel)
    if not any(name.endswith(".py") for name in copied):
        raise RuntimeError(f"no DAG file under {dags_dir}")
    return copied


def _state_machine_definition(repo: Path) -> str:
    """The twin's ASL as JSON text (validated as JSON; names stay ``${...}`` placeholders)."""
    source = repo / STATE_MACHINE_SOURCE
    if not source.is_file():
        raise FileNotFoundError(
            f"{source} is missing (python -m wistia_pipeline.stepfunctions writes it)"
        )
    text = source.read_text(encoding="utf-8")
    try:
        definition = json.loads(text)
    except ValueError as exc:
        raise RuntimeError(f"{source} is not valid JSON: {exc}") from None
    if "States" not in definition or "StartAt" not in definition:
        raise RuntimeError(f"{source} is not an ASL definition (no StartAt/States)")
    return json.dumps(definition, indent=2, sort_keys=True) + "\n"


def build_dist(
    root: Path | None = None,
    repo: Path | None = None,
    lambda_builder: Callable[[Path], Path] = build_lambda_zip,
    airflow_version: str | None = None,
    report_builder: Callable[[Path], Path] = build_report_zip,
) -> Dist:
    """Rebuild ``root`` (default ``<repo>/dist``) with every artifact; return it.

    ``lambda_builder`` / ``report_builder`` are the two Lambda zip builds (they vendor their
    wheels from PyPI on the first run; cached afterwards under ``build/lambda-vendor``).
    ``airflow_version``: the MWAA Airflow
    version requirements.txt is for (default: the table's, ``compat/mwaa-versions.toml``); a
    version the project has not tested is refused before anything is built.
    """
    repo = repo or repo_root()
    requirements = mwaa_versions.render_requirements(
        (repo / REQUIREMENTS_KEY).read_text(encoding="utf-8"), airflow_version
    )
    root = (root or repo / "dist").resolve()
    _reset_dir(root)
    lambda_builder(root / LAMBDA_ZIP_KEY)
    report_builder(root / REPORT_LAMBDA_ZIP_KEY)
    build_glue_zip(root / GLUE_ZIP_KEY, repo)
    for key in GLUE_SCRIPT_KEYS:
        _copy(repo / key, root / key)
    sfn = root / STATE_MACHINE_KEY
    sfn.parent.mkdir(parents=True, exist_ok=True)
    sfn.write_text(_state_machine_definition(repo), encoding="utf-8")
    mwaa = root / MWAA_DIR
    _copy_dags(repo / "dags", mwaa / DAGS_PREFIX)
    build_plugins_zip(mwaa / PLUGINS_KEY, repo)
    (mwaa / REQUIREMENTS_KEY).write_text(requirements, encoding="utf-8")
    dist = Dist(root)
    (root / MANIFEST).write_text(json.dumps(dist.manifest(), indent=2, sort_keys=True) + "\n")
    return dist


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build dist/ (Lambda, Glue, MWAA artifacts).")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default dist/)")
    parser.add_argument(
        "--airflow-version",
        default=None,
        help=f"MWAA Airflow version (default {mwaa_versions.default()}; one of "
        f"{', '.join(mwaa_versions.supported())})",
    )
    args = parser.parse_args(argv)
    try:
        dist = build_dist(args.out, airflow_version=args.airflow_version)
    except mwaa_versions.UnsupportedVersion as exc:
        parser.error(str(exc))
    manifest = dist.manifest()
    for bucket, objects in manifest.items():
        print(f"{bucket} bucket:")
        for key, info in objects.items():
            print(f"  {key:45s} {int(info['bytes']) / 1024:9.1f} KiB  {str(info['sha256'])[:12]}")
    for key in (LAMBDA_ZIP_KEY, REPORT_LAMBDA_ZIP_KEY):
        zipped, unzipped = zip_sizes(dist.root / key)
        print(f"{key}: {zipped / 2**20:.1f} MiB zipped, {unzipped / 2**20:.1f} MiB unzipped")
    version, _ = mwaa_versions.requirements_version(
        (dist.root / MWAA_DIR / REQUIREMENTS_KEY).read_text(encoding="utf-8")
    )
    print(f"wrote {dist.root} (MWAA Airflow {version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
