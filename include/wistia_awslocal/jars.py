"""The S3A jars local Spark needs to read and write ``s3://`` on this server.

PySpark 3.5 ships Hadoop 3.3.4 without ``hadoop-aws``; the matching ``hadoop-aws-3.3.1.jar`` and
``aws-java-sdk-bundle-1.11.901.jar`` come from the PyPI sdist of ``sagemaker-pyspark`` 1.4.5 (a
pinned URL and sha256). :func:`fetch_jars` downloads it once, verifies it and keeps only the two
jars under ``.tools/jars/`` (git-ignored); a Glue run only looks them up (:func:`jar_paths`) and
never downloads. ``python -m wistia_awslocal.jars`` runs the fetch.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tarfile
import tempfile
from pathlib import Path

import requests

SDIST_URL = (
    "https://files.pythonhosted.org/packages/df/37/"
    "88e683fd29270ca890b1b889466325be5461abb93d5ea055bc3a505d40a8/sagemaker_pyspark-1.4.5.tar.gz"
)
SDIST_SHA256 = "05ca2d5081d7138ce29a8fb0a9cba077f28c825288ed07aed46a82e63c0bf1fb"
JAR_NAMES = ("hadoop-aws-3.3.1.jar", "aws-java-sdk-bundle-1.11.901.jar")
REPO = Path(__file__).resolve().parents[2]
_CHUNK = 1 << 20


class JarsMissingError(FileNotFoundError):
    """The S3A jars are not in the cache (run ``python -m wistia_awslocal.jars``)."""


def default_cache_dir() -> Path:
    """``$WISTIA_AWSLOCAL_JARS_DIR`` or ``<repo>/.tools/jars``."""
    return Path(os.environ.get("WISTIA_AWSLOCAL_JARS_DIR") or REPO / ".tools" / "jars")


def jar_paths(cache_dir: Path | None = None) -> list[Path]:
    """The cached jars; raise :class:`JarsMissingError` when one is missing (no download)."""
    cache = cache_dir or default_cache_dir()
    paths = [cache / name for name in JAR_NAMES]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise JarsMissingError(
            f"S3A jars missing in {cache}: {', '.join(missing)}; "
            "run `python -m wistia_awslocal.jars` once to fetch them"
        )
    return paths


def _download(url: str, dest: Path) -> str:
    """Stream ``url`` into ``dest``; return the sha256 of what was written."""
    digest = hashlib.sha256()
    with requests.get(url, stream=True, timeout=60) as resp, dest.open("wb") as out:
        resp.raise_for_status()
        for chunk in resp.iter_content(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _extract_jars(sdist: Path, cache: Path) -> None:
    """Copy the members named in :data:`JAR_NAMES` (by base name) out of the sdist."""
    found: set[str] = set()
    with tarfile.open(sdist, "r:gz") as tar:
        for member in tar:
            name = Path(member.name).name
            if not member.isfile() or name not in JAR_NAMES or name in found:
                continue
            source = tar.extractfile(member)
            if source is None:
                continue
            partial = cache / f".{name}.part"
            with source, partial.open("wb") as out:
                while chunk := source.read(_CHUNK):
                    out.write(chunk)
            partial.replace(cache / name)
            found.add(name)
    missing = set(JAR_NAMES) - found
    if missing:
        raise JarsMissingError(f"{SDIST_URL} has no {', '.join(sorted(missing))}")


def fetch_jars(cache_dir: Path | None = None, url: str = SDIST_URL) -> list[Path]:
    """Download the sdist (verified against :data:`SDIST_SHA256`) unless the jars are cached."""
    cache = cache_dir or default_cache_dir()
    try:
        return jar_paths(cache)
    except JarsMissingError:
        pass
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        sdist = Path(tmp) / "sagemaker_pyspark.tar.gz"
        sha = _download(url, sdist)
        if sha != SDIST_SHA256:
            raise ValueError(f"sha256 mismatch for {url}: got {sha}, expected {SDIST_SHA256}")
        _extract_jars(sdist, cache)
    return jar_paths(cache)


def main(argv: list[str] | None = None) -> int:
    """CLI: fetch the jars (once) and print their paths."""
    parser = argparse.ArgumentParser(description="Fetch the S3A jars for local Glue runs.")
    parser.add_argument("--dir", type=Path, default=None, help="cache dir (default .tools/jars)")
    args = parser.parse_args(argv)
    for path in fetch_jars(args.dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
