"""The aws target on the local AWS: ``make demo TARGET=aws`` and ``make backfill TARGET=aws``.

One flow for both (:func:`run`): the local AWS (:mod:`wistia_awslocal`; the one at
``AWS_ENDPOINT_URL``, else a fresh one started here and stopped at the end) gets the real
templates and artifacts through ``scripts/deploy.py`` twice, ``ENV=local`` for the DAG and
``ENV=local-twin`` for the Step Functions twin (two stacks: own lake, run-state table and Glue
database each, so the two runs of a day never see each other), with ``WistiaApiUrl`` = the API to
read. The secrets are filled (the token, the PII key: the same key in both stacks, so the hashed
ids agree), then

- ``wistia_daily`` runs on the aws target through Airflow (``scripts/backfill.py``: one
  ``dag.test()`` per day, the real provider operators) with the environment ``deploy`` wrote to
  the MWAA bucket's ``startup.sh`` (as MWAA exports it), pointed at the server;
- meanwhile the twin's state machine runs one execution per day, in order (the two share
  nothing but the server);
- Athena prints the gold summary (``examples/top_media_by_play_rate.sql``) and compares the two
  stacks' ``fact_media_daily`` media-day by media-day.

The helpers (:class:`Stack`, :func:`deploy`, :func:`run_twin_day`, :func:`athena_query`,
:func:`gold_rows`, ...) are also what ``tests/e2e/test_aws_emulated.py`` and
``benchmarks/bench_aws_day.py`` use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import boto3
import requests
from botocore.exceptions import ClientError

from wistia_dev import local_runner, repo_root

DAG_ENV = "local"  # the stack wistia_daily runs on
TWIN_ENV = "local-twin"  # the stack the Step Functions twin runs on
DEMO_DAYS = 3
TOP_N = 5
# How often the provider operators poll Glue/Athena (MWAA's default is 30 s; the runs here are
# short, and a poll costs the server next to nothing).
POLL_SECONDS = "1"
TWIN_TIMEOUT_SECONDS = 3600.0
FACT_TABLE = "fact_media_daily"
IGNORED_COLUMNS = frozenset({"gold_ingested_at"})  # when the row was written, not what it says
SIMULATOR_SEED = 42


class AwsDemoError(RuntimeError):
    """The flow cannot go on (no server, a failed deploy, ...)."""


# --- the server ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """The local AWS in use: its URL and whether this process started it."""

    url: str
    started: bool

    def client_env(self) -> dict[str, str]:
        """What points boto3 (here and in child processes) at the server."""
        from wistia_awslocal.process import client_env

        return client_env(self.url)

    def set_faults(self, faults: Mapping[str, Any]) -> None:
        """Replace the server's fault knobs (docs/awslocal.md)."""
        resp = requests.post(f"{self.url}/_awslocal/faults", json=dict(faults), timeout=10)
        resp.raise_for_status()


def check_awslocal(url: str) -> None:
    """Refuse anything but a ``wistia_awslocal`` server (never deploy to a real endpoint)."""
    try:
        health = requests.get(f"{url.rstrip('/')}/_awslocal/health", timeout=5).json()
    except (requests.RequestException, ValueError) as exc:
        raise AwsDemoError(
            f"AWS_ENDPOINT_URL={url} does not answer as the local AWS ({exc}); start it with "
            "`make awslocal` or unset AWS_ENDPOINT_URL to let this command start one"
        ) from None
    if health.get("status") != "ok" or "glue_exec" not in health.get("extensions", []):
        raise AwsDemoError(f"{url} is not a local AWS with every extension: {health}")


@contextlib.contextmanager
def awslocal_server(log_path: Path | None = None) -> Iterator[Server]:
    """The server at ``AWS_ENDPOINT_URL`` (left running), else a new one (stopped on exit);
    while active, this process's environment points boto3 at it."""
    from wistia_awslocal.process import start_awslocal

    url = os.environ.get("AWS_ENDPOINT_URL", "").strip().rstrip("/")
    owned = None
    if url:
        check_awslocal(url)
        server = Server(url, started=False)
    else:
        owned = start_awslocal(log_path=log_path)
        server = Server(owned.url, started=True)
    saved = {k: os.environ.get(k) for k in [*server.client_env(), "AWS_PROFILE"]}
    os.environ.update(server.client_env())
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield server
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if owned is not None:
            owned.stop()


