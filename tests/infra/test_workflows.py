"""GitHub workflows: actionlint passes; CI runs lint + make test; deploy uses OIDC + approval."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def test_actionlint_passes() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["ci.yml", "deploy.yml"]
    actionlint = Path(sys.executable).with_name("actionlint")
    proc = subprocess.run([str(actionlint), *map(str, files)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_lints_and_tests_on_pr_and_push() -> None:
    ci = load("ci.yml")
    triggers = ci[True]  # YAML 1.1 reads the `on` key as a boolean
    assert "pull_request" in triggers and "push" in triggers
    runs = [s.get("run", "") for job in ci["jobs"].values() for s in job["steps"]]
    assert "make lint" in runs and "make test" in runs


def test_deploy_uses_oidc_approval_and_make_targets() -> None:
    deploy = load("deploy.yml")
    assert deploy[True]["push"]["branches"] == ["main"]
    assert deploy["permissions"]["id-token"] == "write"
    job = deploy["jobs"]["deploy"]
    assert job["environment"] == "production"
    # Nothing reaches AWS unless lint and the whole suite pass on the same commit.
    assert job["needs"] == "test"
    gate = [s.get("run", "") for s in deploy["jobs"]["test"]["steps"]]
    assert "make lint" in gate and "make test" in gate
    steps = job["steps"]
    creds = [
        s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert len(creds) == 1
    assert re.fullmatch(r"aws-actions/configure-aws-credentials@v\d+\.\d+\.\d+", creds[0]["uses"])
    assert "role-to-assume" in creds[0]["with"]
    text = (WORKFLOWS / "deploy.yml").read_text()
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    runs = [s.get("run", "") for s in steps]
    assert any(r.startswith("make deploy ENV=") for r in runs)
    assert any(r.startswith("make smoke ENV=") for r in runs)
    assert steps.index(creds[0]) < next(
        i for i, s in enumerate(steps) if "make deploy" in s.get("run", "")
    )
