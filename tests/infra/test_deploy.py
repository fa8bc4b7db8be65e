"""scripts/deploy.py and scripts/smoke.py end to end against the local AWS (``wistia_awslocal``
with every extension: CloudFormation creates the whole stack, Lambda runs the deployed zip,
Athena runs the DDL and the queries on DuckDB over the Glue Data Catalog).

Each test deploys the real templates and the built dist/ through the CLI, then looks for the
resources, as the pipeline would use them: the Athena tables are queried, the Lambda is invoked.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.deploy_helpers import (
    ACCOUNT,
    REGION,
    athena_check,
    deploy_module,
    put_parquet,
    query_rows,
)
from wistia_awslocal.process import AwsLocal, start_awslocal
from wistia_dev.dist import Dist
from wistia_pipeline.config import DEFAULT_API_URL
from wistia_pipeline.publishing import PUBLISHED, tables_root
from wistia_pipeline.sql import list_queries, render_sql
from wistia_pipeline.state.dynamodb import KEY_SCHEMA

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ENV = "t1"
DATABASE = "wistia_t1"
TABLES = [
    render_sql("ddl", name, database="db", tables_uri="s3://bucket/published")
    .split("db.", 1)[1]
    .split(" ", 1)[0]
    for name in list_queries("ddl")
    if name != "00_database"
]


@pytest.fixture(scope="module")
def awslocal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsLocal]:
    """The local AWS with every extension, for this module (log under tmp)."""
    log = Path(tmp_path_factory.mktemp("awslocal")) / "server.log"
    server = start_awslocal(log_path=log)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws(awslocal: AwsLocal, monkeypatch: pytest.MonkeyPatch) -> AwsLocal:
    """boto3 (here and in the scripts run below) pointed at ``awslocal``, from a clean state."""
    awslocal.reset()
    awslocal.set_faults({})
    for name, value in awslocal.client_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return awslocal


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )


def deploy(dist: Path, *extra: str, env: str = ENV) -> list[dict]:
    proc = run("deploy.py", "--env", env, "--dist", str(dist), "--json", *extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def outputs(stack: str) -> dict[str, str]:
    desc = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in desc["Outputs"]}


def parameters(stack: str) -> dict[str, str]:
    desc = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in desc["Parameters"]}


def catalog_tables(database: str) -> set[str]:
    pages = boto3.client("glue").get_paginator("get_tables").paginate(DatabaseName=database)
    return {t["Name"] for page in pages for t in page["TableList"]}


def query_count(workgroup: str) -> int:
    return len(
        boto3.client("athena").list_query_executions(WorkGroup=workgroup)["QueryExecutionIds"]
    )


@pytest.fixture
def dist(built_dist: Dist, tmp_path: Path) -> Path:
    """A private copy of the built dist/ (tests modify it)."""
    return Path(shutil.copytree(built_dist.root, tmp_path / "dist"))


def conf_sha(dist: Path) -> str:
    """CodeSha256 of the ingestion zip (the ingest, publish and freshness Lambdas' code)."""
    zip_bytes = (dist / "lambda" / "wistia_ingest.zip").read_bytes()
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()


def test_deploy_creates_everything_then_changes_nothing(aws, dist: Path) -> None:
    changes = deploy(dist)
    targets = {(c["action"], c["target"]) for c in changes}
    assert ("created", f"stack wistia-{ENV}-bootstrap") in targets
    assert ("created", f"stack wistia-{ENV}") in targets
    artifacts = f"wistia-{ENV}-artifacts-{ACCOUNT}-{REGION}"
    mwaa = f"airflow-wistia-{ENV}-{ACCOUNT}-{REGION}"
    for key in Dist(dist).artifact_objects():
        assert ("uploaded", f"s3://{artifacts}/{key}") in targets
    for key in [*Dist(dist).mwaa_objects(), "startup.sh"]:
        assert ("uploaded", f"s3://{mwaa}/{key}") in targets

    out = outputs(f"wistia-{ENV}")
    s3 = boto3.client("s3")
    # lake
    lake = out["LakeBucketName"]
    assert out["LakeUri"] == f"s3://{lake}"
    enc = s3.get_bucket_encryption(Bucket=lake)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # run-state table
    table = boto3.client("dynamodb").describe_table(TableName=out["StateTableName"])["Table"]
    assert table["KeySchema"] == KEY_SCHEMA
    # secrets exist, without values
    sm = boto3.client("secretsmanager")
    for arn in (out["TokenSecretArn"], out["PiiKeySecretArn"]):
        assert sm.describe_secret(SecretId=arn)["ARN"] == arn
        with pytest.raises(ClientError):
            sm.get_secret_value(SecretId=arn)
    # Lambda: runtime, handler, env, concurrency, code = the dist zip
    lam = boto3.client("lambda").get_function(FunctionName=out["IngestFunctionName"])
    conf = lam["Configuration"]
    assert conf["Runtime"] == "python3.12"
    assert conf["Handler"] == "wistia_pipeline.lambda_handler.handler"
    # no reservation by default (IngestReservedConcurrency=0): it fails low-quota accounts
    assert "ReservedConcurrentExecutions" not in lam.get("Concurrency", {})
    env = conf["Environment"]["Variables"]
    assert env["WISTIA_TARGET"] == "aws"
    assert env["WISTIA_SECRET_ID"] == out["TokenSecretArn"]
    assert env["WISTIA_LAKE_URI"] == out["LakeUri"]
    assert env["WISTIA_STATE_TABLE"] == out["StateTableName"]
    assert env["WISTIA_API_URL"] == DEFAULT_API_URL  # WistiaApiUrl's default: the real API
    zip_bytes = (dist / "lambda" / "wistia_ingest.zip").read_bytes()
    assert conf["CodeSha256"] == base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
    # the report Lambda (the twin's Report state): its own zip, role and log group
    report = boto3.client("lambda").get_function(FunctionName=out["ReportFunctionName"])
    conf = report["Configuration"]
    assert out["ReportFunctionName"] == f"wistia-{ENV}-report"
    assert conf["Handler"] == "wistia_pipeline.report.lambda_handler.handler"
    assert conf["Role"].endswith(f":role/wistia-{ENV}-report-{REGION}")
    assert conf["Environment"]["Variables"]["WISTIA_ATHENA_DATABASE"] == DATABASE
    # (moto does not keep a function's LoggingConfig: test_templates checks the log group.)
    zip_bytes = (dist / "lambda" / "wistia_report.zip").read_bytes()
    assert conf["CodeSha256"] == base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
    # the publish Lambda: the ingestion zip's code with its own handler and role
    publisher = boto3.client("lambda").get_function(FunctionName=out["PublishFunctionName"])
    pub = publisher["Configuration"]
    assert pub["Handler"] == "wistia_pipeline.publish_handler.handler"
    assert pub["Role"].endswith(f":role/wistia-{ENV}-publish-{REGION}")
    ingest_zip = (dist / "lambda" / "wistia_ingest.zip").read_bytes()
    assert pub["CodeSha256"] == base64.b64encode(hashlib.sha256(ingest_zip).digest()).decode()
    # Glue jobs point at uploaded objects
    glue = boto3.client("glue")
    for job_name in (out["SilverJobName"], out["GoldJobName"]):
        job = glue.get_job(JobName=job_name)["Job"]
        assert job["GlueVersion"] == "5.0"
        assert job["WorkerType"] == "G.1X" and job["NumberOfWorkers"] == 2
        args = job["DefaultArguments"]
        assert args["--job-bookmark-option"] == "job-bookmark-disable"
        assert args["--lake_uri"] == out["LakeUri"]
        assert args["--pii_secret_id"] == out["PiiKeySecretArn"]
        assert args["--custom-logGroup-prefix"] == f"/aws-glue/jobs/wistia-{ENV}"
        for uri in (args["--extra-py-files"], job["Command"]["ScriptLocation"]):
            bucket, key = uri.removeprefix("s3://").split("/", 1)
            s3.head_object(Bucket=bucket, Key=key)
    # Glue 5's log groups (<prefix>/error, /output) are the stack's, with retention
    logs = boto3.client("logs")
    groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws-glue/jobs/wistia-{ENV}/")
    assert {g["logGroupName"]: g.get("retentionInDays") for g in groups["logGroups"]} == {
        f"/aws-glue/jobs/wistia-{ENV}/error": 30,
        f"/aws-glue/jobs/wistia-{ENV}/output": 30,
    }
    # alerts: the stack's own topic (no AlertTopicArn given), the freshness check on its schedule
    assert out["AlertTopicArn"].endswith(f":wistia-{ENV}-alerts")
    boto3.client("sns").get_topic_attributes(TopicArn=out["AlertTopicArn"])
    fresh = boto3.client("lambda").get_function(FunctionName=out["FreshnessFunctionName"])
    assert fresh["Configuration"]["Handler"] == "wistia_pipeline.freshness.handler"
    assert fresh["Configuration"]["CodeSha256"] == conf_sha(dist)
    events = boto3.client("events")
    rule = events.describe_rule(Name=f"wistia-{ENV}-freshness")
    assert rule["State"] == "ENABLED" and rule["ScheduleExpression"] == "rate(30 minutes)"
    for name in (f"wistia-{ENV}-glue-failed", f"wistia-{ENV}-twin-failed"):
        (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
        assert target["Arn"] == out["AlertTopicArn"]
    assert boto3.client("cloudwatch").get_dashboard(DashboardName=out["DashboardName"])
    # the environment's own Glue database, holding every table of ddl/, queryable in Athena
    assert out["GlueDatabaseName"] == DATABASE
    assert glue.get_database(Name=DATABASE)["Database"]["Name"] == DATABASE
    assert catalog_tables(DATABASE) == set(TABLES)
    for name in TABLES:
        assert ("created", f"athena table {DATABASE}.{name}") in targets
    workgroup = out["AthenaWorkGroupName"]
    assert query_rows(f"SELECT count(*) AS n FROM {DATABASE}.reconciliation", workgroup) == [
        ["n"],
        ["0"],
    ]
    # LakeUri and the database are exported for other stacks
    exports = {
        e["Name"]: e["Value"] for e in boto3.client("cloudformation").list_exports()["Exports"]
    }
    assert exports[f"wistia-{ENV}-LakeUri"] == out["LakeUri"]
    assert exports[f"wistia-{ENV}-GlueDatabaseName"] == DATABASE
    wg = boto3.client("athena").get_work_group(WorkGroup=workgroup)["WorkGroup"]
    assert wg["Configuration"]["BytesScannedCutoffPerQuery"] == 10737418240
    # the state machine runs the twin definition with the deployed names and lookback
    sfn = boto3.client("stepfunctions")
    definition = sfn.describe_state_machine(stateMachineArn=out["StateMachineArn"])["definition"]
    assert "${" not in definition
    prepare = json.loads(definition)["States"]["Prepare"]["Output"]
    assert "$states.input.lookback_days : $number('2')" in prepare
    assert f"FROM {DATABASE}_staging.reconciliation" in definition  # checks read the stage
    publish_state = json.loads(definition)["States"]["Publish"]
    assert publish_state["Parameters"]["FunctionName"] == pub["FunctionArn"]
    report_state = json.loads(definition)["States"]["Report"]
    assert report_state["Parameters"]["FunctionName"] == conf["FunctionArn"]
    rule = boto3.client("events").describe_rule(Name=out["ScheduleRuleName"])
    assert rule["State"] == "DISABLED"
    # MWAA bucket: the DAG, plugins.zip, requirements.txt, startup.sh naming the resources
    startup = s3.get_object(Bucket=mwaa, Key="startup.sh")["Body"].read().decode()
    assert f"export WISTIA_LAMBDA_FUNCTION='{out['IngestFunctionName']}'" in startup
    assert f"export WISTIA_GLUE_SILVER_JOB='{out['SilverJobName']}'" in startup
    assert f"export WISTIA_LAKE_URI='{out['LakeUri']}'" in startup
    assert f"export WISTIA_ATHENA_DATABASE='{DATABASE}'" in startup
    # catchup starts at the deploy day minus the lookback (2), not months back
    start = (datetime.now(UTC).date() - timedelta(days=2)).isoformat()
    assert f"export WISTIA_START_DATE='{start}'" in startup
    assert parameters(f"wistia-{ENV}")["CatchupStartDate"] == out["CatchupStartDate"] == start
    s3.head_object(Bucket=mwaa, Key="dags/wistia_daily.py")
    versions = parameters(f"wistia-{ENV}")
    head = s3.head_object(Bucket=mwaa, Key="plugins.zip")
    assert versions["PluginsS3ObjectVersion"] == head["VersionId"]

    # a second deploy of the same dist/ changes nothing (and runs no Athena DDL)
    queries = query_count(workgroup)
    proc = run("deploy.py", "--env", ENV, "--dist", str(dist), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    assert "no changes" in proc.stdout
    assert query_count(workgroup) == queries


def test_two_environments_in_one_account_do_not_collide(aws, dist: Path) -> None:
    deploy(dist)
    deploy(dist, env="t-2")
    first, second = outputs(f"wistia-{ENV}"), outputs("wistia-t-2")
    assert (first["GlueDatabaseName"], second["GlueDatabaseName"]) == (DATABASE, "wistia_t_2")
    assert catalog_tables(DATABASE) == catalog_tables("wistia_t_2") == set(TABLES)
    glue = boto3.client("glue")
    for out in (first, second):  # each table reads its own environment's lake
        table = glue.get_table(DatabaseName=out["GlueDatabaseName"], Name="events")["Table"]
        assert table["StorageDescriptor"]["Location"].startswith(out["LakeUri"] + "/")
    # Data in one environment's lake is invisible to the other's tables.
    put_parquet(second["LakeUri"], "gold/wistia/reconciliation/dt=2026-03-09", [("m1", 1, 1, 0)])
    sql = "SELECT count(*) AS n FROM {db}.reconciliation WHERE dt = '2026-03-09'"
    assert query_rows(sql.format(db="wistia_t_2"), second["AthenaWorkGroupName"])[1] == ["1"]
    assert query_rows(sql.format(db=DATABASE), first["AthenaWorkGroupName"])[1] == ["0"]


def test_ddl_is_applied_again_only_when_changed_or_missing(aws, dist: Path) -> None:
    deploy(dist)
    out = outputs(f"wistia-{ENV}")
    artifacts = f"wistia-{ENV}-artifacts-{ACCOUNT}-{REGION}"
    boto3.client("glue").delete_table(DatabaseName=DATABASE, Name="events")
    record = f"athena/ddl/{DATABASE}/reconciliation.sql"
    s3 = boto3.client("s3")
    old = s3.get_object(Bucket=artifacts, Key=record)["Body"].read().decode()
    assert old == render_sql(
        "ddl",
        "22_gold_reconciliation",
        database=DATABASE,
        tables_uri=tables_root(out["LakeUri"], PUBLISHED),
    )
    s3.put_object(Bucket=artifacts, Key=record, Body=old.replace("bigint", "int").encode())
    changes = deploy(dist)
    assert {(c["action"], c["target"], c["detail"]) for c in changes} == {
        ("created", f"athena table {DATABASE}.events", "ddl/10_silver_events.sql"),
        (
            "replaced",
            f"athena table {DATABASE}.reconciliation",
            "ddl/22_gold_reconciliation.sql, DDL changed",
        ),
    }
    assert catalog_tables(DATABASE) == set(TABLES)
    assert deploy(dist) == []


def test_a_failing_ddl_query_fails_with_athenas_reason(aws, dist: Path) -> None:
    deploy(dist)
    workgroup = outputs(f"wistia-{ENV}")["AthenaWorkGroupName"]
    deploy_script = deploy_module()
    with pytest.raises(deploy_script.DeployError) as info:
        deploy_script.run_athena(
            boto3.client("athena"),
            "CREATE EXTERNAL TABLE IF NOT EXISTS nosuchdb.t (a string) "
            "STORED AS PARQUET LOCATION 's3://nowhere/t/'",
            workgroup,
        )
    assert "FAILED" in str(info.value)
    assert "Database does not exist: nosuchdb" in str(info.value)


def _other_zip(path: Path, extra: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr(extra, "# changed\n")
    path.write_bytes(buf.getvalue())


def test_deploy_pushes_only_what_changed(aws, dist: Path) -> None:
    extra_dag = dist / "mwaa" / "dags" / "old_dag.py"
    extra_dag.write_text("# a DAG that will be deleted from the repo\n")
    deploy(dist)
    mwaa = f"airflow-wistia-{ENV}-{ACCOUNT}-{REGION}"
    s3 = boto3.client("s3")
    s3.head_object(Bucket=mwaa, Key="dags/old_dag.py")
    requirements_version = parameters(f"wistia-{ENV}")["RequirementsS3ObjectVersion"]

    extra_dag.unlink()
    _other_zip(dist / "mwaa" / "plugins.zip", "wistia_airflow/_changed.py")
    _other_zip(dist / "lambda" / "wistia_ingest.zip", "_changed.py")
    _other_zip(dist / "lambda" / "wistia_report.zip", "_changed.py")
    changes = deploy(dist)
    artifacts = f"wistia-{ENV}-artifacts-{ACCOUNT}-{REGION}"
    assert {(c["action"], c["target"]) for c in changes} == {
        ("deleted", f"s3://{mwaa}/dags/old_dag.py"),
        ("replaced", f"s3://{mwaa}/plugins.zip"),
        ("replaced", f"s3://{artifacts}/lambda/wistia_ingest.zip"),
        ("replaced", f"s3://{artifacts}/lambda/wistia_report.zip"),
        ("updated", f"stack wistia-{ENV}"),
        ("updated", f"lambda wistia-{ENV}-ingest"),
        ("updated", f"lambda wistia-{ENV}-report"),
        # the publish and freshness Lambdas run the ingestion zip's code
        ("updated", f"lambda wistia-{ENV}-publish"),
        ("updated", f"lambda wistia-{ENV}-freshness"),
    }
    stack_change = next(c for c in changes if c["target"] == f"stack wistia-{ENV}")
    assert stack_change["detail"] == "parameters PluginsS3ObjectVersion"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=mwaa, Key="dags/old_dag.py")
    params = parameters(f"wistia-{ENV}")
    assert (
        params["PluginsS3ObjectVersion"]
        == s3.head_object(Bucket=mwaa, Key="plugins.zip")["VersionId"]
    )
    assert params["RequirementsS3ObjectVersion"] == requirements_version
    for function in ("ingest", "report"):
        code = boto3.client("lambda").get_function(FunctionName=f"wistia-{ENV}-{function}")
        new_zip = (dist / "lambda" / f"wistia_{function}.zip").read_bytes()
        expected = base64.b64encode(hashlib.sha256(new_zip).digest()).decode()
        assert code["Configuration"]["CodeSha256"] == expected
    assert deploy(dist) == []


def test_deploy_keeps_previous_parameters_and_validates(aws, dist: Path) -> None:
    deploy(dist, "--param", "GlueNumberOfWorkers=4", "--param", "CatchupStartDate=2026-03-01")
    assert deploy(dist) == []  # the omitted parameters keep their previous value
    assert parameters(f"wistia-{ENV}")["GlueNumberOfWorkers"] == "4"
    # A new lookback reaches MWAA and the twin's default; the chosen catchup start stays.
    changes = deploy(dist, "--param", "LookbackDays=5")
    assert {c["target"] for c in changes} >= {f"stack wistia-{ENV}"}
    out = outputs(f"wistia-{ENV}")
    definition = boto3.client("stepfunctions").describe_state_machine(
        stateMachineArn=out["StateMachineArn"]
    )["definition"]
    assert "$states.input.lookback_days : $number('5')" in definition
    mwaa = f"airflow-wistia-{ENV}-{ACCOUNT}-{REGION}"
    startup = boto3.client("s3").get_object(Bucket=mwaa, Key="startup.sh")["Body"].read().decode()
    assert "export WISTIA_LOOKBACK_DAYS='5'" in startup
    assert "export WISTIA_START_DATE='2026-03-01'" in startup
    proc = run("deploy.py", "--env", ENV, "--dist", str(dist), "--param", "NoSuchParam=1")
    assert proc.returncode == 1 and "NoSuchParam" in proc.stderr
    proc = run(
        "deploy.py", "--env", ENV, "--dist", str(dist), "--param", "CreateMwaaEnvironment=true"
    )
    assert proc.returncode == 1 and "MwaaVpcId" in proc.stderr


def _prepared_input(sfn, execution_arn: str, timeout: float = 60) -> dict:
    """What the twin's Prepare state handed on (read from the execution's history)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        for event in events:
            details = event.get("stateExitedEventDetails") or {}
            if details.get("name") == "Prepare":
                return json.loads(details["output"])
        time.sleep(0.2)
    raise TimeoutError(f"{execution_arn} never left Prepare")


def test_the_deployed_twin_defaults_to_the_stacks_lookback(aws, dist: Path) -> None:
    """LookbackDays reaches the Step Functions twin: executed on the local AWS, the deployed
    definition's Prepare defaults lookback_days (and the overlap bounds) to the parameter."""
    deploy(dist, "--param", "LookbackDays=5")
    out = outputs(f"wistia-{ENV}")
    sfn = boto3.client("stepfunctions")
    execution = sfn.start_execution(
        stateMachineArn=out["StateMachineArn"], input=json.dumps({"logical_date": "2026-03-09"})
    )["executionArn"]
    try:
        prepared = _prepared_input(sfn, execution)
    finally:
        with contextlib.suppress(ClientError):
            sfn.stop_execution(executionArn=execution)
    assert prepared["lookback_days"] == 5
    assert (prepared["overlap_from"], prepared["overlap_to"]) == ("2026-03-04", "2026-03-14")


def test_reconciliation_check_on_the_deployed_tables(aws, dist: Path) -> None:
    """The newest-day tolerance rule on the tables deploy created, through Athena: a healthy
    newest day whose events trail its plays passes; a real gap on an older day fails."""
    deploy(dist)
    out = outputs(f"wistia-{ENV}")
    days = [date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10)]
    recon = "gold/wistia/reconciliation/dt={}"
    put_parquet(out["LakeUri"], recon.format(days[0]), [("m1", 4, 4, 0), ("m2", 2, 2, 0)])
    put_parquet(out["LakeUri"], recon.format(days[1]), [("m1", 3, 3, 0)])
    # D: 2 of m1's 5 plays are late events /stats/events has not returned yet.
    put_parquet(out["LakeUri"], recon.format(days[2]), [("m1", 3, 5, -2), ("m2", 1, 1, 0)])
    check = athena_check(out, DATABASE, "reconciliation_gap", days[0], days[2])
    assert check.passed, check
    # A real gap on an older day: 1 event for 3 plays on D-1.
    put_parquet(out["LakeUri"], recon.format(days[1]), [("m1", 1, 3, -2)], part=0)
    check = athena_check(out, DATABASE, "reconciliation_gap", days[0], days[2])
    assert check.failures == 1 and f"{days[1]}/m1: 1 vs 3" in check.detail


def _fill_token(out: dict[str, str], token: str) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId=out["TokenSecretArn"], SecretString=json.dumps({"api_token": token})
    )


def test_smoke_runs_the_deployed_lambda_against_wistia_api_url(
    aws, dist: Path, simulator_factory
) -> None:
    """WistiaApiUrl reaches the Lambda: the deployed zip's dry run reads the token from Secrets
    Manager and calls the simulator (a wrong token fails the smoke test)."""
    sim = simulator_factory(seed=3, media_count=3)
    deploy(dist, "--param", f"WistiaApiUrl={sim.url}")
    out = outputs(f"wistia-{ENV}")
    env = boto3.client("lambda").get_function_configuration(FunctionName=out["IngestFunctionName"])[
        "Environment"
    ]["Variables"]
    assert env["WISTIA_API_URL"] == sim.url
    _fill_token(out, sim.token)
    proc = run("smoke.py", "--env", ENV, "--day", "2026-03-09")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"ok  lambda wistia-{ENV}-ingest dry run for 2026-03-09" in proc.stdout
    summary = json.loads(proc.stdout.split(": ", 1)[1].splitlines()[0])
    assert summary["dry_run"] is True and summary["logical_date"] == "2026-03-09"
    assert summary["run_id"].startswith("smoke__")
    assert "skipped  MWAA DAG run: the stack has no MWAA environment" in proc.stdout

    _fill_token(out, "not-the-token")
    proc = run("smoke.py", "--env", ENV, "--day", "2026-03-09")
    assert proc.returncode == 1
    assert "smoke failed: Lambda wistia-t1-ingest failed (Unhandled)" in proc.stderr


def test_smoke_fails_without_a_stack(aws) -> None:
    proc = run("smoke.py", "--env", "nope")
    assert proc.returncode == 1
    assert "wistia-nope does not exist" in proc.stderr
