"""Step Functions on the local AWS executes the project's twin, unmodified, with real services.

The generated ``include/stepfunctions/wistia_daily.asl.json``, rendered with its
DefinitionSubstitutions as deploy does, runs on the server against what the pipeline stack
provides, made here directly through boto3: the real ingestion Lambda zip (``wistia_dev``'s
build) calling the Wistia simulator, the real Glue scripts with the built ``wistia_pipeline``
zip as ``--extra-py-files`` (spark-submit through S3A), the Athena tables from the project's
DDL, the DynamoDB run-state table. A day goes SUCCEEDED end to end; a failing Glue run, a
Lambda exception, a missing table and a data check that finds no gold each mark the day FAILED
with the real error text and leave the watermark alone; stopping an execution stops its Glue
run. Small machines cover the interpreter fixes (context timestamps, definite JSONPaths, JSONata
errors) and CloudFormation's ``DefinitionS3Location``/``DefinitionSubstitutions``.

The JSONata ``Prepare`` state is evaluated on the server by jsonata-python; here it is also
compared with the npm ``jsonata`` package (the reference of tests/stepfunctions).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.stepfunctions.parser.asl.jsonata.jsonata import (
    compose_jsonata_expression,
    encode_jsonata_variable_declarations,
)

from wistia_awslocal.process import AwsLocal
from wistia_awslocal.sfn_jsonata import EXTRA_FUNCTIONS, evaluate
from wistia_awslocal.stepfunctions import sfn_timestamp
from wistia_dev.lambda_zip import HANDLER, REPORT_ZIP, build_lambda_zip, build_report_zip
from wistia_dev.zips import build_glue_zip
from wistia_pipeline import dates, stepfunctions
from wistia_pipeline.publishing import PUBLISHED, STAGING, staging_database, tables_root
from wistia_pipeline.sql import list_queries, render_sql
from wistia_pipeline.state import DayStatus
from wistia_pipeline.state.dynamodb import DynamoDBRunStateStore, create_table
from wistia_simulator.process import free_port, start_simulator, stop_process

REPO = Path(__file__).resolve().parents[2]
SIM_TOKEN = "sim-sfn-test-token"  # the simulator's own test credential, not a real secret
SIM_START, SIM_END = date(2026, 3, 1), date(2026, 3, 31)
DAY = date(2026, 3, 5)  # the green day (real Spark)
GLUE_FAIL_DAY = date(2026, 3, 10)
LAMBDA_FAIL_DAY = date(2026, 3, 14)
MISSING_TABLE_DAY = date(2026, 3, 18)
NO_GOLD_DAY = date(2026, 3, 24)  # >= L + 1 days from the others: no overlap between them
STOPPED_DAY = date(2026, 3, 28)
LOOKBACK = 2
FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
NOOP_SCRIPT = 'import sys\nprint("nothing to do for", sys.argv[1:])\n'
SLEEPER_SCRIPT = "import time\ntime.sleep(300)\n"


# --- what the pipeline stack provides, made directly ------------------------------------------


@dataclass
class Twin:
    """The resources and the state machines of one test module."""

    names: dict[str, str]
    machine: str  # the twin on the real jobs and tables
    noop_machines: dict[str, str] = field(default_factory=dict)  # variant -> machine ARN

    @property
    def store(self) -> DynamoDBRunStateStore:
        return DynamoDBRunStateStore(self.names["table"])


def _athena(sql: str, database: str | None, output: str) -> dict[str, Any]:
    athena = boto3.client("athena")
    context = {"QueryExecutionContext": {"Database": database}} if database else {}
    qid = athena.start_query_execution(
        QueryString=sql, ResultConfiguration={"OutputLocation": output}, **context
    )["QueryExecutionId"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        execution = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
            return execution
        time.sleep(0.2)
    raise AssertionError(f"query still running: {sql[:80]}")


def _ddl(database: str, lake_uri: str, output: str, tables: bool = True) -> None:
    """The project's DDL (every ``ddl/`` file, or only the database) run through Athena, for
    the published database and its staging twin (where the checks read), as deploy does."""
    for db, area in ((database, PUBLISHED), (staging_database(database), STAGING)):
        for name in list_queries("ddl"):
            if tables or name.startswith("00_"):
                sql = render_sql("ddl", name, database=db, tables_uri=tables_root(lake_uri, area))
                _athena(sql, None, output)


def _machine(name: str, role: str, substitutions: dict[str, str]) -> str:
    """The generated definition, unmodified, rendered with ``substitutions`` (as deploy does)."""
    definition = json.loads((stepfunctions.output_dir() / stepfunctions.ASL_FILE).read_text())
    text = stepfunctions.render(definition, substitutions)
    sfn = boto3.client("stepfunctions")
    return sfn.create_state_machine(name=name, definition=text, roleArn=role)["stateMachineArn"]


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    """The Wistia simulator (no late events, no rate limit); its API base URL."""
    port = free_port()
    proc = start_simulator(
        port, SIM_TOKEN, "--seed", "5", "--start-date", SIM_START.isoformat(), "--end-date",
        SIM_END.isoformat(), "--media-count", "3", "--events-per-day", "40", "--visitor-count",
        "20", "--late-event-share", "0", "--rate-limit", "0",
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}/modern"
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def twin(awslocal: AwsLocal, simulator: str, tmp_path_factory: pytest.TempPathFactory) -> Twin:
    with pytest.MonkeyPatch.context() as mp:
        for key, value in awslocal.client_env().items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        return _provision(simulator, tmp_path_factory.mktemp("twin"))


def _provision(api_url: str, work: Path) -> Twin:
    suffix = uuid.uuid4().hex[:6]
    n = {
        "artifacts": f"artifacts-{suffix}",
        "lake": f"lake-{suffix}",
        "results": f"athena-{suffix}",
        "table": f"wistia-state-{suffix}",
        "function": f"wistia-ingest-{suffix}",
        "report": f"wistia-report-{suffix}",
        "silver": f"wistia-silver-{suffix}",
        "gold": f"wistia-gold-{suffix}",
        "noop_silver": f"noop-silver-{suffix}",
        "noop_gold": f"noop-gold-{suffix}",
        "sleeper": f"sleeper-{suffix}",
        "database": f"wistia_{suffix}",
        "workgroup": f"wistia-{suffix}",
        "token_secret": f"wistia/{suffix}/api-token",
        "pii_secret": f"wistia/{suffix}/pii-hash-key",
    }
    s3 = boto3.client("s3")
    for bucket in (n["artifacts"], n["lake"], n["results"]):
        s3.create_bucket(Bucket=bucket)
    lake, output = f"s3://{n['lake']}", f"s3://{n['results']}/results/"
    role = boto3.client("iam").create_role(
        RoleName=f"sfn-twin-{suffix}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name=n["token_secret"], SecretString=json.dumps({"api_token": SIM_TOKEN}))
    secrets.create_secret(
        Name=n["pii_secret"], SecretString=json.dumps({"pii_hash_key": "sfn-test-pii-key"})
    )
    create_table(boto3.client("dynamodb"), n["table"])

    # Artifacts as `make package` builds them and deploy uploads them.
    lambda_zip = build_lambda_zip(work / "lambda.zip")
    glue_zip = build_glue_zip(work / "wistia_pipeline.zip")
    s3.upload_file(str(glue_zip), n["artifacts"], "glue/wistia_pipeline.zip")
    for script in ("wistia_silver.py", "wistia_gold.py"):
        s3.upload_file(
            str(REPO / "glue_scripts" / script), n["artifacts"], f"glue_scripts/{script}"
        )
    s3.put_object(Bucket=n["artifacts"], Key="glue_scripts/noop.py", Body=NOOP_SCRIPT.encode())
    s3.put_object(
        Bucket=n["artifacts"], Key="glue_scripts/sleeper.py", Body=SLEEPER_SCRIPT.encode()
    )

    function_arn = boto3.client("lambda").create_function(
        FunctionName=n["function"],
        Runtime="python3.12",
        Role=role,
        Handler=HANDLER,
        Code={"ZipFile": lambda_zip.read_bytes()},
        Timeout=120,
        MemorySize=1024,
        Environment={
            "Variables": {  # the template's, plus WistiaApiUrl -> the simulator
                "WISTIA_TARGET": "aws",
                "WISTIA_SECRET_ID": n["token_secret"],
                "WISTIA_LAKE_URI": lake,
                "WISTIA_STATE_TABLE": n["table"],
                "WISTIA_LOOKBACK_DAYS": str(LOOKBACK),
                "WISTIA_API_URL": api_url,
                "WISTIA_RATE_LIMIT_PER_MINUTE": "60000",
            }
        },
    )["FunctionArn"]
    glue = boto3.client("glue")
    default_args = {  # the template's DefaultArguments that reach the script
        "--extra-py-files": f"s3://{n['artifacts']}/glue/wistia_pipeline.zip",
        "--lake_uri": lake,
        "--pii_secret_id": n["pii_secret"],
        "--lookback_days": str(LOOKBACK),
        "--job-bookmark-option": "job-bookmark-disable",
    }
    scripts = {
        "silver": "wistia_silver.py",
        "gold": "wistia_gold.py",
        "noop_silver": "noop.py",
        "noop_gold": "noop.py",
        "sleeper": "sleeper.py",
    }
    for job, script in scripts.items():
        glue.create_job(
            Name=n[job],
            Role=role,
            Command={
                "Name": "glueetl",
                "ScriptLocation": f"s3://{n['artifacts']}/glue_scripts/{script}",
                "PythonVersion": "3",
            },
            DefaultArguments=default_args,
            GlueVersion="5.0",
            # The two no-op machines run at once (Glue's default is 1 run at a time).
            ExecutionProperty={"MaxConcurrentRuns": 2 if script == "noop.py" else 1},
        )
    boto3.client("athena").create_work_group(
        Name=n["workgroup"], Configuration={"ResultConfiguration": {"OutputLocation": output}}
    )
    _ddl(n["database"], lake, output)
    # Two more databases for the failing checks: one without tables, one over an empty lake.
    _ddl(f"{n['database']}_empty", f"{lake}/empty", output, tables=False)
    _ddl(f"{n['database']}_nogold", f"{lake}/nogold", output)

    subs = {
        "LambdaFunctionName": function_arn,
        "IngestLogGroupName": f"/aws/lambda/{n['function']}",
        "ReportFunctionName": _report_function(n, role, work),
        "PublishFunctionName": _publish_function(n, role, lambda_zip),
        "SilverJobName": n["silver"],
        "GoldJobName": n["gold"],
        "StateTableName": n["table"],
        "LakeUri": lake,
        "PiiSecretId": n["pii_secret"],
        "AthenaDatabase": n["database"],
        "AthenaWorkGroup": n["workgroup"],
        "AthenaOutputLocation": f"s3://{n['results']}/checks/",
        "LookbackDays": str(LOOKBACK),  # when the definition has the placeholder
    }
    twin = Twin(n, _machine(f"wistia-daily-{suffix}", role, subs))
    noop = {**subs, "SilverJobName": n["noop_silver"], "GoldJobName": n["noop_gold"]}
    for variant in ("empty", "nogold"):
        twin.noop_machines[variant] = _machine(
            f"wistia-daily-{variant}-{suffix}",
            role,
            {
                **noop,
                "AthenaDatabase": f"{n['database']}_{variant}",
                "LakeUri": f"{lake}/{variant}",
            },
        )
    twin.noop_machines["sleeper"] = _machine(
        f"wistia-daily-sleeper-{suffix}", role, {**noop, "SilverJobName": n["sleeper"]}
    )
    return twin


def _publish_function(n: dict[str, str], role: str, lambda_zip: Path) -> str:
    """The publish Lambda: the ingestion zip with its own handler, as the template has it."""
    return boto3.client("lambda").create_function(
        FunctionName=f"{n['function']}-publish",
        Runtime="python3.12",
        Role=role,
        Handler="wistia_pipeline.publish_handler.handler",
        Code={"ZipFile": lambda_zip.read_bytes()},
        Timeout=300,
        MemorySize=256,
        Environment={"Variables": {"WISTIA_TARGET": "aws", "WISTIA_LAKE_URI": f"s3://{n['lake']}"}},
    )["FunctionArn"]


def _report_function(n: dict[str, str], role: str, work: Path) -> str:
    """The report Lambda from the built report zip, with the template's environment."""
    report_zip = build_report_zip(work / "report.zip")
    return boto3.client("lambda").create_function(
        FunctionName=n["report"],
        Runtime="python3.12",
        Role=role,
        Handler=REPORT_ZIP.handler,
        Code={"ZipFile": report_zip.read_bytes()},
        Timeout=300,
        MemorySize=1024,
        Environment={
            "Variables": {
                "WISTIA_TARGET": "aws",
                "WISTIA_LAKE_URI": f"s3://{n['lake']}",
                "WISTIA_STATE_TABLE": n["table"],
                "WISTIA_LOOKBACK_DAYS": str(LOOKBACK),
                "WISTIA_ATHENA_DATABASE": n["database"],
                "WISTIA_ATHENA_WORKGROUP": n["workgroup"],
            }
        },
    )["FunctionArn"]


