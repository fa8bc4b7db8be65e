"""scripts/deploy.py and scripts/smoke.py end to end against moto server (CloudFormation and all).

Each test deploys the real templates and the built dist/ through the CLI, then looks for the
resources in moto, as the pipeline would use them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from wistia_dev.dist import Dist
from wistia_pipeline.state.dynamodb import KEY_SCHEMA

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ENV = "t1"
ACCOUNT = "123456789012"
REGION = "us-east-1"


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )


def deploy(dist: Path, *extra: str) -> list[dict]:
    proc = run("deploy.py", "--env", ENV, "--dist", str(dist), "--json", *extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def outputs(stack: str) -> dict[str, str]:
    desc = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in desc["Outputs"]}


def parameters(stack: str) -> dict[str, str]:
    desc = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in desc["Parameters"]}


@pytest.fixture
def dist(built_dist: Dist, tmp_path: Path) -> Path:
    """A private copy of the built dist/ (tests modify it)."""
    return Path(shutil.copytree(built_dist.root, tmp_path / "dist"))


def test_deploy_creates_everything_then_changes_nothing(cfn_aws, dist: Path) -> None:
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
    assert lam["Concurrency"]["ReservedConcurrentExecutions"] == 1
    env = conf["Environment"]["Variables"]
    assert env["WISTIA_TARGET"] == "aws"
    assert env["WISTIA_SECRET_ID"] == out["TokenSecretArn"]
    assert env["WISTIA_LAKE_URI"] == out["LakeUri"]
    assert env["WISTIA_STATE_TABLE"] == out["StateTableName"]
    zip_bytes = (dist / "lambda" / "wistia_ingest.zip").read_bytes()
    assert conf["CodeSha256"] == base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
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
        for uri in (args["--extra-py-files"], job["Command"]["ScriptLocation"]):
            bucket, key = uri.removeprefix("s3://").split("/", 1)
            s3.head_object(Bucket=bucket, Key=key)
    assert glue.get_database(Name=out["GlueDatabaseName"])["Database"]["Name"] == "wistia"
    wg = boto3.client("athena").get_work_group(WorkGroup=out["AthenaWorkGroupName"])["WorkGroup"]
    assert wg["Configuration"]["BytesScannedCutoffPerQuery"] == 10737418240
    # the state machine runs the twin definition with the deployed names
    sfn = boto3.client("stepfunctions")
    definition = sfn.describe_state_machine(stateMachineArn=out["StateMachineArn"])["definition"]
    assert "${" not in definition
    assert json.loads(definition)["StartAt"]
    rule = boto3.client("events").describe_rule(Name=out["ScheduleRuleName"])
    assert rule["State"] == "DISABLED"
    # MWAA bucket: the DAG, plugins.zip, requirements.txt, startup.sh naming the resources
    startup = s3.get_object(Bucket=mwaa, Key="startup.sh")["Body"].read().decode()
    assert f"export WISTIA_LAMBDA_FUNCTION='{out['IngestFunctionName']}'" in startup
    assert f"export WISTIA_GLUE_SILVER_JOB='{out['SilverJobName']}'" in startup
    assert f"export WISTIA_LAKE_URI='{out['LakeUri']}'" in startup
    s3.head_object(Bucket=mwaa, Key="dags/wistia_daily.py")
    versions = parameters(f"wistia-{ENV}")
    head = s3.head_object(Bucket=mwaa, Key="plugins.zip")
    assert versions["PluginsS3ObjectVersion"] == head["VersionId"]

    # a second deploy of the same dist/ changes nothing
    proc = run("deploy.py", "--env", ENV, "--dist", str(dist), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    assert "no changes" in proc.stdout


def _other_zip(path: Path, extra: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr(extra, "# changed\n")
    path.write_bytes(buf.getvalue())


def test_deploy_pushes_only_what_changed(cfn_aws, dist: Path) -> None:
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
    changes = deploy(dist)
    artifacts = f"wistia-{ENV}-artifacts-{ACCOUNT}-{REGION}"
    assert {(c["action"], c["target"]) for c in changes} == {
        ("deleted", f"s3://{mwaa}/dags/old_dag.py"),
        ("replaced", f"s3://{mwaa}/plugins.zip"),
        ("replaced", f"s3://{artifacts}/lambda/wistia_ingest.zip"),
        ("updated", f"stack wistia-{ENV}"),
        ("updated", f"lambda wistia-{ENV}-ingest"),
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
    code = boto3.client("lambda").get_function(FunctionName=f"wistia-{ENV}-ingest")
    new_zip = (dist / "lambda" / "wistia_ingest.zip").read_bytes()
    expected = base64.b64encode(hashlib.sha256(new_zip).digest()).decode()
    assert code["Configuration"]["CodeSha256"] == expected
    assert deploy(dist) == []


def test_deploy_keeps_previous_parameters_and_validates(cfn_aws, dist: Path) -> None:
    deploy(dist, "--param", "GlueNumberOfWorkers=4")
    assert deploy(dist) == []  # the omitted parameter keeps its previous value
    assert parameters(f"wistia-{ENV}")["GlueNumberOfWorkers"] == "4"
    proc = run("deploy.py", "--env", ENV, "--dist", str(dist), "--param", "NoSuchParam=1")
    assert proc.returncode == 1 and "NoSuchParam" in proc.stderr
    proc = run(
        "deploy.py", "--env", ENV, "--dist", str(dist), "--param", "CreateMwaaEnvironment=true"
    )
    assert proc.returncode == 1 and "MwaaVpcId" in proc.stderr


def test_smoke_invokes_the_deployed_lambda(cfn_aws, dist: Path) -> None:
    deploy(dist)
    proc = run("smoke.py", "--env", ENV, "--day", "2026-03-09")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # moto's docker-less Lambda echoes the event: the dry-run payload reached the function
    assert f"ok  lambda wistia-{ENV}-ingest dry run for 2026-03-09" in proc.stdout
    echoed = json.loads(proc.stdout.split(": ", 1)[1].splitlines()[0])
    assert echoed["dry_run"] is True and echoed["logical_date"] == "2026-03-09"
    assert echoed["run_id"].startswith("smoke__")
    assert "skipped  MWAA DAG run: the stack has no MWAA environment" in proc.stdout


def test_smoke_fails_without_a_stack(cfn_aws) -> None:
    proc = run("smoke.py", "--env", "nope")
    assert proc.returncode == 1
    assert "wistia-nope does not exist" in proc.stderr
