"""Everything that differs between the Airflow 3 versions Amazon MWAA offers, in one module.

The project supports the MWAA versions of ``compat/mwaa-versions.toml`` (3.0.6, 3.2.1 and
3.3.1, each with the Amazon and common-sql providers its constraints pin); ``make test-compat``
runs the DAG on each. The DAG file, the plugins, the ``dag.test()`` runner and the tests take
every name or behaviour that is not the same on all of them from here, found by feature where
there is one to detect (so a provider upgrade inside MWAA's constraints needs no change):

- ``CronDataIntervalTimetable`` is in ``airflow.sdk`` from Airflow 3.1; 3.0.x has it only in
  ``airflow.timetables.interval``.
- ``GlueJobOperator(resume_glue_job_on_retry=...)``: Amazon provider 9.25.0 (MWAA 3.2.1) and
  later have it, 9.12.0 (MWAA 3.0.6) does not: :func:`glue_resume_on_retry`.
- ``dag.test()`` writes the DAGs to the metadata DB first (DAG version, Assets) from Airflow
  3.1; on 3.0.x a task with Asset outlets fails as "inactive assets" unless
  :func:`sync_dags_for_test` did it. It creates its run with ``get_or_create_dagrun`` of
  ``airflow.models.dagrun`` (3.1+), ``_get_or_create_dagrun`` of ``airflow.models.dag`` on 3.0.x
  (:func:`dag_test_run_factory`).
- ``AirflowFailException`` (fail the task now, no retries) is ``airflow.sdk.exceptions``' from
  Airflow 3.1 and ``airflow.exceptions``' on 3.0.x: :func:`fail_exception`.
- Tooling: the ``DagBag`` moved to ``airflow.dag_processing.dagbag`` (3.1) and DAG serialization
  to ``DagSerialization`` (3.2); :func:`dag_bag` and :func:`serialize_dag` import them lazily.

Light at import (the DAG file imports it): ``airflow.sdk`` and, on 3.0.x only, the core
timetable module; nothing else.
"""

from __future__ import annotations

import inspect
from typing import Any

import airflow
import airflow.sdk as _sdk

if hasattr(_sdk, "CronDataIntervalTimetable"):  # Airflow 3.1+
    CronDataIntervalTimetable = _sdk.CronDataIntervalTimetable
else:  # Airflow 3.0.x
    from airflow.timetables.interval import CronDataIntervalTimetable

# Airflow 3.1+: dag.test() syncs the DAGs to the metadata DB itself (a behaviour: no feature to
# detect, hence the version).
DAG_TEST_SYNCS_DAGS = tuple(int(p) for p in airflow.__version__.split(".")[:2]) >= (3, 1)

__all__ = [
    "DAG_TEST_SYNCS_DAGS",
    "CronDataIntervalTimetable",
    "dag_bag",
    "dag_test_run_factory",
    "fail_exception",
    "glue_resume_on_retry",
    "serialize_dag",
    "sync_dags_for_test",
]


def glue_resume_on_retry(operator_class: type) -> dict[str, bool]:
    """``GlueJobOperator`` kwargs for "a retry waits for the still-running Glue run".

    ``{"resume_glue_job_on_retry": True}`` where the provider has the argument; ``{}`` on older
    providers (Amazon 9.12.0 on MWAA 3.0.6), where a retry starts a new run (Glue refuses it
    while the first still runs: the jobs allow one concurrent run, and the task retries again).
    """
    if "resume_glue_job_on_retry" in inspect.signature(operator_class.__init__).parameters:
        return {"resume_glue_job_on_retry": True}
    return {}


def fail_exception() -> type[Exception]:
    """The exception class that fails a task at once, whatever retries it has left."""
    try:  # Airflow 3.1+ (airflow.exceptions re-exports it there, deprecated)
        from airflow.sdk.exceptions import AirflowFailException
    except ImportError:  # Airflow 3.0.x: the task runner catches the core one
        from airflow.exceptions import AirflowFailException
    return AirflowFailException


def dag_bag(dag_folder: str, **kwargs: Any) -> Any:
    """A ``DagBag`` of ``dag_folder`` (tests and tooling only; imports the DAG processor)."""
    try:  # Airflow 3.1+
        from airflow.dag_processing.dagbag import DagBag
    except ModuleNotFoundError:  # Airflow 3.0.x
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=dag_folder, **kwargs)


def serialize_dag(dag: Any) -> dict[str, Any]:
    """The serialized form the dag processor stores for ``dag`` (tests and tooling only)."""
    from airflow.serialization import serialized_objects

    serializer = getattr(serialized_objects, "DagSerialization", None)  # Airflow 3.2+
    if serializer is None:
        serializer = serialized_objects.SerializedDAG
    return serializer.serialize_dag(dag)


def sync_dags_for_test() -> None:
    """Write the DAGs of every configured bundle to the metadata DB, as ``dag.test()`` does first
    from Airflow 3.1 (the DAG version and the Assets tasks emit). A no-op there; call it before
    ``dag.test()`` (the local runner does)."""
    if DAG_TEST_SYNCS_DAGS:
        return
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = dag_bag(str(bundle.path), bundle_path=bundle.path, include_examples=False)
        bag.sync_to_db(bundle.name, bundle.version)


def dag_test_run_factory() -> tuple[Any, str]:
    """``(module, name)`` of the function ``dag.test()`` creates its DAG run with (to patch)."""
    from airflow.models import dag as dag_module
    from airflow.models import dagrun

    if hasattr(dagrun, "get_or_create_dagrun"):  # Airflow 3.1+
        return dagrun, "get_or_create_dagrun"
    return dag_module, "_get_or_create_dagrun"  # Airflow 3.0.x


# --- The "Wistia report" view (report_view.py) ------------------------------------------------
# Airflow 3.1 added the plugins' ``external_views`` (a nav entry whose page the UI shows in an
# iframe) and moved the UI's JWT from localStorage to the ``_token`` cookie the api-server
# reads; 3.0.x has neither. One feature, the plugin base class's attribute, marks both.


def ui_token_in_local_storage() -> bool:
    """True on Airflow 3.0.x: the UI sends its token only as a bearer header, never a cookie,
    so a plugin page the browser opens itself is not authenticated."""
    from airflow.plugins_manager import AirflowPlugin  # imported here: this module stays light

    return not hasattr(AirflowPlugin, "external_views")


def report_view_nav_entries(name: str, href: str, url_route: str) -> dict[str, list[Any]]:
    """The plugin attributes that put the report view in the UI's navigation, by version.

    Airflow 3.1+: an ``external_views`` entry under Browse, shown inside the UI at
    ``/plugin/<url_route>``. Airflow 3.0.x: an ``appbuilder_menu_items`` link (the 3.0 UI lists
    them under a "Plugins" nav menu and opens them in a new tab; 3.1+ would list them as well,
    hence never both). ``href`` is relative to the UI's ``<base href>``.
    """
    if not ui_token_in_local_storage():
        view = {
            "name": name,
            "href": href,
            "url_route": url_route,
            "destination": "nav",
            "category": "browse",
        }
        return {"external_views": [view], "appbuilder_menu_items": []}
    return {"external_views": [], "appbuilder_menu_items": [{"name": name, "href": href}]}