# --- stacks ----------------------------------------------------------------------------------------


def stack_names(env: str) -> tuple[str, str]:
    """(bootstrap stack, pipeline stack), as scripts/deploy.py names them."""
    return f"wistia-{env}-bootstrap", f"wistia-{env}"


def _describe(name: str) -> dict[str, Any] | None:
    try:
        return boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def stack_exists(env: str) -> bool:
    return _describe(stack_names(env)[1]) is not None


def startup_exports(script: str) -> dict[str, str]:
    """The ``export KEY='value'`` lines of a ``startup.sh`` (what MWAA puts in the environment)."""
    env = {}
    for line in script.splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = shlex.split(value)[0]
    return env


@dataclass(frozen=True)
class Stack:
    """One deployed environment: its outputs, parameters and the MWAA start-up environment."""

    env: str
    outputs: dict[str, str]
    parameters: dict[str, str]
    startup: dict[str, str]

    @classmethod
    def load(cls, env: str) -> Stack:
        bootstrap, pipeline = stack_names(env)
        stacks = [_describe(bootstrap), _describe(pipeline)]
        if None in stacks:
            raise AwsDemoError(f"environment {env} is not deployed on this server")
        boot, main = stacks

        def outs(stack: dict[str, Any]) -> dict[str, str]:
            return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

        params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in main["Parameters"]}
        body = boto3.client("s3").get_object(Bucket=outs(boot)["MwaaBucketName"], Key="startup.sh")
        return cls(env, outs(main), params, startup_exports(body["Body"].read().decode()))

    @property
    def lake_uri(self) -> str:
        return self.outputs["LakeUri"]

    @property
    def database(self) -> str:
        return self.outputs["GlueDatabaseName"]

    @property
    def workgroup(self) -> str:
        return self.outputs["AthenaWorkGroupName"]

    @property
    def state_machine(self) -> str:
        return self.outputs["StateMachineArn"]

    def dag_env(self) -> dict[str, str]:
        """The environment of an Airflow on this stack: ``startup.sh``'s exports (what MWAA's
        start-up script sets) and a poll interval suited to short runs."""
        return {**self.startup, "WISTIA_AWS_POLL_SECONDS": POLL_SECONDS}

    def store(self) -> Any:
        from wistia_pipeline.state.dynamodb import DynamoDBRunStateStore

        return DynamoDBRunStateStore(self.outputs["StateTableName"])

    def fill_secrets(self, api_token: str | None, pii_hash_key: str | None) -> None:
        """Put the token and the PII key into the stack's secrets (``None``: leave as is)."""
        sm = boto3.client("secretsmanager")
        for arn, key, value in (
            (self.outputs["TokenSecretArn"], "api_token", api_token),
            (self.outputs["PiiKeySecretArn"], "pii_hash_key", pii_hash_key),
        ):
            if value is not None:
                sm.put_secret_value(SecretId=arn, SecretString=json.dumps({key: value}))

    def has_secret(self, output: str) -> bool:
        try:
            boto3.client("secretsmanager").get_secret_value(SecretId=self.outputs[output])
        except ClientError:
            return False
        return True


def build_dist(root: Path | None = None) -> Path:
    """``make package``: the artifacts deploy uploads (``dist/`` by default)."""
    from wistia_dev.dist import build_dist as build

    return build(root).root