def _report_page(twin: Twin, day: date) -> str | None:
    """The lake's ``reports/wistia/dt=D/index.html``, or None."""
    key = f"reports/wistia/dt={day.isoformat()}/index.html"
    s3 = boto3.client("s3")
    try:
        body = s3.get_object(Bucket=twin.names["lake"], Key=key)["Body"]
    except s3.exceptions.NoSuchKey:
        return None
    return body.read().decode("utf-8")


def _start(machine: str, day: date, name: str | None = None) -> str:
    """Start an execution for ``day``; Prepare fills in the rest (it runs on the server)."""
    return boto3.client("stepfunctions").start_execution(
        stateMachineArn=machine,
        name=name or f"{day.isoformat()}-{uuid.uuid4().hex[:8]}",
        input=json.dumps({"logical_date": day.isoformat()}),
    )["executionArn"]


def _wait(execution: str, timeout: float) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = sfn.describe_execution(executionArn=execution)
        if desc["status"] in FINAL:
            return desc
        time.sleep(0.5)
    raise AssertionError(f"still {desc['status']} after {timeout}s: {_explain(desc)}")


def _history(execution: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions")
    return sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]


def _entered(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]


def _durations(events: list[dict[str, Any]], names: list[str]) -> str:
    """``state 12.3s`` for each of ``names`` (entered -> exited, from the history)."""
    entered: dict[str, datetime] = {}
    spent: dict[str, float] = {}
    for event in events:
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
        if details and details["name"] in names:
            if "stateEnteredEventDetails" in event:
                entered[details["name"]] = event["timestamp"]
            else:
                took = event["timestamp"] - entered[details["name"]]
                spent[details["name"]] = took.total_seconds()
    return ", ".join(f"{name} {spent[name]:.1f}s" for name in names if name in spent)


