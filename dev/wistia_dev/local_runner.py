"""Run ``wistia_daily`` through Airflow on one machine: metadata DB set-up and one run per day.

Used by ``scripts/backfill.py``, ``scripts/demo.py`` and the end-to-end tests. Each run is one
``dag.test()`` run of the real DAG file with the real operators. ``dag.test()`` infers the data
interval of a manual run as the last complete day before its logical date, so the run of data day
``D`` gets logical date ``D + 1`` 00:00 UTC and data interval ``[D, D + 1)`` (``D`` = the start
of the data interval, exactly as in scheduled runs). A range run of ``[D1, D2]`` gets logical
date ``D2 + 1`` and the data interval ``[D1, D2 + 1)`` that the timetable gives a catchup run.

The DAG's timetable is a custom one, which Airflow (de)serializes only when a plugin registers it:
:func:`airflow_env` points the plugins folder at the checkout's ``plugins/``, whose
``wistia_plugin.py`` registers :class:`wistia_airflow.WistiaPlugin` (as on MWAA).

Two runners may share an AIRFLOW_HOME (two ``make backfill``, a backfill next to ``make
airflow``): what must be exclusive is locked with ``fcntl`` under ``<AIRFLOW_HOME>/locks/``:
migrating the metadata DB, ``dag.test()``'s set-up (it clears the logical date's task
instances, writes the DAG to the DB and replaces the logical date's run), and each data day for
the whole run (a second runner of the day is refused at once, naming the holder). A run record
this runner did not create (a scheduled or UI run) is never replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import socket
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
LOCKS_DIR = "locks"


class RunnerBusy(RuntimeError):
    """The day (or the logical date's Airflow run) is someone else's: nothing was done."""


@contextlib.contextmanager
def exclusive(
    path: Path, *, wait: bool, holder: Mapping[str, Any] | None = None, what: str = ""
) -> Any:
    """Hold an ``fcntl`` lock on ``path`` (released when the process dies, even by kill -9).

    ``wait=False``: raise :class:`RunnerBusy` naming ``what`` and the holder (what it wrote
    into the file) when another process holds it. ``holder``: written into the file while held.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            held_by = handle.read().strip() or "another process"
            raise RunnerBusy(f"{what or path} is busy, held by {held_by}") from None
        try:
            if holder is not None:
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(dict(holder)))
                handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_path(airflow_home: Path, name: str) -> Path:
    return airflow_home / LOCKS_DIR / f"{name}.lock"


def dags_folder() -> Path:
    """The checkout's ``dags/`` (Airflow's DAGs folder on the local target)."""
    return repo_root() / "dags"


def plugins_folder() -> Path:
    """The checkout's ``plugins/`` (Airflow's plugins folder on the local target, as the unpacked
    ``plugins.zip`` is on MWAA): its ``wistia_plugin.py`` registers the project's plugin."""
    return repo_root() / "plugins"


def airflow_env(airflow_home: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for Airflow on the local target with the project's DAGs and plugins."""
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder()),
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
    # Two runners on a fresh home would migrate at once (UNIQUE constraint failures): the
    # second waits for the first and then finds the marker.
    with exclusive(lock_path(airflow_home, "metadata-db"), wait=True):
        return _migrate_once(airflow_home, env)


def _migrate_once(airflow_home: Path, env: Mapping[str, str] | None) -> bool:
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
    return _midnight(day) + timedelta(days=1)


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
    first_day: date | None = None  # a range run's first data day (None: the daily run)

    @property
    def ok(self) -> bool:
        return self.state == "success"


# dag.test() creates its run with ``start_date=logical_date``, which for data day D is D + 1
# 00:00 UTC, days before the run really starts for a backfill or the demo: the UI then showed a
# one-minute run's Duration (end_date - start_date) as ``2d05:03:16``. :func:`runs_start_now`
# makes the run start when it starts.
@contextlib.contextmanager
def runs_start_now(
    on_created: Any = None, data_interval: tuple[datetime, datetime] | None = None
) -> Any:
    """While active, a run that ``dag.test()`` creates gets the wall-clock time as start_date.

    ``on_created()`` is called right after the run exists (the set-up lock is released then).
    ``data_interval``: the run's data interval instead of the inferred one (a range run).
    """
    from wistia_airflow.compat import dag_test_run_factory

    module, name = dag_test_run_factory()  # which function differs between Airflow versions
    original = getattr(module, name)

    def create_run(*args: Any, **kwargs: Any) -> Any:
        kwargs["start_date"] = datetime.now(UTC)
        if data_interval is not None:  # keyword on every supported version
            kwargs["data_interval"] = data_interval
        run = original(*args, **kwargs)
        if on_created is not None:
            on_created()
        return run

    with mock.patch.object(module, name, create_run):
        yield


