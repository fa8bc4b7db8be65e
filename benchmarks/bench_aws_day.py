"""Benchmark: one simulated day on the local AWS (DAG and twin) next to the local target
(``make bench-aws``); prints JSON.

The same simulator (``make demo``'s configuration: seed 42, default dataset sizes, 30 data
days ending ``--day``) serves three runs of data day ``--day``, one after the other, in
``--rounds`` interleaved rounds (default 2; the fastest run of each counts, the JSON lists all):

1. ``local``: ``wistia_daily`` on the local target through Airflow (``scripts/backfill.py``: one
   ``dag.test()``; in-process ingestion, local ``spark-submit``, DuckDB checks, SQLite);
2. ``aws_dag``: ``wistia_daily`` on the aws target through Airflow against a stack deployed into
   the local AWS (``wistia_awslocal``): the Lambda's zip in its sandbox, Glue under
   ``spark-submit`` through S3A on the server, the checks on its Athena, DynamoDB;
3. ``aws_twin``: the Step Functions twin's execution of the same day on a second stack.

For each: the day's wall time (``dag.test()`` / the execution, without interpreter start) and
the child process's, the time per task (Airflow's task instances, start to end) or per state
(the execution history), and each Glue run's ``StartedOn``..``CompletedOn`` (``spark-submit``
from JVM start to exit); ``*_gold_equals_local``: that target's ``fact_media_daily`` (the
window's rows, ``gold_ingested_at`` aside) equals the local target's. A small ``spark-submit``
runs first, untimed, so that no run pays for a cold page cache (the JVM's and PySpark's files)
that the next ones do not. The ratios ``aws / local`` are the goal's measure (within 2x).
One-time costs (server start, deploys, ``airflow db migrate``) are reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from wistia_dev import awsdemo, local_runner
from wistia_simulator.process import free_port, start_simulator, stop_process

PII_KEY = "bench-aws-pii-key"  # a throwaway key: the same in every run of this benchmark


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    parser.add_argument("--day", type=date.fromisoformat, default=yesterday)
    parser.add_argument("--seed", type=int, default=awsdemo.SIMULATOR_SEED)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    parser.add_argument("--skip-twin", action="store_true")
    parser.add_argument(
        "--rounds", type=int, default=2, help="interleaved rounds; the fastest run of each counts"
    )
    return parser.parse_args(argv)


def task_times(home: Path, run_id: str) -> dict[str, float]:
    """Seconds per task instance of ``run_id`` (Airflow's start/end)."""
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT task_id, start_date, end_date FROM task_instance WHERE run_id = ?", (run_id,)
        ).fetchall()
    out = {}
    for task, start, end in rows:
        if start and end:
            seconds = datetime.fromisoformat(end) - datetime.fromisoformat(start)
            out[task] = round(seconds.total_seconds(), 2)
    return out


def glue_times(stack: awsdemo.Stack) -> dict[str, float]:
    """Seconds of the latest run of the stack's silver and gold jobs (StartedOn..CompletedOn)."""
    glue = boto3.client("glue")
    out = {}
    for step, output in (("silver", "SilverJobName"), ("gold", "GoldJobName")):
        runs = glue.get_job_runs(JobName=stack.outputs[output])["JobRuns"]
        latest = max(runs, key=lambda r: r["StartedOn"])
        out[step] = round((latest["CompletedOn"] - latest["StartedOn"]).total_seconds(), 2)
    return out


def state_times(execution_arn: str) -> dict[str, float]:
    """Seconds per top-level state of an execution (entered -> exited)."""
    sfn = boto3.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    entered: dict[str, datetime] = {}
    out: dict[str, float] = {}
    for event in events:
        if details := event.get("stateEnteredEventDetails"):
            entered.setdefault(details["name"], event["timestamp"])
        elif (details := event.get("stateExitedEventDetails")) and details["name"] in entered:
            seconds = (event["timestamp"] - entered[details["name"]]).total_seconds()
            if seconds >= 0.05 and not details["name"].startswith("Run_"):
                out[details["name"]] = round(seconds, 2)
    return out


WARM_UP_SCRIPT = (
    "from pyspark.sql import SparkSession\n"
    "print(SparkSession.builder.getOrCreate().range(1000).selectExpr('sum(id)').first())\n"
)


def warm_up(work: Path) -> float:
    """One small ``spark-submit`` (JVM, PySpark, a job): the page cache then holds what every
    run reads. Its seconds."""
    from wistia_pipeline.local_spark import spark_submit_command

    script = work / "warm_up.py"
    script.write_text(WARM_UP_SCRIPT)
    started = time.monotonic()
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    subprocess.run(spark_submit_command(script, {}), env=env, check=True, capture_output=True)
    return round(time.monotonic() - started, 2)