def _explain(desc: dict[str, Any]) -> str:
    events = _history(desc["executionArn"])
    failures = [
        {k: v for k, v in e.items() if k.endswith("EventDetails") and "Failed" in k}
        for e in events
        if "Failed" in e["type"]
    ]
    return json.dumps(
        {"desc": desc, "entered": _entered(events), "failures": failures}, default=str
    )


# --- the twin on the server --------------------------------------------------------------------


@pytest.mark.slow
def test_twin_runs_a_day_end_to_end(aws: AwsLocal, twin: Twin) -> None:
    started = time.monotonic()
    execution = _start(twin.machine, DAY)
    desc = _wait(execution, timeout=240)
    elapsed = time.monotonic() - started
    assert desc["status"] == "SUCCEEDED", _explain(desc)
    events = _history(execution)
    entered = _entered(events)
    # Prepare (JSONata) ran; the main line in order; every check ran.
    main = ["NeedsPrepare", "Prepare", "FindOverlappingRuns", "OverlappingRunFound", "ClaimDay",
            "Ingest", "Silver", "Gold", "Checks", "Publish", "MarkSucceeded"]  # fmt: skip
    assert [s for s in entered if s in main] == main
    assert sum(s.startswith("Run_") for s in entered) == len(list_queries("checks"))

    run = twin.store.get_day(DAY)
    assert run is not None and run.status is DayStatus.SUCCEEDED, run
    assert run.run_id == execution.rsplit(":", 1)[1]
    assert run.counts["requests_total"] > 0 and run.counts["checks_passed"] == 5
    assert run.error is None and run.finished_at is not None
    assert run.lease_expires_at - run.started_at == timedelta(hours=6)
    assert twin.store.get_watermark() == DAY

    # Silver and gold really ran (the Glue runs of this execution) and gold is in the lake.
    glue = boto3.client("glue")
    for job in (twin.names["silver"], twin.names["gold"]):
        runs = glue.get_job_runs(JobName=job)["JobRuns"]
        assert [r["JobRunState"] for r in runs] == ["SUCCEEDED"], runs
    start, end = dates.window(DAY, LOOKBACK)
    s3 = boto3.client("s3")
    keys = s3.list_objects_v2(Bucket=twin.names["lake"], Prefix="gold/").get("Contents", [])
    days = {m.group(1) for k in keys if (m := re.search(r"dt=(\d{4}-\d\d-\d\d)/", k["Key"]))}
    assert {d.isoformat() for d in dates.days_between(start, end)} <= days
    # The report zip rendered D's page from that gold (Athena) after MarkSucceeded.
    assert entered[-3:] == ["Report", "AfterReport", "RunSucceeded"]
    page = _report_page(twin, DAY)
    assert page is not None and "data-metric=" in page and "<svg" in page
    print(f"\ntwin day {DAY} on the local AWS: {elapsed:.1f}s ({_durations(events, main)})")


