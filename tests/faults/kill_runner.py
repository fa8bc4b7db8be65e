"""``scripts/backfill.py`` with a kill -9 of its own process group planted at one step.

    python tests/faults/kill_runner.py <backfill arguments>     # WISTIA_FAULT_KILL_AT=<step>

What an operator's ``kill -9 -<pgid>`` (or an OOM kill of the worker) does, at a known point:

- ``ingest``, ``silver``, ``gold``: once the step has written its first new file under
  ``<lake>/bronze``, ``<lake>/silver`` or ``<lake>/gold`` (mid-write: Spark's ``_temporary``
  files count), from a thread that watches the tree while the step runs.
- ``checks``: right after the first check query has returned (the others not yet run).
- ``publish``: as the publish task starts, before it writes anything (checks have passed).

The runner must be started in a process group of its own (``start_new_session``): the whole
group dies, the spark-submit children with it, and nothing else. Not a test module: the fault
tests run it as a subprocess.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
WATCHED = {"ingest": "bronze", "silver": "silver", "gold": "gold"}
WATCH_LIMIT_S = 600.0  # a step that never writes is killed anyway: the test then sees no hang


def kill_group(why: str) -> None:
    print(f"kill_runner: kill -9 of process group {os.getpgrp()}: {why}", file=sys.stderr)
    sys.stderr.flush()
    os.killpg(os.getpgrp(), signal.SIGKILL)


def files_under(root: Path) -> set[str]:
    found: set[str] = set()
    for folder, _, names in os.walk(root):
        found.update(os.path.join(folder, n) for n in names)
    return found


def kill_on_first_new_file(root: Path) -> None:
    """Start a thread that kills the group once a file appears under ``root``."""
    known = files_under(root)

    def watch() -> None:
        deadline = time.monotonic() + WATCH_LIMIT_S
        while time.monotonic() < deadline:
            new = files_under(root) - known
            if new:
                kill_group(f"new file {min(new)}")
            time.sleep(0.02)
        kill_group(f"nothing written under {root} in {WATCH_LIMIT_S:.0f} s")

    threading.Thread(target=watch, name="kill-runner", daemon=True).start()


def plant_at_task_start(task_id: str, action: Any) -> None:
    """Run ``action()`` when task ``task_id`` starts (dag.test() runs tasks in this process)."""
    from wistia_dev import local_runner

    load_dag = local_runner.load_dag

    def load_and_plant(retries: int | None = None) -> Any:
        dag = load_dag(retries)
        cls = type(dag.get_task(task_id))
        execute = cls.execute

        def execute_then_maybe_kill(self: Any, context: Any) -> Any:
            if self.task_id == task_id:  # the class may serve other tasks too
                action()
            return execute(self, context)

        cls.execute = execute_then_maybe_kill
        return dag

    local_runner.load_dag = load_and_plant


def plant_after_first_check() -> None:
    from wistia_pipeline.sql import local

    result_of = local.check_result_from_rows

    def result_then_kill(*args: Any, **kwargs: Any) -> Any:
        result_of(*args, **kwargs)
        kill_group("mid-checks: one check query done")

    local.check_result_from_rows = result_then_kill


def plant(step: str, lake: Path) -> None:
    if step in WATCHED:
        plant_at_task_start(step, lambda: kill_on_first_new_file(lake / WATCHED[step]))
    elif step == "checks":
        plant_after_first_check()
    elif step == "publish":
        plant_at_task_start(step, lambda: kill_group("publish starts: checks passed"))
    else:
        raise SystemExit(f"kill_runner: unknown WISTIA_FAULT_KILL_AT {step!r}")


def main() -> int:
    sys.path.insert(0, str(REPO))  # for `scripts.backfill`
    from scripts import backfill

    plant(os.environ["WISTIA_FAULT_KILL_AT"], Path(os.environ["WISTIA_LAKE_URI"]))
    return backfill.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