def run_local(day: date, api: Mapping[str, str], work: Path, airflow_home: Path) -> dict[str, Any]:
    env = {
        "WISTIA_TARGET": "local",
        "WISTIA_STATE_DIR": str(work / "local-state"),
        "WISTIA_LAKE_URI": str(work / "local-lake"),
        "WISTIA_PII_HASH_KEY": PII_KEY,
        **api,
    }
    started = time.monotonic()
    runs = awsdemo.run_days(day, day, airflow_home, env)
    wall = time.monotonic() - started
    if runs.returncode != 0:
        raise SystemExit(f"local target run failed:\n{runs.output[-4000:]}")
    (result,) = runs.days
    return {
        "day_s": result["duration_s"],
        "process_s": round(wall, 2),
        "tasks_s": task_times(airflow_home, result["run_id"]),
    }


def run_aws_dag(stack: awsdemo.Stack, day: date, airflow_home: Path) -> dict[str, Any]:
    started = time.monotonic()
    runs = awsdemo.run_dag(stack, day, day, airflow_home)
    wall = time.monotonic() - started
    if runs.returncode != 0:
        raise SystemExit(f"aws DAG run failed:\n{runs.output[-4000:]}")
    (result,) = runs.days
    return {
        "day_s": result["duration_s"],
        "process_s": round(wall, 2),
        "tasks_s": task_times(airflow_home, result["run_id"]),
        "glue_runs_s": glue_times(stack),
    }


def run_aws_twin(stack: awsdemo.Stack, day: date) -> dict[str, Any]:
    twin = awsdemo.run_twin_day(stack, day)
    if not twin.ok:
        raise SystemExit(f"twin failed: {twin.as_dict()}")
    return {
        "day_s": twin.duration_s,
        "states_s": state_times(twin.execution_arn),
        "glue_runs_s": glue_times(stack),
    }


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest run (the least disturbed by anything else on the machine), with every
    run's day time."""
    return {**min(runs, key=lambda r: r["day_s"]), "all_day_s": [r["day_s"] for r in runs]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-aws-"))
    work.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(12)
    port = free_port()
    sim = start_simulator(port, token, *awsdemo.simulator_args(args.day, args.seed))
    api = {"WISTIA_API_URL": f"http://127.0.0.1:{port}/modern", "WISTIA_API_TOKEN": token}
    out: dict[str, Any] = {
        "benchmark": "one data day: local target vs the aws target on the local AWS",
        "day": args.day.isoformat(),
        "simulator": " ".join(awsdemo.simulator_args(args.day, args.seed)),
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "load_average_1m_before": round(os.getloadavg()[0], 2),
    }
    one_time: dict[str, float] = {}
    runs: dict[str, list[dict[str, Any]]] = {"local": [], "aws_dag": [], "aws_twin": []}
    window = (args.day - timedelta(days=2), args.day)
    try:
        t = time.monotonic()
        for home in (work / "airflow-local", work / "airflow-aws"):
            local_runner.ensure_metadata_db(home)
        one_time["airflow_db_migrate_s"] = round(time.monotonic() - t, 2)
        one_time["spark_warm_up_s"] = warm_up(work)

        os.environ.pop("AWS_ENDPOINT_URL", None)  # a fresh server, started here
        t = time.monotonic()
        with awsdemo.awslocal_server(work / "awslocal.log"):
            one_time["server_start_s"] = round(time.monotonic() - t, 2)
            dist = awsdemo.build_dist(work / "dist")
            stacks = {}
            for env in ("bench", "bench-twin"):
                t = time.monotonic()
                awsdemo.deploy(env, dist, {"WistiaApiUrl": api["WISTIA_API_URL"]})
                stacks[env] = stack = awsdemo.Stack.load(env)
                stack.fill_secrets(token, PII_KEY)
                one_time[f"deploy_{env}_s"] = round(time.monotonic() - t, 2)
            # Interleaved rounds: a disturbance from outside hits one run, not one target.
            for _ in range(args.rounds):
                runs["local"].append(run_local(args.day, api, work, work / "airflow-local"))
                runs["aws_dag"].append(run_aws_dag(stacks["bench"], args.day, work / "airflow-aws"))
                if not args.skip_twin:
                    runs["aws_twin"].append(run_aws_twin(stacks["bench-twin"], args.day))
            local_gold = awsdemo.gold_rows(str(work / "local-lake"), *window)["fact_media_daily"]
            for name, env in (("aws_dag", "bench"), ("aws_twin", "bench-twin")):
                if runs[name]:
                    gold = awsdemo.gold_rows(stacks[env].lake_uri, *window)["fact_media_daily"]
                    out[f"{name}_gold_equals_local"] = gold == local_gold
    finally:
        stop_process(sim)
    for name, target_runs in runs.items():
        if target_runs:
            out[name] = best(target_runs)
    local_day = out["local"]["day_s"]
    for name in ("aws_dag", "aws_twin"):
        if name in out:
            out[f"ratio_{name}_to_local"] = round(out[name]["day_s"] / local_day, 2)
    out["one_time"] = one_time
    out["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
