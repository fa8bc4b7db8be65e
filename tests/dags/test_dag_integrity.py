"""DAG integrity: wistia_daily parses on both targets with no network, DB or Variable access,
has the same graph on both, and follows the project's policies."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wistia_pipeline import pipeline

REPO = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("parse_probe.py")
ROUTE = "route"  # wistia_airflow.operators.ROUTE: the publish_only branch after claim_day
EXPECTED_TASKS = [s.task_id for s in pipeline.STEPS] + [
    ROUTE,
    pipeline.MARK_FAILED.task_id,
    pipeline.REPORT.task_id,
]
GLUE = [s.task_id for s in pipeline.GLUE_STEPS]


def probe(dags_folder: Path, tmp_path: Path, **env: str) -> dict:
    from wistia_dev.local_runner import plugins_folder

    home = tmp_path / "airflow"
    run_env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        # the DAG's timetable serializes only when the project's plugin registers it
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder()),
        **env,
    }
    # No endpoint to reach even if something tried: the guards must be what stops it.
    run_env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.run(
        [sys.executable, str(PROBE), str(dags_folder)],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("PROBE "))
    return json.loads(line[len("PROBE ") :])


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    out = {}
    for target in ("local", "aws"):
        tmp = tmp_path_factory.mktemp(f"parse-{target}")
        out[target] = probe(REPO / "dags", tmp, WISTIA_TARGET=target)
    return out


@pytest.mark.parametrize("target", ["local", "aws"])
def test_parses_without_io(parsed: dict, target: str) -> None:
    result = parsed[target]
    assert result["import_errors"] == {}
    assert result["violations"] == []
    assert list(result["dags"]) == [pipeline.DAG_ID]


PER_TARGET_CLASSES = {
    "local": {
        "ingest": "LocalIngestOperator",
        "silver": "LocalGlueJobOperator",
        "gold": "LocalGlueJobOperator",
    },
    "aws": {
        "ingest": "AsyncIngestOperator",  # asynchronous invoke + wait (issue 13 §1)
        "silver": "GlueJobOperator",
        "gold": "GlueJobOperator",
    },
}
SHAPE = ("owner", "retries", "upstream", "is_setup", "is_teardown", "trigger_rule", "outlets")


def test_same_graph_on_both_targets(parsed: dict) -> None:
    local = parsed["local"]["dags"][pipeline.DAG_ID]["tasks"]
    aws = parsed["aws"]["dags"][pipeline.DAG_ID]["tasks"]
    assert sorted(local) == sorted(aws) == sorted(EXPECTED_TASKS)
    for task_id in EXPECTED_TASKS:
        assert {k: local[task_id][k] for k in SHAPE} == {k: aws[task_id][k] for k in SHAPE}
        for target, tasks in (("local", local), ("aws", aws)):
            expected = PER_TARGET_CLASSES[target].get(task_id)
            if expected is None:  # the project's own operator on both targets
                assert tasks[task_id]["class"] == local[task_id]["class"] == aws[task_id]["class"]
            else:
                assert tasks[task_id]["class"] == expected, (target, task_id)


def _render(template: str, plan_value: dict, native: bool = True) -> object:
    """Render a task's templated argument as Airflow does (native types or text) over a plan."""
    from jinja2 import Environment
    from jinja2.nativetypes import NativeEnvironment

    class TI:
        def xcom_pull(self, task_ids: str) -> dict:
            assert task_ids == pipeline.CLAIM.task_id
            return plan_value

    env = NativeEnvironment() if native else Environment()
    return env.from_string(template).render(ti=TI())


def test_aws_target_uses_the_provider_operators_with_the_run_plan(parsed: dict) -> None:
    """Names, payload and window come from claim_day's plan at run time, not DAG constants."""
    aws = parsed["aws"]["dags"][pipeline.DAG_ID]["tasks"]
    local = parsed["local"]["dags"][pipeline.DAG_ID]["tasks"]
    script_args = {s: {"--start_date": "2026-05-03", "--lake_uri": f"s3://{s}"} for s in GLUE}
    plan = {
        "lambda_function": "fn-x",
        "lambda_payload": {"logical_date": "2026-05-04", "streams": ["events"]},
        "aws_conn_id": "conn-x",
        "attempt": 3,
        "glue": {s: {"job_name": f"job-{s}", "script_args": script_args[s]} for s in GLUE},
    }
    ingest = aws["ingest"]["templated"]
    assert _render(ingest["function_name"], plan) == "fn-x"
    # The payload renders natively (a dict); the claim attempt keys the ingestion record.
    assert _render(ingest["payload"], plan) == plan["lambda_payload"]
    assert _render(ingest["claim_attempt"], plan) == 3
    assert _render(ingest["aws_conn_id"], plan) == "conn-x"
    assert _render(local["ingest"]["templated"]["payload"], plan) == plan["lambda_payload"]
    for step in GLUE:
        glue = aws[step]["templated"]
        assert _render(glue["job_name"], plan) == f"job-{step}"
        assert _render(glue["script_args"], plan) == script_args[step]
        assert aws[step]["deferrable"] is True
        # The local stand-ins take the very same arguments.
        assert _render(local[step]["templated"]["script_args"], plan) == script_args[step]


