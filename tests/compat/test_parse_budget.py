"""The DAG file's parse-time budget (``make bench-parse``'s goal) on the installed Airflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# A wall-clock budget: meaningful on a quiet machine (make test-compat, make test-slow), not
# inside the parallel-loaded main suite.
pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_parse.py"


def test_dag_parse_meets_the_budget_on_both_targets() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH)],
        env={**os.environ, "BENCH_PARSE_SAMPLES": "5"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.stdout.strip(), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    per_parse = {t: r["per_parse_ms"]["median"] for t, r in report["targets"].items()}
    assert set(per_parse) == {"local", "aws"}
    assert all(r["meets_goal"] for r in report["targets"].values()), (
        f"per-parse median {per_parse} ms, goal {report['goal_ms']} ms"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
