"""Run ``wistia_daily`` through Airflow on one machine: metadata DB set-up and one run per day.

Used by ``scripts/backfill.py``, ``scripts/demo.py`` and the end-to-end tests. Each day is one
``dag.test()`` run of the real DAG file with the real operators. ``dag.test()`` infers the data
interval of a manual run as the last complete day before its logical date, so the run of data day
``D`` gets logical date ``D + 1`` 00:00 UTC and data interval ``[D, D + 1)`` (``D`` = the start
of the data interval, exactly as in scheduled runs).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any
from unittest import mock

from wistia_dev import repo_root
from wistia_pipeline import pipeline

MIGRATED_MARKER = ".wistia-db-migrated"


def dags_folder() -> Path:
    """The checkout's ``dags/`` (Airflow's DAGs folder on the local target)."""
    return repo_root() / "dags"


def airflow_env(airflow_home: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for Airflow on the local target with the project's DAGs and plugins."""
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            # `airflow standalone` spawns `airflow ...` and the local target spawns
            # `spark-submit`: both must resolve to this environment's, not to whatever is on PATH.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        }
    )
    env.setdefault("WISTIA_TARGET", "local")
    return env


def ensure_metadata_db(airflow_home: Path, env: Mapping[str, str] | None = None) -> bool:
    """``airflow db migrate`` once per AIRFLOW_HOME and Airflow version; True if it ran."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    marker = airflow_home / MIGRATED_MARKER
    wanted = version("apache-airflow")
    if marker.exists() and marker.read_text().strip() == wanted:
        return False
    run_env = airflow_env(airflow_home, env)
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"airflow db migrate failed ({result.returncode}) in {airflow_home}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    marker.write_text(wanted)
    return True


def logical_date_for(day: date) -> datetime:
    """The ``dag.test()`` logical date whose inferred data interval starts at ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def load_dag(retries: int | None = None) -> Any:
    """Import ``dags/wistia_daily.py`` (needs AIRFLOW_HOME etc. already in the environment)."""
    path = dags_folder() / f"{pipeline.DAG_ID}.py"
    spec = importlib.util.spec_from_file_location(pipeline.DAG_ID, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag
    if retries is not None:
        for task in dag.tasks:
            task.retries = retries
    return dag


@dataclass(frozen=True)
class DayResult:
    day: date
    run_id: str
    state: str
    duration_s: float
    failed_tasks: list[str]

    @property
    def ok(self) -> bool:
        return self.state == "success"


# dag.test() creates its run with ``start_date=logical_date``, which for data day D is D + 1
# 00:00 UTC, days before the run really starts for a backfill or the demo: the UI then showed a
# one-minute run's Duration (end_date - start_date) as ``2d05:03:16``. :func:`runs_start_now`
# makes the run start when it starts.
@contextlib.contextmanager
def runs_start_now() -> Any:
    """While active, a run that ``dag.test()`` creates gets the wall-clock time as start_date."""
    from wistia_airflow.compat import dag_test_run_factory

    module, name = dag_test_run_factory()  # which function differs between Airflow versions
    original = getattr(module, name)

    def create_run(*args: Any, **kwargs: Any) -> Any:
        kwargs["start_date"] = datetime.now(UTC)
        return original(*args, **kwargs)

    with mock.patch.object(module, name, create_run):
        yield


def run_day(
    dag: Any,
    day: date,
    conf: Mapping[str, Any] | None = None,
    mark_success_pattern: str | None = None,
) -> DayResult:
    """One ``dag.test()`` run of data day ``day``; returns its final state.

    ``mark_success_pattern``: task ids (regex) dag.test() marks successful without running them.
    """
    from wistia_airflow.compat import sync_dags_for_test

    started = time.monotonic()
    sync_dags_for_test()  # what dag.test() does itself from Airflow 3.1
    with runs_start_now():
        dag_run = dag.test(
            logical_date=logical_date_for(day),
            run_conf=dict(conf or {}),
            mark_success_pattern=mark_success_pattern,
        )
    if dag_run is None:
        raise RuntimeError(f"dag.test() returned no run for {day}")
    failed = sorted(
        ti.task_id
        for ti in dag_run.get_task_instances()
        if str(getattr(ti.state, "value", ti.state)) in {"failed", "upstream_failed"}
    )
    return DayResult(
        day=day,
        run_id=dag_run.run_id,
        state=str(getattr(dag_run.state, "value", dag_run.state)),
        duration_s=round(time.monotonic() - started, 2),
        failed_tasks=failed,
    )
