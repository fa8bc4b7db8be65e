"""Node tools of the Step Functions tests (package.json devDependencies), installed on demand."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

# node -e _EVALUATE_JS <jsonata package dir>: reads {"expression": ..., "states": ...} on stdin,
# prints the result as JSON.
_EVALUATE_JS = """
const jsonata = require(process.argv[1]);
let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { text += chunk; });
process.stdin.on('end', async () => {
  const request = JSON.parse(text);
  try {
    const result = await jsonata(request.expression).evaluate({}, { states: request.states });
    process.stdout.write(JSON.stringify(result === undefined ? null : result));
  } catch (err) {
    process.stderr.write(JSON.stringify({ code: err.code, message: err.message }));
    process.exit(1);
  }
});
"""

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


@pytest.fixture(scope="session")
def evaluate(node_modules: Path):
    """evaluate(expression, input, start, entered) -> the JSONata result, run by node."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required to evaluate the JSONata Prepare state")

    def run(expression: str, payload: dict[str, Any], start: str, entered: str) -> Any:
        states = {
            "input": payload,
            "context": {
                "Execution": {
                    "Id": "arn:aws:states:us-east-1:123456789012:execution:wistia-daily:exec-1",
                    "Input": payload,
                    "Name": "exec-1",
                    "StartTime": start,
                },
                "State": {"EnteredTime": entered, "Name": "Prepare", "RetryCount": 0},
                "StateMachine": {"Id": "arn:aws:states:::stateMachine:wistia-daily"},
            },
        }
        proc = subprocess.run(
            [node, "-e", _EVALUATE_JS, str(node_modules / "jsonata")],
            input=json.dumps({"expression": expression, "states": states}),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return run
