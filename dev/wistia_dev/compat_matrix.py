"""``make test-compat``: the DAG on every MWAA Airflow version the project supports.

    python -m wistia_dev.compat_matrix [--versions 3.0.6,3.2.1] [--uv PATH]

For each version of ``compat/mwaa-versions.toml``: a venv with the version's pinned set, then,
in it, DAG integrity on both targets (``tests/dags/test_dag_integrity.py``), the parse-time
budget and one local-target ``dag.test()`` day against the simulator (``tests/compat/``). The
default version runs in the project's own ``.venv`` (``uv.lock``, which ``make test`` covers
too); the others in ``.tools/compat/<version>/``, created or re-synced (``uv pip sync``, from
the uv cache where it can) only when the pinned file changed. Nothing is resolved here: the
pinned sets are committed (``python -m wistia_dev.mwaa_versions compile``). Prints one line per
version and a JSON summary; exits 1 if any version failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from wistia_dev import mwaa_versions, repo_root

VENVS = ".tools/compat"
SYNCED_MARKER = ".wistia-pinned-sha256"
# What runs on every version (paths relative to the checkout).
TESTS = ("tests/dags/test_dag_integrity.py", "tests/compat")
CHECKOUT_PATHS = ("include", "plugins", "dev")  # what `uv sync` makes importable in .venv


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_venv(version: str, uv: str) -> tuple[Path, float]:
    """The python of ``version``'s venv, (re)built from its pinned file when that changed; and
    the seconds spent installing (0 when already in sync)."""
    repo = repo_root()
    row = mwaa_versions.get(version)
    pinned = repo / row.pinned
    venv = repo / VENVS / version
    python = venv / "bin" / "python"
    marker = venv / SYNCED_MARKER
    digest = _sha256(pinned)
    if python.exists() and marker.exists() and marker.read_text().strip() == digest:
        return python, 0.0
    started = time.monotonic()
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}  # the machine's Python, no downloads
    if not python.exists():
        subprocess.run(
            [uv, "venv", "--quiet", "--python", mwaa_versions.DEV_PYTHON, str(venv)],
            check=True,
            env=env,
        )
    subprocess.run(
        [uv, "pip", "sync", "--quiet", "--no-config", "--compile-bytecode",
         "--python", str(python), str(pinned)],
        check=True, env=env,
    )  # fmt: skip
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The checkout's packages, importable as in .venv (an editable install without a build).
    (Path(site) / "_wistia_checkout.pth").write_text(
        "".join(f"{repo / path}\n" for path in CHECKOUT_PATHS)
    )
    marker.write_text(digest + "\n")
    return python, round(time.monotonic() - started, 1)


def run_version(version: str, python: Path, pytest_args: list[str]) -> tuple[int, float]:
    """The compatibility tests of ``version`` with ``python``: (pytest's exit code, seconds)."""
    started = time.monotonic()
    env = {**os.environ, "WISTIA_COMPAT_AIRFLOW_VERSION": version}
    proc = subprocess.run(
        [str(python), "-m", "pytest", "-p", "no:cacheprovider", *TESTS, *pytest_args],
        cwd=repo_root(),
        env=env,
        check=False,
    )
    return proc.returncode, round(time.monotonic() - started, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", default="", help="comma-separated (default: all)")
    parser.add_argument("--uv", default=None, help="uv executable (default: PATH, then .tools)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    table = mwaa_versions.load()
    versions = [v.strip() for v in args.versions.split(",") if v.strip()] or list(table.versions)
    for version in versions:
        table.get(version)  # refuse an unknown version before installing anything
    uv = args.uv or shutil.which("uv") or str(repo_root() / ".tools" / "bin" / "uv")

    started = time.monotonic()
    results = []
    for version in versions:
        print(f"=== MWAA Airflow {version}", flush=True)
        if version == table.default:
            python, install_s = Path(sys.executable), 0.0  # .venv, synced from uv.lock
        else:
            python, install_s = ensure_venv(version, uv)
        code, test_s = run_version(version, python, args.pytest_args)
        row = table.get(version)
        results.append(
            {
                "mwaa_airflow": version,
                "amazon": row.amazon,
                "common_sql": row.common_sql,
                "ok": code == 0,
                "install_s": install_s,
                "tests_s": test_s,
            }
        )
        print(
            f"=== MWAA Airflow {version}: {'passed' if code == 0 else 'FAILED'} "
            f"(install {install_s} s, tests {test_s} s)",
            flush=True,
        )
    summary = {
        "compat": results,
        "wall_s": round(time.monotonic() - started, 1),
        "ok": all(r["ok"] for r in results),
    }
    print(json.dumps(summary))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