def test_graph_shape(parsed: dict) -> None:
    tasks = parsed["local"]["dags"][pipeline.DAG_ID]["tasks"]
    chain = [s.task_id for s in pipeline.STEPS]
    chain.insert(1, ROUTE)  # claim_day >> route >> ingest
    for upstream, downstream in itertools.pairwise(chain):
        if downstream != pipeline.CHECKS.task_id:
            assert tasks[downstream]["upstream"] == [upstream]
    # publish_only: route goes straight to checks, which runs after skipped upstreams (ingest,
    # silver, gold) but never after a failed one.
    checks = tasks[pipeline.CHECKS.task_id]
    assert sorted(checks["upstream"]) == sorted([pipeline.GOLD.task_id, ROUTE])
    assert checks["trigger_rule"] == "none_failed_min_one_success"
    assert tasks[ROUTE]["class"] == "RouteOperator"
    for task_id in (*chain[:5], pipeline.PUBLISH.task_id):
        assert tasks[task_id]["trigger_rule"] == "all_success", task_id
    teardown = tasks[pipeline.MARK_FAILED.task_id]
    assert teardown["is_teardown"] is True
    assert tasks[pipeline.CLAIM.task_id]["is_setup"] is True
    assert set(teardown["upstream"]) == {pipeline.CLAIM.task_id, pipeline.PUBLISH.task_id}
    assert teardown["trigger_rule"] == "all_done_setup_success"
    # The report: after publish, whether or not it ran; a teardown of claim_day, so its
    # failure does not decide the run's state (publish does).
    report = tasks[pipeline.REPORT.task_id]
    assert report["is_teardown"] is True
    assert set(report["upstream"]) == {pipeline.CLAIM.task_id, pipeline.PUBLISH.task_id}
    assert report["trigger_rule"] == "all_done_setup_success"
    # Gold tables are Assets, emitted when the day is published.
    assert tasks["publish"]["outlets"] == [f"wistia.gold.{t}" for t in pipeline.GOLD_TABLES]


def test_policies(parsed: dict) -> None:
    dag = parsed["aws"]["dags"][pipeline.DAG_ID]
    assert "wistia" in dag["tags"]
    assert dag["doc_md"] is True
    assert dag["catchup"] is True
    assert dag["max_active_runs"] == 1
    assert dag["timetable"] == "RangeCatchupTimetable"
    assert sorted(dag["params"]) == [
        "accept_failed_checks",
        "lookback_days",
        "override_reason",
        "publish_only",
        "streams",
    ]
    from wistia_pipeline.config import MAX_LOOKBACK_DAYS

    assert dag["lookback_maximum"] == MAX_LOOKBACK_DAYS  # the env's bound too
    for task_id, task in dag["tasks"].items():
        assert task["owner"] not in ("", "airflow"), task_id
        assert task["retries"] >= 1, task_id
        assert task["retry_exponential_backoff"], task_id
        assert task["has_failure_callback"], task_id
        # Permanent errors fail without retries, the main line renews its claim.
        assert task["guarded"], task_id
        assert task["doc"], task_id


def test_guards_catch_parse_time_access(tmp_path: Path) -> None:
    """Negative control: a DAG file that reads a Variable / opens a socket at parse time."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "bad_variable.py").write_text(
        "from airflow.sdk import DAG, Variable\n"
        "name = Variable.get('WISTIA_LAMBDA_FUNCTION')\n"
        "dag = DAG(dag_id='bad_variable', schedule=None)\n"
    )
    (folder / "bad_network.py").write_text(
        "import urllib.request\n"
        "from airflow.sdk import DAG\n"
        "urllib.request.urlopen('http://127.0.0.1:9/')\n"
        "dag = DAG(dag_id='bad_network', schedule=None)\n"
    )
    result = probe(folder, tmp_path)
    assert len(result["import_errors"]) == 2
    assert "Variable.get" in result["violations"]
    assert "network connect" in result["violations"]
    assert result["dags"] == {}
