"""Subprocess probe: import a DAG file with network, metadata-DB and Variable access forbidden.

    python parse_probe.py <dags_folder>

Prints one JSON object describing what was parsed (or the import errors). Run by
tests/dags/test_dag_integrity.py in a fresh interpreter so the guards see every import.
"""

from __future__ import annotations

import json
import socket
import sys
import time

VIOLATIONS: list[str] = []


def _deny(what: str):
    def guard(*args, **kwargs):
        VIOLATIONS.append(what)
        raise RuntimeError(f"{what} at DAG parse time")

    return guard


# Network: any outbound connection or name lookup.
socket.socket.connect = _deny("network connect")  # type: ignore[method-assign]
socket.socket.connect_ex = _deny("network connect")  # type: ignore[method-assign]
socket.create_connection = _deny("network connect")  # type: ignore[assignment]
socket.getaddrinfo = _deny("DNS lookup")  # type: ignore[assignment]

import airflow.sdk  # noqa: E402
import sqlalchemy.engine  # noqa: E402

# Metadata DB: any SQLAlchemy connection. Variables: the SDK and the core model.
sqlalchemy.engine.Engine.connect = _deny("metadata DB connection")  # type: ignore[method-assign]
sqlalchemy.engine.Engine.raw_connection = _deny("metadata DB connection")  # type: ignore[method-assign]
airflow.sdk.Variable.get = staticmethod(_deny("Variable.get"))  # type: ignore[method-assign]
try:
    from airflow.models.variable import Variable as CoreVariable

    CoreVariable.get = staticmethod(_deny("Variable.get"))  # type: ignore[method-assign]
except ImportError:
    pass

from wistia_airflow.compat import dag_bag, serialize_dag  # noqa: E402


def describe(dag) -> dict:
    serialize_dag(dag)  # must serialize (what the dag processor stores)
    tasks = {}
    for task in dag.tasks:
        tasks[task.task_id] = {
            "class": type(task).__name__,
            "owner": task.owner,
            "retries": task.retries,
            "retry_exponential_backoff": bool(task.retry_exponential_backoff),
            "upstream": sorted(task.upstream_task_ids),
            "is_setup": task.is_setup,
            "is_teardown": task.is_teardown,
            "trigger_rule": str(task.trigger_rule.value),
            "outlets": [getattr(o, "name", str(o)) for o in task.outlets],
            "has_failure_callback": bool(task.on_failure_callback),
            "doc": bool(task.doc_md),
            "templated": {
                f: getattr(task, f)
                for f in task.template_fields
                if isinstance(getattr(task, f, None), (str, dict))
            },
            "deferrable": bool(getattr(task, "deferrable", False)),
            "guarded": any(c.__name__ == "RunGuardMixin" for c in type(task).__mro__),
        }
    return {
        "dag_id": dag.dag_id,
        "tags": sorted(dag.tags),
        "doc_md": bool(dag.doc_md) and len(dag.doc_md) > 200,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "timetable": type(dag.timetable).__name__,
        "params": sorted(dag.params.keys()),
        "lookback_maximum": dag.params.get_param("lookback_days").schema.get("maximum"),
        "tasks": tasks,
    }


def main() -> None:
    folder = sys.argv[1]
    started = time.perf_counter()
    bag = dag_bag(folder, safe_mode=False)
    out = {
        "import_errors": {k: str(v)[-2000:] for k, v in bag.import_errors.items()},
        "violations": VIOLATIONS,
        "parse_s": round(time.perf_counter() - started, 3),
        "dags": {dag_id: describe(dag) for dag_id, dag in bag.dags.items()},
    }
    print("PROBE " + json.dumps(out))


if __name__ == "__main__":
    main()