def test_failing_glue_run_fails_the_day_with_its_error(aws: AwsLocal, twin: Twin) -> None:
    before = twin.store.get_watermark()
    message = f"AnalysisException: [PATH_NOT_FOUND] bronze missing {uuid.uuid4().hex[:6]}"
    aws.set_faults({"glue_fail": {twin.names["silver"]: message}})
    desc = _wait(_start(twin.machine, GLUE_FAIL_DAY), timeout=120)
    assert desc["status"] == "FAILED", _explain(desc)
    assert desc["error"] == "States.TaskFailed", _explain(desc)
    cause = json.loads(desc["cause"])  # the Glue run, as Step Functions reports it
    assert cause["JobName"] == twin.names["silver"] and cause["JobRunState"] == "FAILED"
    assert cause["ErrorMessage"] == message
    entered = _entered(_history(desc["executionArn"]))
    assert "Silver" in entered and "Gold" not in entered and "MarkFailed" in entered
    # After MarkFailed the report zip rendered D's status page: not published, no numbers.
    assert entered[-3:] == ["Report", "AfterReport", "RunFailed"]
    page = _report_page(twin, GLUE_FAIL_DAY)
    assert page is not None and "is not published" in page and "data-metric=" not in page

    run = twin.store.get_day(GLUE_FAIL_DAY)
    assert run is not None and run.status is DayStatus.FAILED, run
    assert run.error is not None and run.error.startswith("States.TaskFailed: ")
    assert message in run.error
    assert twin.store.get_watermark() == before


