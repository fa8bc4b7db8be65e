"""Node tools of the Step Functions tests (package.json devDependencies), installed on demand."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "node_modules"


def _installed_version(name: str) -> str | None:
    manifest = NODE_MODULES / name / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.is_file() else None


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """node_modules/ holding exactly the versions package.json pins (`npm ci` from the lock if not).

    The Makefile's ``node_modules/.installed`` does the same for ``make test``; this keeps a bare
    ``pytest`` run (or a node_modules/ left from an older lock) from testing other versions.
    """
    pinned = json.loads((REPO / "package.json").read_text())["devDependencies"]
    if any(_installed_version(name) != version for name, version in pinned.items()):
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(f"npm is required to install {sorted(pinned)} (package.json)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=REPO, check=True, timeout=300)
    return NODE_MODULES


@pytest.fixture(scope="session")
def asl_validator(node_modules: Path) -> Path:
    """node_modules/.bin/asl-validator."""
    return node_modules / ".bin" / "asl-validator"