def deploy(
    env: str,
    dist: Path,
    params: Mapping[str, str] | None = None,
    log: IO[str] | None = None,
) -> list[dict[str, Any]]:
    """``scripts/deploy.py --env ENV --dist DIST --param K=V ... --json``; its changes."""
    cmd = [sys.executable, str(repo_root() / "scripts" / "deploy.py"), "--env", env]
    cmd += ["--dist", str(dist), "--json"]
    for key, value in (params or {}).items():
        cmd += ["--param", f"{key}={value}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), check=False)
    if log is not None:
        log.write(f"$ {shlex.join(cmd)}\n{proc.stdout}{proc.stderr}")
        log.flush()
    if proc.returncode != 0:
        raise AwsDemoError(f"deploy of {env} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the DAG ---------------------------------------------------------------------------------------


@dataclass
class DagRuns:
    returncode: int
    days: list[dict[str, Any]] = field(default_factory=list)
    output: str = ""


def run_days(
    start: date,
    end: date,
    airflow_home: Path,
    env: Mapping[str, str],
    *extra: str,
    log: IO[str] | None = None,
    echo: str | None = None,
) -> DagRuns:
    """``wistia_daily`` through Airflow for ``start..end`` (``scripts/backfill.py`` in a child
    process with ``env`` added; ``extra`` are its options); one dict per day, as it prints them."""
    local_runner.ensure_metadata_db(airflow_home)
    run_env = local_runner.airflow_env(airflow_home, {**os.environ, **env})
    cmd = [sys.executable, str(repo_root() / "scripts" / "backfill.py")]
    cmd += ["--start", start.isoformat(), "--end", end.isoformat(), *extra]
    proc = subprocess.Popen(
        cmd, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    result = DagRuns(0)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if log is not None:
            log.write(line)
        if line.startswith("{") and '"day"' in line:
            result.days.append(json.loads(line))
            if echo is not None:
                print(echo + line.rstrip(), flush=True)
    result.returncode = proc.wait()
    result.output = "".join(lines)
    return result


def run_dag(
    stack: Stack,
    start: date,
    end: date,
    airflow_home: Path,
    *extra: str,
    env: Mapping[str, str] | None = None,
    log: IO[str] | None = None,
    echo: str | None = None,
) -> DagRuns:
    """:func:`run_days` on the aws target of ``stack`` (its :meth:`Stack.dag_env`)."""
    return run_days(
        start, end, airflow_home, {**stack.dag_env(), **(env or {})}, *extra, log=log, echo=echo
    )


# --- the Step Functions twin ------------------------------------------------------------------

FINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


@dataclass(frozen=True)
class TwinRun:
    day: date
    execution_arn: str
    status: str
    duration_s: float
    error: str | None = None
    cause: str | None = None
    first_day: date | None = None  # a range run's D1 (None: the day alone)

    @property
    def days(self) -> int:
        return (self.day - (self.first_day or self.day)).days + 1

    @property
    def ok(self) -> bool:
        return self.status == "SUCCEEDED"

    def as_dict(self) -> dict[str, Any]:
        out = {
            "twin_day": self.day.isoformat(),
            "first_day": (self.first_day or self.day).isoformat(),
            "execution": self.execution_arn.rsplit(":", 1)[-1],
            "status": self.status,
            "duration_s": self.duration_s,
        }
        if not self.ok:
            out |= {"error": self.error, "cause": (self.cause or "")[:500]}
        return out


def start_twin(stack: Stack, day: date, sfn: Any = None, first_day: date | None = None) -> str:
    """Start the twin's execution for data day ``day`` (input ``{"logical_date": D}``, as its
    schedule's), or for the range ``[first_day, day]`` (``range_start`` added); its ARN.
    ``sfn``: a Step Functions client (boto3's default session builds clients safely on one
    thread only)."""
    execution_input = {"logical_date": day.isoformat()}
    if first_day is not None and first_day != day:
        execution_input["range_start"] = first_day.isoformat()
    return (sfn or boto3.client("stepfunctions")).start_execution(
        stateMachineArn=stack.state_machine,
        name=f"{day.isoformat()}-{uuid.uuid4().hex[:8]}",
        input=json.dumps(execution_input),
    )["executionArn"]


def wait_twin(
    arn: str,
    day: date,
    timeout: float = TWIN_TIMEOUT_SECONDS,
    poll: float = 0.5,
    sfn: Any = None,
) -> TwinRun:
    """Wait for execution ``arn`` to end (stopped after ``timeout`` s); its outcome, timed from
    its start date."""
    sfn = sfn or boto3.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] in FINAL_STATES:
            break
        if time.monotonic() > deadline:
            sfn.stop_execution(executionArn=arn, error="Timeout", cause="awsdemo gave up")
            desc = sfn.describe_execution(executionArn=arn)
            break
        time.sleep(poll)
    stopped = desc.get("stopDate") or datetime.now(UTC)
    return TwinRun(
        day,
        arn,
        desc["status"],
        round((stopped - desc["startDate"]).total_seconds(), 2),
        desc.get("error"),
        desc.get("cause"),
    )


def run_twin_day(
    stack: Stack,
    day: date,
    timeout: float = TWIN_TIMEOUT_SECONDS,
    sfn: Any = None,
    first_day: date | None = None,
) -> TwinRun:
    """One execution of the twin for ``day`` (or the range ``[first_day, day]``), waited for."""
    sfn = sfn or boto3.client("stepfunctions")
    run = wait_twin(start_twin(stack, day, sfn, first_day), day, timeout, sfn=sfn)
    return dataclasses.replace(run, first_day=first_day or day)


def run_twin_days(
    stack: Stack,
    start: date,
    end: date,
    sfn: Any,
    report: Any = None,
    max_range_days: int = 1,
) -> list[TwinRun]:
    """The twin over ``start..end`` in order, one execution per range of at most
    ``max_range_days`` days (an execution refuses to start while one of an overlapping window
    runs), stopping at the first that does not succeed; ``report`` gets each outcome."""
    from wistia_pipeline.dates import split_range

    runs = []
    for first, last in split_range(start, end, max_range_days):
        runs.append(run_twin_day(stack, last, sfn=sfn, first_day=first))
        if report is not None:
            report(runs[-1])
        if not runs[-1].ok:
            break
    return runs


# --- Athena and gold ------------------------------------------------------------------------------


def athena_query(
    stack: Stack, sql: str, timeout: float = 300.0
) -> tuple[list[str], list[list[str | None]]]:
    """``sql`` in the stack's workgroup and database; (columns, rows) as Athena returns them."""
    athena = boto3.client("athena")
    qid = athena.start_query_execution(
        QueryString=sql,
        WorkGroup=stack.workgroup,
        QueryExecutionContext={"Database": stack.database},
    )["QueryExecutionId"]
    deadline = time.monotonic() + timeout
    while True:
        status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        if time.monotonic() > deadline:
            raise AwsDemoError(f"Athena query {qid} still {status['State']} after {timeout}s")
        time.sleep(0.2)
    if status["State"] != "SUCCEEDED":
        raise AwsDemoError(f"Athena query {status['State']}: {status.get('StateChangeReason')}")
    rows = [
        [cell.get("VarCharValue") for cell in row["Data"]]
        for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid)
        for row in page["ResultSet"]["Rows"]
    ]
    if not rows:  # DDL: no result set
        return [], []
    return [str(c) for c in rows[0]], rows[1:]


def media_days(stack: Stack, start: date, end: date) -> dict[tuple[str, str], dict[str, Any]]:
    """``fact_media_daily`` of ``[start, end]`` through Athena: (dt, media_id) -> row (without
    the columns of :data:`IGNORED_COLUMNS`)."""
    columns, rows = athena_query(
        stack,
        f"SELECT * FROM {stack.database}.{FACT_TABLE} "
        f"WHERE dt BETWEEN '{start.isoformat()}' AND '{end.isoformat()}'",
    )
    out = {}
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        out[(str(record["dt"]), str(record["media_id"]))] = {
            k: v for k, v in record.items() if k not in IGNORED_COLUMNS
        }
    return out


@dataclass(frozen=True)
class Agreement:
    media_days: int
    differing: list[tuple[str, str]]  # (dt, media_id) present in one only or with other values

    @property
    def agree(self) -> bool:
        return not self.differing and self.media_days > 0

    def line(self, start: date, end: date) -> str:
        if self.agree:
            return (
                f"DAG and twin gold agree on every media-day: {self.media_days} media-days of "
                f"{start} .. {end} identical (fact_media_daily, all columns but gold_ingested_at)"
            )
        if not self.media_days:
            return f"DAG and twin gold: no media-days in {start} .. {end} to compare"
        sample = ", ".join(f"{dt}/{media}" for dt, media in self.differing[:5])
        return (
            f"DAG and twin gold DIFFER on {len(self.differing)} of {self.media_days} media-days "
            f"of {start} .. {end} (e.g. {sample})"
        )


def compare_media_days(
    a: Mapping[tuple[str, str], Any], b: Mapping[tuple[str, str], Any]
) -> Agreement:
    keys = sorted(set(a) | set(b))
    return Agreement(len(keys), [k for k in keys if a.get(k) != b.get(k)])


def gold_rows(lake_uri: str, start: date, end: date) -> dict[str, list[tuple]]:
    """Every published gold table's rows (sorted, without :data:`IGNORED_COLUMNS`); the ``dt``
    partitioned ones limited to ``[start, end]``. ``lake_uri``: ``s3://...`` (read through
    this process's boto3) or a local lake directory."""
    import duckdb

    from wistia_pipeline.publishing import gold_uri, published_files
    from wistia_pipeline.storage import open_storage
    from wistia_pipeline.streams import GOLD_TABLES

    storage = open_storage(lake_uri)
    out: dict[str, list[tuple]] = {}
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect() as con:
        for table in GOLD_TABLES:
            files = published_files(storage, lake_uri, gold_uri(lake_uri, table))
            if "://" in lake_uri:
                files = [_download(storage, lake_uri, f, Path(tmp)) for f in files]
            out[table] = _rows(con, files, start, end) if files else []
    return out


def _rows(con: Any, files: list[str], start: date, end: date) -> list[tuple]:
    """Rows of Parquet ``files`` (``dt`` from their ``dt=`` path, the version dropped)."""
    source = f"read_parquet({files!r}, hive_partitioning = true, union_by_name = true)"
    cols = [
        r[0]
        for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        if r[0] not in (*IGNORED_COLUMNS, "v")
    ]
    where = f" WHERE CAST(dt AS VARCHAR) BETWEEN '{start}' AND '{end}'" if "dt" in cols else ""
    select = ", ".join(f'"{c}"' for c in cols)
    return con.execute(f"SELECT {select} FROM {source}{where} ORDER BY ALL").fetchall()


def _download(storage: Any, lake_uri: str, uri: str, target: Path) -> str:
    """``uri`` copied under ``target`` at its path below the lake (keeps ``dt=``/``v=``)."""
    path = target / uri[len(lake_uri.rstrip("/")) + 1 :]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(storage.read_bytes(uri))
    return str(path)


def print_summary(stack: Stack, start: date, end: date, top_n: int = TOP_N) -> None:
    """``examples/top_media_by_play_rate.sql`` through the stack's Athena, per day."""
    from wistia_pipeline.sql import render_sql

    sql = render_sql(
        "examples",
        "top_media_by_play_rate",
        database=stack.database,
        start_date=start,
        end_date=end,
        top_n=top_n,
    )
    columns, rows = athena_query(stack, sql)
    print(
        f"\nTop {top_n} media by play rate per day (examples/top_media_by_play_rate.sql through "
        f"Athena on the local AWS, database {stack.database}):"
    )
    header = " | ".join(f"{c:<32}" if c == "media_name" else f"{c:>12}" for c in columns)
    current = None
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        if record["dt"] != current:
            current = record["dt"]
            print(f"\n{current}\n{header}")
        cells = []
        for col, value in record.items():
            text = "" if value is None else str(value)
            if col == "media_name":
                cells.append(f"{text[:32]:<32}")
            elif col == "play_rate" and value is not None:
                cells.append(f"{float(value):>12.4f}")
            else:
                cells.append(f"{text:>12}")
        print(" | ".join(cells))
    if not rows:
        print("  (no rows)")


# --- the flow ------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What :func:`run` does: the days, the API the Lambda reads, its token."""

    start: date
    end: date
    api_url: str
    api_token: str
    pii_hash_key: str
    state_dir: Path
    log_path: Path
    twin: bool = True
    max_range_days: int = 1  # > 1: range runs (make backfill), DAG and twin alike


def demo_days(today: date | None = None, days: int = DEMO_DAYS) -> tuple[date, date]:
    """The ``days`` days ending yesterday (UTC), as ``make demo``."""
    yesterday = (today or datetime.now(UTC).date()) - timedelta(days=1)
    return yesterday - timedelta(days=days - 1), yesterday


def _say(text: str = "") -> None:
    print(text, flush=True)


def run(plan: Plan, server: Server) -> int:
    """Deploy both stacks, run the DAG and the twin for every day (the two at once: they share
    nothing but the server), print the summary and the agreement line; 0 when every run
    succeeded and the golds agree."""
    days = (plan.end - plan.start).days + 1
    with plan.log_path.open("a") as log:
        stacks = deploy_stacks(plan, log)
        dag_stack = stacks[DAG_ENV]
        home = plan.state_dir / "awslocal" / "airflow"
        _say(
            f"\nwistia_daily on the aws target through Airflow for {plan.start} .. {plan.end} "
            f"({days} dag.test() run(s); Airflow home {home})"
            + (
                f" and the Step Functions twin on ENV={TWIN_ENV}, day by day ..."
                if plan.twin
                else " ..."
            )
        )

        def twin_done(twin_run: TwinRun) -> None:
            _say("  twin " + json.dumps(twin_run.as_dict()))
            log.write(json.dumps(twin_run.as_dict()) + "\n")

        with ThreadPoolExecutor(1) as pool:
            twin_future = (
                pool.submit(
                    run_twin_days,
                    stacks[TWIN_ENV],
                    plan.start,
                    plan.end,
                    boto3.client("stepfunctions"),
                    twin_done,
                    plan.max_range_days,
                )
                if plan.twin
                else None
            )
            ranges = ("--max-range-days", str(plan.max_range_days))
            dag = run_dag(dag_stack, plan.start, plan.end, home, *ranges, log=log, echo="  dag  ")
            twin_runs = twin_future.result() if twin_future else []
        failed = dag.returncode != 0 or sum(int(d.get("days", 1)) for d in dag.days) < days
        if failed:
            _say(f"A DAG run failed (exit {dag.returncode}); see {plan.log_path}")
        twin_days = sum(r.days for r in twin_runs)
        if plan.twin and (twin_days < days or not all(r.ok for r in twin_runs)):
            failed = True
            _say(f"A twin execution failed; see {plan.log_path}")
        if any(d.get("state") == "success" for d in dag.days):
            print_summary(dag_stack, plan.start, plan.end)
        agreement = None
        if plan.twin and not failed:
            agreement = compare_media_days(
                media_days(dag_stack, plan.start, plan.end),
                media_days(stacks[TWIN_ENV], plan.start, plan.end),
            )
            _say("\n" + agreement.line(plan.start, plan.end))
    return 1 if failed or (agreement is not None and not agreement.agree) else 0


def deploy_stacks(plan: Plan, log: IO[str]) -> dict[str, Stack]:
    """``ENV=local`` (and ``ENV=local-twin``) deployed or updated with ``WistiaApiUrl`` = the
    plan's API, their secrets filled."""
    dist = build_dist()
    stacks = {}
    for env in [DAG_ENV, TWIN_ENV] if plan.twin else [DAG_ENV]:
        verb = "Updated" if stack_exists(env) else "Deployed"
        started = time.monotonic()
        changes = deploy(env, dist, {"WistiaApiUrl": plan.api_url}, log)
        stacks[env] = stack = Stack.load(env)
        stack.fill_secrets(plan.api_token, plan.pii_hash_key)
        _say(
            f"{verb} ENV={env} with scripts/deploy.py (WistiaApiUrl={plan.api_url}): "
            f"{len(changes)} change(s) in {time.monotonic() - started:.1f}s; "
            f"lake {stack.lake_uri}, database {stack.database}"
        )
    return stacks


def _where(plan: Plan, server: Server) -> None:
    _say(f"\nLocal AWS:       {server.url}")
    _say(f"Log:             {plan.log_path}")
    if server.started:
        _say(
            "The local AWS this command started stops with it (its state lives in memory). "
            "To keep the stacks and query them: `make awslocal` in another shell, then "
            "`AWS_ENDPOINT_URL=http://127.0.0.1:4566 make demo TARGET=aws`."
        )
    else:
        _say(
            f"The stacks stay on the server: e.g. `aws --endpoint-url {server.url} athena ...` or "
            f"boto3 with AWS_ENDPOINT_URL={server.url}; databases "
            f"wistia_{DAG_ENV} / wistia_{TWIN_ENV.replace('-', '_')}."
        )


def _paths() -> tuple[Path, str]:
    from wistia_pipeline.config import load_settings

    state_dir = load_settings().state_dir
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    return state_dir, datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _pii_key(state_dir: Path) -> str:
    from wistia_pipeline.config import ensure_local_pii_key

    return os.environ.get("WISTIA_PII_HASH_KEY") or ensure_local_pii_key(state_dir)


def demo(start: date | None = None, end: date | None = None) -> int:
    """``make demo TARGET=aws``: the simulator's last days through the DAG and the twin."""
    from wistia_simulator.process import free_port, start_simulator, stop_process

    if start is None or end is None:
        start, end = demo_days()
    state_dir, stamp = _paths()
    logs = state_dir / "logs"
    token = secrets.token_hex(16)  # the simulator's credential for this demo only
    port = free_port()
    plan = Plan(
        start,
        end,
        f"http://127.0.0.1:{port}/modern",
        token,
        _pii_key(state_dir),
        state_dir,
        logs / f"demo-aws-{stamp}.log",
    )
    _say(f"Starting the Wistia simulator on 127.0.0.1:{port} ...")
    sim = start_simulator(
        port,
        token,
        *simulator_args(end),
        log_path=logs / f"simulator-{stamp}.log",
    )
    try:
        with _server(logs / f"awslocal-{stamp}.log") as server:
            code = run(plan, server)
            _where(plan, server)
    finally:
        stop_process(sim)
    return code


def simulator_args(end: date, seed: int = SIMULATOR_SEED) -> list[str]:
    """The demo's simulator: 30 data days ending ``end`` (as ``make demo``'s local target)."""
    first = end - timedelta(days=29)
    return ["--seed", str(seed), "--start-date", first.isoformat(), "--end-date", end.isoformat()]


@contextlib.contextmanager
def _server(log_path: Path) -> Iterator[Server]:
    external = os.environ.get("AWS_ENDPOINT_URL")
    _say(
        f"Using the local AWS at {external} ..."
        if external
        else "Starting the local AWS (wistia_awslocal) ..."
    )
    with awslocal_server(log_path) as server:
        yield server


def backfill(start: date, end: date, twin: bool = True) -> int:
    """``make backfill TARGET=aws``: ``start..end`` from ``WISTIA_API_URL`` with
    ``WISTIA_API_TOKEN``, through the DAG and the twin on the local AWS."""
    from wistia_pipeline.config import DEFAULT_API_URL, resolve_max_range_days

    token = os.environ.get("WISTIA_API_TOKEN", "").strip()
    if not token:
        raise AwsDemoError("WISTIA_API_TOKEN is not set (the token of WISTIA_API_URL)")
    state_dir, stamp = _paths()
    plan = Plan(
        start,
        end,
        os.environ.get("WISTIA_API_URL", "").strip().rstrip("/") or DEFAULT_API_URL,
        token,
        _pii_key(state_dir),
        state_dir,
        state_dir / "logs" / f"backfill-aws-{stamp}.log",
        twin=twin,
        max_range_days=resolve_max_range_days(),
    )
    with _server(state_dir / "logs" / f"awslocal-{stamp}.log") as server:
        code = run(plan, server)
        _where(plan, server)
    return code


def _guarded(flow: Any, *args: Any) -> int:
    try:
        return flow(*args)
    except AwsDemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def demo_main(start: date | None = None, end: date | None = None) -> int:
    """``scripts/demo.py --target aws``: :func:`demo`, errors as exit code 2."""
    return _guarded(demo, start, end)


def backfill_main(start: date, end: date) -> int:
    """``scripts/backfill.py --target aws``: :func:`backfill`, errors as exit code 2."""
    return _guarded(backfill, start, end)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m wistia_dev.awsdemo demo|backfill [--start D --end D]``."""
    import argparse

    parser = argparse.ArgumentParser(description="the aws target on the local AWS")
    parser.add_argument("command", choices=["demo", "backfill"])
    parser.add_argument("--start", type=date.fromisoformat)
    parser.add_argument("--end", type=date.fromisoformat)
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo_main(args.start, args.end)
    if args.start is None or args.end is None:
        parser.error("backfill needs --start and --end")
    return backfill_main(args.start, args.end)


if __name__ == "__main__":
    sys.exit(main())