def test_lambda_exception_fails_the_day_with_its_error(aws: AwsLocal, twin: Twin) -> None:
    """The ingestion is an asynchronous invocation: its error reaches the twin through the run's
    ingestion record (FAILED with the error type and text), read by the wait loop."""
    before = twin.store.get_watermark()
    # The report Lambda fails too: the run still ends with the ingestion's error.
    aws.set_faults({"lambda_error": {twin.names["report"]: "no chart"}})
    execution = boto3.client("stepfunctions").start_execution(
        stateMachineArn=twin.machine,
        name=f"{LAMBDA_FAIL_DAY}-{uuid.uuid4().hex[:8]}",
        # a stream the handler rejects: it raises ValueError, which its record carries
        input=json.dumps({"logical_date": LAMBDA_FAIL_DAY.isoformat(), "streams": ["nope"]}),
    )["executionArn"]
    desc = _wait(execution, timeout=90)
    assert desc["status"] == "FAILED", _explain(desc)
    assert desc["error"] == "ValueError"  # the Lambda's exception type, from the record
    assert "event field 'streams' must be a non-empty subset" in desc["cause"]
    events = _history(desc["executionArn"])
    entered = _entered(events)
    assert "Ingest" in entered and "Silver" not in entered
    assert entered[entered.index("Ingest") + 1 : entered.index("Ingest") + 4] == [
        "WaitForIngestion",
        "ReadIngestion",
        "IngestionOutcome",
    ]
    assert "IngestionFailed" in entered
    assert entered[-3:] == ["Report", "AfterReport", "RunFailed"]
    assert _report_page(twin, LAMBDA_FAIL_DAY) is None

    run = twin.store.get_day(LAMBDA_FAIL_DAY)
    assert run is not None and run.status is DayStatus.FAILED, run
    assert run.error is not None and run.error.startswith("ValueError: ")
    assert twin.store.get_watermark() == before
    record = twin.store.get_ingestion(execution.rsplit(":", 1)[1])
    assert record.status.value == "FAILED" and record.error_type == "ValueError"


@pytest.mark.slow
def test_an_ingestion_lambda_that_never_starts_fails_the_day_naming_its_log_group(
    aws: AwsLocal, twin: Twin
) -> None:
    """``lambda_error`` replaces the handler: the invocation dies before it touches its record
    (an init failure, a kill), so the record's start deadline lapses and the wait reports it."""
    aws.set_faults({"lambda_error": {twin.names["function"]: "init failed"}})
    started = time.monotonic()
    desc = _wait(_start(twin.machine, LAMBDA_FAIL_DAY), timeout=300)
    elapsed = time.monotonic() - started
    assert desc["status"] == "FAILED", _explain(desc)
    assert desc["error"] == "IngestionLambdaLost"
    assert "did not start invocation" in desc["cause"]
    assert f"see the log group /aws/lambda/{twin.names['function']}" in desc["cause"]
    # the start deadline (90 s) plus at most one wait (15 s), plus the run's other states
    assert elapsed < 90 + 15 + 30, elapsed


