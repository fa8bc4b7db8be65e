"""`make bench-parse`: how long dags/wistia_daily.py takes to import beyond airflow.sdk itself.

Each sample is a fresh interpreter that imports ``airflow.sdk``, then what Airflow's dag-processor
has loaded in its parent process before it forks a parse: ``airflow.dag_processing.processor``
(the module that forks it) and (``[dag_processor] parsing_pre_import_modules``, on by default)
the ``airflow.*`` modules the DAG file imports at top level, found with Airflow's own
``iter_airflow_imports``. It then times the import of the DAG file: our plugins, the pipeline
description and the DAG construction, what every parse pays. A second series skips the
pre-import (a cold parse, e.g. ``airflow dags list``). Both targets; prints JSON; the goal for
the per-parse time is under 100 ms.
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
import json, sys, time, importlib, importlib.util
t0 = time.perf_counter()
import airflow.sdk
from airflow.sdk import DAG, Asset, BaseOperator, Param, Variable
t1 = time.perf_counter()
if sys.argv[2] == "pre-import":
    import airflow.dag_processing.processor  # the parent forks each parse from this module
    from airflow.utils.file import iter_airflow_imports
    for name in iter_airflow_imports(sys.argv[1]):
        importlib.import_module(name)
t2 = time.perf_counter()
spec = importlib.util.spec_from_file_location("wistia_daily", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
t3 = time.perf_counter()
assert module.dag.dag_id == "wistia_daily"
print(json.dumps({"sdk_ms": (t1 - t0) * 1000, "pre_import_ms": (t2 - t1) * 1000,
                  "dag_ms": (t3 - t2) * 1000, "tasks": len(module.dag.tasks),
                  "classes": sorted({type(t).__name__ for t in module.dag.tasks})}))
"""


def sample(env: dict[str, str], mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(DAG_FILE), mode],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def main() -> int:
    targets = {}
    with tempfile.TemporaryDirectory() as home:
        base = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        for target in ("local", "aws"):
            env = {**base, "WISTIA_TARGET": target}
            sample(env, "pre-import")  # warm the OS file cache and .pyc files
            warm = [sample(env, "pre-import") for _ in range(SAMPLES)]
            cold = [sample(env, "cold") for _ in range(SAMPLES)]
            per_parse = statistics.median(r["dag_ms"] for r in warm)
            targets[target] = {
                "per_parse_ms": spread([r["dag_ms"] for r in warm]),
                "pre_import_once_ms": spread([r["pre_import_ms"] for r in warm]),
                "cold_parse_ms": spread([r["dag_ms"] for r in cold]),
                "airflow_sdk_import_ms_median": round(
                    statistics.median(r["sdk_ms"] for r in warm), 1
                ),
                "tasks": warm[0]["tasks"],
                "operator_classes": warm[0]["classes"],
                "meets_goal": per_parse < GOAL_MS,
            }
    report = {
        "benchmark": "dag_parse",
        "dag_file": str(DAG_FILE.relative_to(REPO)),
        "samples": SAMPLES,
        "goal_ms": GOAL_MS,
        "targets": targets,
    }
    print(json.dumps(report, indent=2))
    return 0 if all(t["meets_goal"] for t in targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
