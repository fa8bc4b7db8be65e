"""`make bench-parse`: how long dags/wistia_daily.py takes to import beyond airflow.sdk itself.

Each sample is a fresh interpreter that first imports ``airflow.sdk`` and resolves the names the
DAG file takes from it (that cost is Airflow's, paid once per parsing process), then times the
import of the DAG file (our plugins, pipeline description and DAG construction). Prints JSON with
the median and spread; the goal is under 100 ms.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DAG_FILE = REPO / "dags" / "wistia_daily.py"
SAMPLES = int(os.environ.get("BENCH_PARSE_SAMPLES", "7"))
GOAL_MS = 100.0

PROBE = r"""
import json, sys, time, importlib.util
t0 = time.perf_counter()
import airflow.sdk
from airflow.sdk import DAG, Asset, BaseOperator, CronDataIntervalTimetable, Param, Variable
t1 = time.perf_counter()
spec = importlib.util.spec_from_file_location("wistia_daily", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
t2 = time.perf_counter()
assert module.dag.dag_id == "wistia_daily"
print(json.dumps({"sdk_ms": (t1 - t0) * 1000, "dag_ms": (t2 - t1) * 1000,
                  "tasks": len(module.dag.tasks)}))
"""


def sample(env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(DAG_FILE)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        sample(env)  # warm the OS file cache and .pyc files
        results = [sample(env) for _ in range(SAMPLES)]
    dag_ms = [r["dag_ms"] for r in results]
    sdk_ms = [r["sdk_ms"] for r in results]
    report = {
        "benchmark": "dag_parse",
        "dag_file": str(DAG_FILE.relative_to(REPO)),
        "samples": SAMPLES,
        "dag_import_beyond_sdk_ms": {
            "median": round(statistics.median(dag_ms), 1),
            "min": round(min(dag_ms), 1),
            "max": round(max(dag_ms), 1),
        },
        "airflow_sdk_import_ms_median": round(statistics.median(sdk_ms), 1),
        "tasks": results[0]["tasks"],
        "goal_ms": GOAL_MS,
        "meets_goal": statistics.median(dag_ms) < GOAL_MS,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