@pytest.mark.slow
def test_failing_checks_fail_the_day(aws: AwsLocal, twin: Twin) -> None:
    """Two copies of the twin on no-op Glue jobs: one whose database lacks the tables (the
    query fails: Athena's TABLE_NOT_FOUND), one whose tables are empty (gold_days_present finds
    days without gold: DataCheckFailed). Both run at once (days > L apart)."""
    before = twin.store.get_watermark()
    missing = _start(twin.noop_machines["empty"], MISSING_TABLE_DAY)
    no_gold = _start(twin.noop_machines["nogold"], NO_GOLD_DAY)

    desc = _wait(missing, timeout=180)
    steps = ["Prepare", "ClaimDay", "Ingest", "Silver", "Gold", "Checks", "MarkFailed"]
    print(f"\nmissing table: {_durations(_history(missing), steps)}")
    assert desc["status"] == "FAILED", _explain(desc)
    assert desc["error"] == "States.TaskFailed", _explain(desc)
    status = json.loads(desc["cause"])["QueryExecution"]["Status"]
    assert status["State"] == "FAILED"
    assert "TABLE_NOT_FOUND" in status["StateChangeReason"]
    run = twin.store.get_day(MISSING_TABLE_DAY)
    assert run is not None and run.status is DayStatus.FAILED, run
    assert run.error is not None and "TABLE_NOT_FOUND" in run.error

    desc = _wait(no_gold, timeout=180)
    assert desc["status"] == "FAILED", _explain(desc)
    assert desc["error"] == "DataCheckFailed", _explain(desc)
    check = json.loads(desc["cause"])
    assert check["check_name"] == "gold_days_present" and int(check["failures"]) == 3
    assert check["detail"].startswith("days without gold rows: ")
    run = twin.store.get_day(NO_GOLD_DAY)
    assert run is not None and run.status is DayStatus.FAILED, run
    assert run.error is not None and run.error.startswith("DataCheckFailed: ")
    assert "days without gold rows" in run.error
    assert twin.store.get_watermark() == before


@pytest.mark.slow
def test_stopping_the_execution_stops_the_glue_run(aws: AwsLocal, twin: Twin) -> None:
    """A ``.sync`` task that stops waiting (here: StopExecution) stops what it started."""
    sfn, glue = boto3.client("stepfunctions"), boto3.client("glue")
    execution = _start(twin.noop_machines["sleeper"], STOPPED_DAY)
    deadline = time.monotonic() + 60
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not any(r["JobRunState"] == "RUNNING" for r in runs):
        time.sleep(0.5)
        runs = glue.get_job_runs(JobName=twin.names["sleeper"])["JobRuns"]
    assert [r["JobRunState"] for r in runs] == ["RUNNING"], runs
    sfn.stop_execution(executionArn=execution, error="Test.Stop", cause="stopped by the test")
    desc = _wait(execution, timeout=30)
    assert desc["status"] == "ABORTED", desc
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = glue.get_job_run(JobName=twin.names["sleeper"], RunId=runs[0]["Id"])["JobRun"]
        if run["JobRunState"] == "STOPPED":
            break
        time.sleep(0.5)
    assert run["JobRunState"] == "STOPPED", run


# --- the interpreter's fixes, on small machines -------------------------------------------------