def holder_info(day: date) -> dict[str, Any]:
    """What a runner writes into a day's lock: enough for the refused one to name it."""
    return {
        "day": day.isoformat(),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv)[:200],
    }


def existing_run(dag_id: str, logical_date: datetime) -> Any:
    """The metadata DB's run of ``dag_id`` at ``logical_date`` (None if there is none)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(
            select(DagRun).where(DagRun.dag_id == dag_id, DagRun.logical_date == logical_date)
        )
        if run is not None:
            session.expunge(run)
        return run


def check_replaceable(dag_id: str, day: date) -> None:
    """Refuse when the logical date's run was not created by ``dag.test()``.

    ``dag.test()`` clears and deletes the run of its logical date before creating its own; only
    one this runner made (``triggered_by`` TEST) may go: a scheduled or UI run is someone's
    history (or work in progress).
    """
    run = existing_run(dag_id, logical_date_for(day))
    if run is None:
        return
    triggered_by = str(getattr(run.triggered_by, "value", run.triggered_by) or "").lower()
    if triggered_by != "test":
        state = getattr(run.state, "value", run.state)
        raise RunnerBusy(
            f"the Airflow run {run.run_id!r} ({state}, triggered by {triggered_by or '?'}) "
            f"already has data day {day}'s logical date; the local runner replaces only its "
            "own runs: clear that run in the UI, or use another AIRFLOW_HOME"
        )


def run_day(
    dag: Any,
    day: date,
    conf: Mapping[str, Any] | None = None,
    mark_success_pattern: str | None = None,
    first_day: date | None = None,
) -> DayResult:
    """One ``dag.test()`` run of data day ``day`` (with ``first_day``: of the range
    ``[first_day, day]``); returns its final state.

    ``mark_success_pattern``: task ids (regex) dag.test() marks successful without running them.
    Raises :class:`RunnerBusy` at once, having done nothing, when another runner holds a day of
    the run in this AIRFLOW_HOME or the logical date's run is not one of this runner's; and
    :class:`~wistia_pipeline.dates.DayNotFinished` for a day that has not ended in UTC.
    """
    from wistia_pipeline.dates import days_between, require_finished_day

    require_finished_day(day)
    first = first_day or day
    home = Path(os.environ["AIRFLOW_HOME"])
    started = time.monotonic()
    interval = None
    if first < day:
        interval = (_midnight(first), logical_date_for(day))
    with contextlib.ExitStack() as held:
        for covered in days_between(first, day):  # every day of the run, or none (raises)
            what = f"data day {covered} in {home}"
            lock = lock_path(home, f"day-{covered}")
            held.enter_context(exclusive(lock, wait=False, holder=holder_info(day), what=what))
        dag_run = _test_locked(dag, day, home, conf, mark_success_pattern, interval)
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
        first_day=first if first < day else None,
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _test_locked(
    dag: Any,
    day: date,
    home: Path,
    conf: Mapping[str, Any] | None,
    pattern: str | None,
    interval: tuple[datetime, datetime] | None = None,
) -> Any:
    """``dag.test()`` of ``day`` with the day's lock held; its set-up under the home's lock."""
    from wistia_airflow.compat import sync_dags_for_test

    with contextlib.ExitStack() as setup:
        # dag.test() first clears the logical date's task instances, syncs the DAG to the DB
        # and replaces the logical date's run: one runner at a time (two at once on a fresh DB
        # die with "UNIQUE constraint failed: dag.dag_id"). Released once the run exists.
        setup.enter_context(exclusive(lock_path(home, "dag-test-setup"), wait=True))
        sync_dags_for_test()  # what dag.test() does itself from Airflow 3.1
        check_replaceable(dag.dag_id, day)
        with runs_start_now(on_created=setup.close, data_interval=interval):
            dag_run = dag.test(
                logical_date=logical_date_for(day),
                run_conf=dict(conf or {}),
                mark_success_pattern=pattern,
            )
    if dag_run is None:
        raise RuntimeError(f"dag.test() returned no run for {day}")
    return dag_run