def _run_small(definition: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"small-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]
    return _wait(execution, timeout=30)


def test_context_times_jsonpath_and_jsonata_errors(aws: AwsLocal) -> None:
    definition = {
        "StartAt": "Times",
        "States": {
            "Times": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": "{% {'entered': $states.context.State.EnteredTime, "
                "'start': $states.context.Execution.StartTime, 'rows': $states.input.rows, "
                "'later': $fromMillis($toMillis($states.context.State.EnteredTime) + 1000)} %}",
                "Next": "Pick",
            },
            "Pick": {
                "Type": "Pass",
                "Parameters": {
                    "entered.$": "$.entered",
                    "start.$": "$.start",
                    "later.$": "$.later",
                    "cell.$": "$.rows[1].Data[0].VarCharValue",  # a definite path: one value
                    "column.$": "$.rows[*].Data[0].VarCharValue",  # indefinite: a list
                    "context_entered.$": "$$.State.EnteredTime",
                },
                "End": True,
            },
        },
    }
    rows = [{"Data": [{"VarCharValue": "failures"}]}, {"Data": [{"VarCharValue": "0"}]}]
    desc = _run_small(definition, {"rows": rows})
    assert desc["status"] == "SUCCEEDED", desc
    out = json.loads(desc["output"])
    assert out["cell"] == "0" and out["column"] == ["failures", "0"]
    sfn_time = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
    for key in ("entered", "start", "context_entered"):
        assert sfn_time.match(out[key]), out
    assert dates.parse_ts(out["start"]) <= dates.parse_ts(out["entered"])
    assert dates.parse_ts(out["later"]) - dates.parse_ts(out["entered"]) == timedelta(seconds=1)

    failing = {
        "QueryLanguage": "JSONata",
        "StartAt": "Bad",
        "States": {"Bad": {"Type": "Pass", "Output": "{% $number('x') %}", "End": True}},
    }
    desc = _run_small(failing, {})
    assert desc["status"] == "FAILED" and desc["error"] == "States.QueryEvaluationError", desc


def test_cloudformation_state_machine_from_s3_with_substitutions(aws: AwsLocal) -> None:
    bucket = f"cfn-sfn-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    hello = {"Type": "Pass", "Result": {"greeting": "${Greeting}"}, "End": True}
    definition = {"StartAt": "Hello", "States": {"Hello": hello}}
    s3.put_object(Bucket=bucket, Key="sm.asl.json", Body=json.dumps(definition).encode())
    template = {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": f"cfn-{bucket}",
                    "RoleArn": "arn:aws:iam::123456789012:role/sfn",
                    "DefinitionS3Location": {"Bucket": bucket, "Key": "sm.asl.json"},
                    "DefinitionSubstitutions": {"Greeting": "hello from s3"},
                },
            }
        },
        "Outputs": {"Arn": {"Value": {"Ref": "Machine"}}},
    }
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName=bucket, TemplateBody=json.dumps(template))
    cfn.get_waiter("stack_create_complete").wait(
        StackName=bucket, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    arn = cfn.describe_stacks(StackName=bucket)["Stacks"][0]["Outputs"][0]["OutputValue"]
    sfn = boto3.client("stepfunctions")
    assert "hello from s3" in sfn.describe_state_machine(stateMachineArn=arn)["definition"]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    desc = _wait(execution, timeout=30)
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"]) == {"greeting": "hello from s3"}


# --- jsonata-python against the npm reference, on the twin's Prepare expression ---------------


def _prepare_expression() -> str:
    """Prepare's expression as the server gets it (the definition rendered as deploy does)."""
    definition = json.loads((stepfunctions.output_dir() / stepfunctions.ASL_FILE).read_text())
    names = [*stepfunctions.SUBSTITUTIONS, "LookbackDays"]
    values = {name: str(LOOKBACK) if name == "LookbackDays" else name.lower() for name in names}
    definition = json.loads(stepfunctions.render(definition, values))
    text = definition["States"]["Prepare"]["Output"].strip()
    assert text.startswith("{%") and text.endswith("%}")
    return text[2:-2].strip()


@pytest.fixture(scope="module")
def jsonata_js() -> Path:
    """node_modules/jsonata at the version package.json pins (``npm ci`` if it is not)."""
    pinned = json.loads((REPO / "package.json").read_text())["devDependencies"]["jsonata"]
    manifest = REPO / "node_modules" / "jsonata" / "package.json"
    if not manifest.is_file() or json.loads(manifest.read_text())["version"] != pinned:
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is required for the reference JSONata (package.json)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=REPO, check=True, timeout=300)
    if shutil.which("node") is None:
        pytest.fail("node is required for the reference JSONata")
    return manifest.parent


# Many expressions at once: {"items": [[expression, $states], ...]} -> [result or {"error"}].
_EVALUATE_JS = """
const jsonata = require(process.argv[1]);
let text = '';
process.stdin.on('data', (chunk) => { text += chunk; });
process.stdin.on('end', async () => {
  const out = [];
  for (const [expression, states] of JSON.parse(text).items) {
    try {
      const r = await jsonata(expression).evaluate(undefined, { states });
      out.push(r === undefined ? null : r);
    } catch (err) { out.push({ error: err.code }); }
  }
  process.stdout.write(JSON.stringify(out));
});
"""


def _node(jsonata_js: Path, items: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    proc = subprocess.run(
        ["node", "-e", _EVALUATE_JS, str(jsonata_js)],
        input=json.dumps({"items": items}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(proc.stdout)


def _server_side(expression: str, states: dict[str, Any]) -> Any:
    """What the server evaluates: moto's composition (``$states`` declared in front), then
    jsonata-python through this package's binding."""
    declarations = encode_jsonata_variable_declarations({"$states": states})
    try:
        return evaluate(compose_jsonata_expression(expression, [declarations]))
    except Exception as exc:  # the error code, compared with node's
        return {"error": getattr(exc, "code", type(exc).__name__)}


def _states(payload: dict[str, Any], start: str, entered: str) -> dict[str, Any]:
    return {
        "input": payload,
        "context": {
            "Execution": {"Id": "arn:x", "Input": payload, "Name": "e", "StartTime": start},
            "State": {"EnteredTime": entered, "Name": "Prepare", "RetryCount": 0},
            "StateMachine": {"Id": "arn:y", "Name": "m"},
        },
    }


def test_prepare_gives_what_npm_jsonata_gives(jsonata_js: Path) -> None:
    expression = _prepare_expression()
    starts = ["2026-04-21T00:30:05.123Z", "2026-04-21T00:00:00Z", "2026-04-20T23:59:59.999Z",
              "2026-01-01T00:00:01Z", "2028-03-01T00:05:00.000Z", "2026-12-31T21:00:00Z"]  # fmt: skip
    payloads: list[dict[str, Any]] = [
        {},
        {"logical_date": "2026-03-15"},
        {"lookback_days": 0},
        {"lookback_days": 45, "logical_date": "2026-04-20"},
        {"streams": ["events"]},
        {"logical_date": "2028-03-01", "lookback_days": 1, "streams": ["medias", "visitors"]},
        {"logical_date": "2026-12-31", "lookback_days": 3},
        {"logical_date": "2026-03-15", "claimed_at": "2000-01-01T00:00:00.000Z"},
    ]
    items = []
    for i, start in enumerate(starts):
        for j, payload in enumerate(payloads):
            # entered: same instant, +40 ms, + a whole second (no fraction), as Step Functions
            entered = dates.parse_ts(start) + timedelta(milliseconds=(0, 40, 1000)[(i + j) % 3])
            items.append((expression, _states(payload, start, sfn_timestamp(entered))))
    reference = _node(jsonata_js, items)
    ours = [_server_side(expression, states) for _, states in items]
    for item, want, got in zip(items, reference, ours, strict=True):
        assert got == want, item[1]
    assert all("error" not in r for r in reference)


def test_date_functions_give_what_npm_jsonata_gives(jsonata_js: Path) -> None:
    """The functions the Prepare expression calls, on their own over edge cases, and every
    function it calls exists in jsonata-python (or in the binding's EXTRA_FUNCTIONS)."""
    expression = _prepare_expression()
    bound = set(re.findall(r"(\$\w+)\s*:=", expression))
    called = set(re.findall(r"(\$\w+)\s*\(", expression)) - bound
    assert called, expression
    ts, dp = "'[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001]Z'", "'[Y0001]-[M01]-[D01]'"
    millis = [0, 1, 999, 1000, 951782400000, 1709164800000, 1767225599999, 1767225600000,
              1776731407250, 1835395200123, 4102444800000]  # fmt: skip
    exprs = [f"$fromMillis({m})" for m in millis] + [f"$fromMillis({m}, {ts})" for m in millis]
    exprs += [f"$fromMillis({m}, {dp})" for m in millis]
    texts = ["2026-04-21T00:30:07Z", "2026-04-21T00:30:07.250Z", "2026-04-21T00:30:07.25Z",
             "2026-04-21T02:30:07.250+02:00", "2026-04-21T00:30:07.250123+00:00",
             "2028-02-29T23:59:59.999Z", "2026-04-21"]  # fmt: skip
    exprs += [f"$toMillis('{t}')" for t in texts]
    exprs += [f"$toMillis('{d}', {dp})" for d in ("2026-03-01", "2028-02-29", "1970-01-01")]
    exprs += ["$exists($states.input.x)", "$exists($states.input.logical_date)",
              "$exists($states.input.none)", "$toMillis('not a date')", "$number('2')",
              "$number('45') * 86400000", "$number('0')", "$number('x')"]  # fmt: skip
    states = _states({"x": 0, "logical_date": "2026-03-15"}, "2026-04-21T00:30:05Z", "x")
    items = [(e, states) for e in exprs]
    reference = _node(jsonata_js, items)
    for (expr, _), want in zip(items, reference, strict=True):
        assert _server_side(expr, states) == want, expr

    # $now() and $millis(): the evaluation's one timestamp, in the same text form.
    clock = ["$now()", "$millis()", "$now() = $fromMillis($millis())", "$toMillis($now()) = $millis()",
             "$now('[Y0001]-[M01]-[D01]')"]  # fmt: skip
    before = int(datetime.now(UTC).timestamp() * 1000)
    reference = _node(jsonata_js, [(e, states) for e in clock])
    ours = [_server_side(e, states) for e in clock]
    after = int(datetime.now(UTC).timestamp() * 1000)
    assert ours[2:4] == reference[2:4] == [True, True]
    for now in (ours[0], reference[0]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", now)
        assert before <= dates.parse_ts(now).timestamp() * 1000 <= after
    for millis_now in (ours[1], reference[1]):
        assert type(millis_now) is int and before <= millis_now <= after
    days = {datetime.fromtimestamp(t / 1000, UTC).date().isoformat() for t in (before, after)}
    assert ours[4] in days and reference[4] in days

    for name in called:
        present = _server_side(f"$type({name})", states)
        assert present == "function" or name.lstrip("$") in EXTRA_FUNCTIONS, name
