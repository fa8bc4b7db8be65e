"""Deploy or update one environment of the Wistia pipeline: ``make deploy ENV=dev``.

    python scripts/deploy.py --env dev [--dist dist] [--param Key=Value ...] [--json]

Steps (each prints what it changed; a re-run with nothing changed changes nothing):

1. stack ``wistia-<env>-bootstrap`` (include/infra/bootstrap.yaml): artifacts + MWAA buckets;
2. uploads ``dist/`` (built by ``python -m wistia_dev.dist``): the artifacts
   bucket gets the two Lambda zips, the Glue zip and scripts and the state machine definition; the MWAA
   bucket gets ``dags/`` (synced: DAG files deleted from the repo are deleted from the bucket),
   ``plugins.zip``, ``requirements.txt`` and a generated ``startup.sh`` that exports the
   environment's resource names for the DAG. An object is uploaded only when its sha256 differs
   from the one stored with the bucket's current object;
3. stack ``wistia-<env>`` (include/infra/pipeline.yaml), with the current object versions of
   ``plugins.zip`` / ``requirements.txt`` / ``startup.sh``: CloudFormation updates the MWAA
   environment (when ``CreateMwaaEnvironment=true``) only when one of them changed. Parameters
   not given keep their previous value on updates;
4. the Athena tables: every ``include/wistia_pipeline/sql/files/ddl/*.sql`` (the one source of
   the lake's schema), rendered for the stack's Glue database over the lake's ``published/``
   manifests and for ``<database>_staging`` over ``staging/`` (wistia_pipeline.publishing), in
   ``list_queries("ddl")``
   order, through Athena (StartQueryExecution in the stack's workgroup, waited for SUCCEEDED; any
   other end fails the deploy with the query's StateChangeReason). Idempotent: a table is created
   when the catalog lacks it, dropped and created again when its rendered DDL differs from the one
   last applied (kept in the artifacts bucket under ``athena/ddl/<database>/<table>.sql``), and
   left alone otherwise. The tables are external (the data stays in the lake) and their ``dt``
   partitions are projected, so a re-create loses nothing; a table no longer in ``ddl/`` is left
   in place;
5. the ingestion and report Lambdas' code (each when its sha256 differs from the deployed
   code: CloudFormation does not see a new object behind an unchanged ``S3Key``) and the state
   machine's definition (when it differs from the deployed one).

Per-environment parameters chosen on the first deploy and kept afterwards (like every parameter
not given): ``GlueDatabaseName`` (default ``wistia_<env>`` with ``-`` -> ``_``, so two
environments in one account never share a database) and ``CatchupStartDate`` (default: the
deploy day (UTC) minus ``LookbackDays``; exported to MWAA as ``WISTIA_START_DATE``, so a first
unpause catches up only the lookback, never months). ``--param Name=value`` changes either.

The MWAA environment's Airflow version (``MwaaAirflowVersion``) is the one dist/ was packaged for
(``make package MWAA_AIRFLOW_VERSION=x.y.z``, its requirements.txt's constraint line). Before any
change the deploy refuses a version ``compat/mwaa-versions.toml`` does not list, a
``--param MwaaAirflowVersion`` other than the packaged one, and, without that --param, an existing
stack on another version (changing an environment's version is explicit:
``make deploy ENV=dev MWAA_AIRFLOW_VERSION=x.y.z``).

boto3 honours ``AWS_ENDPOINT_URL`` (the tests run this against the local AWS, ``wistia_awslocal``). Credentials come
from the usual chain (GitHub OIDC role in CI).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError, WaiterError

REPO = Path(__file__).resolve().parents[1]
INFRA = REPO / "include" / "infra"
BOOTSTRAP_TEMPLATE = INFRA / "bootstrap.yaml"
PIPELINE_TEMPLATE = INFRA / "pipeline.yaml"
SHA_METADATA = "sha256"  # S3 user metadata key holding the uploaded file's sha256
STARTUP_KEY = "startup.sh"
AIRFLOW_VERSION_PARAM = "MwaaAirflowVersion"
MWAA_VERSION_PARAMS = {
    "plugins.zip": "PluginsS3ObjectVersion",
    "requirements.txt": "RequirementsS3ObjectVersion",
    STARTUP_KEY: "StartupScriptS3ObjectVersion",
}
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
DDL_RECORD_PREFIX = "athena/ddl/"  # artifacts bucket: the DDL last applied, per database/table
ATHENA_TIMEOUT_SECONDS = 600


class DeployError(RuntimeError):
    """The deployment cannot proceed (bad input or a failed stack operation)."""


@dataclass(frozen=True)
class Change:
    """One thing the deploy changed (``action``: created, updated, uploaded, deleted, ...)."""

    target: str
    action: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.action:>9}  {self.target}" + (f"  ({self.detail})" if self.detail else "")


def stack_names(env: str) -> tuple[str, str]:
    """(bootstrap stack, pipeline stack) of an environment."""
    return f"wistia-{env}-bootstrap", f"wistia-{env}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- CloudFormation


def describe_stack(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def stack_parameters(cfn: Any, name: str) -> dict[str, str]:
    """Current parameter values of stack ``name`` (empty when it does not exist)."""
    stack = describe_stack(cfn, name) or {}
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}


def stack_outputs(cfn: Any, name: str) -> dict[str, str]:
    """Outputs of stack ``name``; raises DeployError when the stack does not exist."""
    stack = describe_stack(cfn, name)
    if stack is None:
        raise DeployError(f"stack {name} does not exist (run `make deploy ENV=...` first)")
    return {out["OutputKey"]: out["OutputValue"] for out in stack.get("Outputs", [])}


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that accepts CloudFormation short-form tags (!Ref, !Sub, ...)."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def template_parameters(body: str) -> dict[str, str | None]:
    """Parameter name -> default (as a string, None without a default) of a template."""
    declared = yaml.load(body, Loader=_CfnLoader).get("Parameters", {})  # noqa: S506 (safe loader)
    return {
        name: None if "Default" not in spec else str(spec["Default"])
        for name, spec in declared.items()
    }


def planned_parameters(cfn: Any, name: str, template: Path, params: Mapping[str, str]) -> dict:
    """The values stack ``name`` will have: template defaults, then its current values, then
    ``params``."""
    planned = {k: v for k, v in template_parameters(template.read_text()).items() if v is not None}
    current = describe_stack(cfn, name)
    if current is not None:
        planned |= {p["ParameterKey"]: p.get("ParameterValue", "") for p in current["Parameters"]}
    return planned | dict(params)


def _wait(cfn: Any, waiter: str, name: str, delay: int) -> None:
    try:
        cfn.get_waiter(waiter).wait(
            StackName=name, WaiterConfig={"Delay": delay, "MaxAttempts": max(1, 5400 // delay)}
        )
    except WaiterError as exc:
        events = cfn.describe_stack_events(StackName=name).get("StackEvents", [])
        failed = [
            f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
            for e in events
            if e.get("ResourceStatus", "").endswith("FAILED")
        ]
        raise DeployError(f"stack {name}: {waiter} failed: {exc}; {failed[:5]}") from exc


def deploy_stack(
    cfn: Any, name: str, template: Path, params: Mapping[str, str], delay: int = 5
) -> Change | None:
    """Create or update stack ``name``; None when template and parameters are unchanged.

    On update, declared parameters missing from ``params`` keep their previous value.
    """
    body = template.read_text(encoding="utf-8")
    declared = template_parameters(body)
    unknown = set(params) - set(declared)
    if unknown:
        raise DeployError(f"{template.name} has no parameter(s) {sorted(unknown)}")
    current = describe_stack(cfn, name)
    if current is not None and current["StackStatus"] == "ROLLBACK_COMPLETE":
        raise DeployError(f"stack {name} is ROLLBACK_COMPLETE: delete it, then deploy again")
    if current is None:
        cfn.create_stack(
            StackName=name,
            TemplateBody=body,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
            Capabilities=CAPABILITIES,
            Tags=[{"Key": "project", "Value": "wistia-pipeline"}],
        )
        _wait(cfn, "stack_create_complete", name, delay)
        return Change(f"stack {name}", "created")
    previous = {p["ParameterKey"]: p.get("ParameterValue", "") for p in current["Parameters"]}
    merged = {key: params.get(key, previous.get(key)) for key in declared}
    old_body = cfn.get_template(StackName=name)["TemplateBody"]
    same_params = all(
        previous.get(key) == value for key, value in merged.items() if value is not None
    )
    if old_body == body and same_params:
        return None
    # Values equal to the template default are left out (CloudFormation applies the default);
    # the others are sent explicitly, which keeps previous values like UsePreviousValue does
    # (no NoEcho parameters here) and also works on moto, which resolves UsePreviousValue
    # only for parameters passed explicitly before.
    update_params = [
        {"ParameterKey": k, "ParameterValue": v}
        for k, v in merged.items()
        if v is not None and (k in params or v != declared[k])
    ]
    try:
        cfn.update_stack(
            StackName=name, TemplateBody=body, Parameters=update_params, Capabilities=CAPABILITIES
        )
    except ClientError as exc:
        if "No updates are to be performed" in str(exc):
            return None
        raise
    _wait(cfn, "stack_update_complete", name, delay)
    changed = sorted(k for k, v in merged.items() if v is not None and previous.get(k) != v)
    detail = "template" if old_body != body else ""
    if changed:
        detail = ", ".join(filter(None, [detail, "parameters " + ", ".join(changed)]))
    return Change(f"stack {name}", "updated", detail)


# --------------------------------------------------------------------------- S3


def ensure_versioning(s3: Any, bucket: str) -> Change | None:
    """MWAA needs object versions: enable versioning if the bucket has it off."""
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled":
        return None
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return Change(f"s3://{bucket}", "fixed", "versioning was off; enabled (MWAA requires it)")


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def put_if_changed(s3: Any, bucket: str, key: str, data: bytes) -> tuple[Change | None, str | None]:
    """Upload ``data`` unless the current object has the same sha256; (change, version id)."""
    digest = _sha256(data)
    head = _head(s3, bucket, key)
    if head is not None and head.get("Metadata", {}).get(SHA_METADATA) == digest:
        return None, head.get("VersionId")
    response = s3.put_object(Bucket=bucket, Key=key, Body=data, Metadata={SHA_METADATA: digest})
    action = "uploaded" if head is None else "replaced"
    return Change(f"s3://{bucket}/{key}", action, f"sha256 {digest[:12]}"), response.get(
        "VersionId"
    )


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


def sync_prefix(
    s3: Any, bucket: str, prefix: str, files: Mapping[str, Path]
) -> tuple[list[Change], dict[str, str | None]]:
    """Make ``prefix`` hold exactly ``files`` (key -> path): upload changed, delete extra keys."""
    changes: list[Change] = []
    versions: dict[str, str | None] = {}
    for key, path in sorted(files.items()):
        if not key.startswith(prefix):
            raise DeployError(f"{key} is outside {prefix!r}")
        change, version = put_if_changed(s3, bucket, key, path.read_bytes())
        versions[key] = version
        if change:
            changes.append(change)
    if prefix:  # deletion only inside a prefix this deploy owns (dags/)
        for key in sorted(set(list_keys(s3, bucket, prefix)) - set(files)):
            s3.delete_object(Bucket=bucket, Key=key)
            changes.append(Change(f"s3://{bucket}/{key}", "deleted", "no longer in the repo"))
    return changes, versions


# --------------------------------------------------------------------------- names


def resource_names(env: str, account: str, region: str) -> dict[str, str]:
    """The names pipeline.yaml gives an environment's resources (checked against its outputs)."""
    return {
        "LakeUri": f"s3://wistia-{env}-lake-{account}-{region}",
        "IngestFunctionName": f"wistia-{env}-ingest",
        "ReportFunctionName": f"wistia-{env}-report",
        "PublishFunctionName": f"wistia-{env}-publish",
        "SilverJobName": f"wistia-{env}-silver",
        "GoldJobName": f"wistia-{env}-gold",
        "StateTableName": f"wistia-{env}-state",
        "AthenaWorkGroupName": f"wistia-{env}",
    }


def alert_topic_arn(env: str, given: str, account: str, region: str, partition: str = "aws") -> str:
    """The topic the stack's alerts go to, so failed DAG runs go there too: ``AlertTopicArn``
    when given, else the stack's own ``AlertTopic`` (pipeline.yaml names it
    ``wistia-<env>-alerts``; its ARN is known before the stack exists, which startup.sh needs)."""
    return given or f"arn:{partition}:sns:{region}:{account}:wistia-{env}-alerts"


def default_glue_database(env: str) -> str:
    """``wistia_<env>`` with ``-`` -> ``_``: one Glue database per environment (Athena names are
    ``[a-z0-9_]``; EnvName is ``[a-z][a-z0-9-]``)."""
    return "wistia_" + env.replace("-", "_")


def default_start_date(lookback_days: str | int, today: date | None = None) -> str:
    """Where catchup starts when nobody chose: the deploy day (UTC) minus the lookback."""
    today = today or datetime.now(UTC).date()
    return (today - timedelta(days=int(lookback_days))).isoformat()


def environment_parameters(
    env: str, planned: Mapping[str, str], today: date | None = None
) -> dict[str, str]:
    """``GlueDatabaseName`` and ``CatchupStartDate`` as the stack will have them: given or
    previous values win; empty ones get the environment's default (chosen once, then kept)."""
    return {
        "GlueDatabaseName": planned.get("GlueDatabaseName") or default_glue_database(env),
        "CatchupStartDate": planned.get("CatchupStartDate")
        or default_start_date(planned.get("LookbackDays") or 0, today),
    }


def airflow_environment(
    names: Mapping[str, str],
    glue_database: str,
    pii_secret_id: str,
    lookback_days: str,
    alert_topic_arn: str = "",
    start_date: str = "",
) -> dict[str, str]:
    """Environment variables the DAG's aws target reads (see wistia_pipeline.config)."""
    from wistia_pipeline.config import SETTINGS

    alerts = {SETTINGS["alert_topic_arn"].env: alert_topic_arn} if alert_topic_arn else {}
    start = {"WISTIA_START_DATE": start_date} if start_date else {}  # a parse-time env read
    return {
        **alerts,
        **start,
        "WISTIA_TARGET": "aws",
        SETTINGS["lake_uri"].env: names["LakeUri"],
        SETTINGS["state_table"].env: names["StateTableName"],
        SETTINGS["pii_secret_id"].env: pii_secret_id,
        SETTINGS["lookback_days"].env: lookback_days,
        SETTINGS["lambda_function"].env: names["IngestFunctionName"],
        SETTINGS["publish_function"].env: names["PublishFunctionName"],
        SETTINGS["silver_job"].env: names["SilverJobName"],
        SETTINGS["gold_job"].env: names["GoldJobName"],
        SETTINGS["athena_database"].env: glue_database,
        SETTINGS["athena_workgroup"].env: names["AthenaWorkGroupName"],
    }


def render_startup_script(env: str, variables: Mapping[str, str]) -> bytes:
    """MWAA startup script exporting ``variables`` (names only; never secret values)."""
    lines = [
        "#!/bin/sh",
        f"# Generated by scripts/deploy.py for environment {env}; MWAA runs it before Airflow.",
        "# Resource names only: secrets stay in Secrets Manager.",
    ]
    for key, value in sorted(variables.items()):
        if "'" in value:
            raise DeployError(f"{key} value contains a quote: {value!r}")
        lines.append(f"export {key}='{value}'")
    return ("\n".join(lines) + "\n").encode()


def render_definition(definition_text: str, substitutions: Mapping[str, str]) -> str:
    """The ASL with its ``${Name}`` placeholders filled in, as CloudFormation's
    DefinitionSubstitutions do (``wistia_pipeline.stepfunctions.render``)."""
    from wistia_pipeline.stepfunctions import render

    try:
        return render(json.loads(definition_text), substitutions)
    except KeyError as exc:
        raise DeployError(f"state machine definition: {exc.args[0]}") from None


# --------------------------------------------------------------------------- Athena tables

_DDL_TARGET = re.compile(
    r"CREATE\s+(?:(?P<database>DATABASE|SCHEMA)|EXTERNAL\s+TABLE)\s+IF\s+NOT\s+EXISTS\s+"
    r"(?P<name>[a-z0-9_]+(?:\.[a-z0-9_]+)?)\s",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DdlStatement:
    """One rendered ``ddl/<name>.sql``: the database (``table`` None) or one table of it."""

    name: str
    sql: str
    table: str | None


def ddl_statements(database: str, tables_uri: str) -> list[DdlStatement]:
    """Every DDL file rendered for ``database`` over ``tables_uri`` (the lake's ``published``
    or ``staging`` manifests, see wistia_pipeline.publishing), in execution order."""
    from wistia_pipeline.sql import list_queries, render_sql

    statements = []
    for name in list_queries("ddl"):
        sql = render_sql("ddl", name, database=database, tables_uri=tables_uri)
        match = _DDL_TARGET.match(sql)
        if match is None:
            raise DeployError(
                f"ddl/{name}.sql is not CREATE DATABASE|EXTERNAL TABLE IF NOT EXISTS <name>"
            )
        target = match["name"].lower()
        db, _, table = target.rpartition(".") if not match["database"] else (target, "", "")
        if db != database:
            raise DeployError(f"ddl/{name}.sql creates {target}, outside database {database}")
        statements.append(DdlStatement(name, sql, table or None))
    return statements


def run_athena(
    athena: Any,
    sql: str,
    workgroup: str,
    database: str | None = None,
    timeout: float = ATHENA_TIMEOUT_SECONDS,
) -> str:
    """Run ``sql`` in ``workgroup`` (its result location) and wait; the query id on SUCCEEDED,
    DeployError with Athena's StateChangeReason on FAILED / CANCELLED / timeout."""
    context = {"QueryExecutionContext": {"Database": database}} if database else {}
    query_id = athena.start_query_execution(QueryString=sql, WorkGroup=workgroup, **context)[
        "QueryExecutionId"
    ]
    deadline, delay = time.monotonic() + timeout, 0.1
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        state = status.get("State")
        if state == "SUCCEEDED":
            return query_id
        first_line = sql.strip().splitlines()[0] if sql.strip() else ""
        if state in ("FAILED", "CANCELLED"):
            reason = status.get("StateChangeReason") or "no reason given"
            raise DeployError(f"Athena query {query_id} ({first_line}) {state}: {reason}")
        if time.monotonic() > deadline:
            athena.stop_query_execution(QueryExecutionId=query_id)
            raise DeployError(
                f"Athena query {query_id} ({first_line}) still {state} after {timeout}s"
            )
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def _exists(call: Any, **kwargs: Any) -> bool:
    try:
        call(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
            return False
        raise
    return True


def _read_text(s3: Any, bucket: str, key: str) -> str | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def apply_athena_tables(
    session: Any, database: str, workgroup: str, lake_uri: str, record_bucket: str
) -> list[Change]:
    """Create / re-create the Athena tables of ``ddl/`` (see step 4 of the module doc) in the
    published database and in its staging twin (where the checks read a run's output)."""
    from wistia_pipeline.publishing import PUBLISHED, STAGING, staging_database, tables_root

    changes: list[Change] = []
    for db, area in ((database, PUBLISHED), (staging_database(database), STAGING)):
        changes += _apply_ddl(session, db, workgroup, tables_root(lake_uri, area), record_bucket)
    return changes


def _apply_ddl(
    session: Any, database: str, workgroup: str, tables_uri: str, record_bucket: str
) -> list[Change]:
    athena, glue, s3 = (session.client(s) for s in ("athena", "glue", "s3"))
    changes: list[Change] = []
    for statement in ddl_statements(database, tables_uri):
        if statement.table is None:
            if not _exists(glue.get_database, Name=database):
                run_athena(athena, statement.sql, workgroup)
                changes.append(Change(f"athena database {database}", "created"))
            continue
        target = f"{database}.{statement.table}"
        record_key = f"{DDL_RECORD_PREFIX}{database}/{statement.table}.sql"
        exists = _exists(glue.get_table, DatabaseName=database, Name=statement.table)
        applied = _read_text(s3, record_bucket, record_key) if exists else None
        if exists and applied == statement.sql:
            continue
        if exists:
            run_athena(athena, f"DROP TABLE IF EXISTS {target}", workgroup, database)
        run_athena(athena, statement.sql, workgroup, database)
        s3.put_object(Bucket=record_bucket, Key=record_key, Body=statement.sql.encode("utf-8"))
        reason = "DDL changed" if applied is not None else "no record of its DDL"
        detail = f"ddl/{statement.name}.sql" + (f", {reason}" if exists else "")
        changes.append(
            Change(f"athena table {target}", "replaced" if exists else "created", detail)
        )
    return changes


# --------------------------------------------------------------------------- deploy


@dataclass
class Deployment:
    env: str
    dist_root: Path
    params: dict[str, str]
    session: Any
    wait_delay: int = 5
    changes: list[Change] = field(default_factory=list)  # what run() changed, in order

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def run(self) -> list[Change]:
        """Bootstrap stack and uploads, the pipeline stack, then what the stack does not own."""
        from wistia_dev.dist import Dist

        dist = Dist(self.dist_root)
        if not (self.dist_root / "manifest.json").is_file():
            raise DeployError(f"{self.dist_root} has no manifest.json: run `make package` first")
        self._check_mwaa_params()
        self.changes = []
        cfn = self.client("cloudformation")
        bootstrap_name, pipeline_name = stack_names(self.env)
        airflow_version = self._check_airflow_version(dist, describe_stack(cfn, pipeline_name))
        self._note(
            deploy_stack(
                cfn, bootstrap_name, BOOTSTRAP_TEMPLATE, {"EnvName": self.env}, self.wait_delay
            )
        )
        boot = stack_outputs(cfn, bootstrap_name)
        versions = self._upload(dist, boot["ArtifactsBucketName"], boot["MwaaBucketName"])
        planned = planned_parameters(cfn, pipeline_name, PIPELINE_TEMPLATE, self.params)
        chosen = environment_parameters(self.env, planned)
        names = self._names()
        versions[STARTUP_KEY] = self._upload_startup(boot["MwaaBucketName"], names, planned, chosen)
        params = {
            "EnvName": self.env,
            "ArtifactsBucketName": boot["ArtifactsBucketName"],
            "MwaaBucketName": boot["MwaaBucketName"],
            "AccessLogsBucketName": boot["AccessLogsBucketName"],
            **{MWAA_VERSION_PARAMS[k]: v for k, v in versions.items() if v},
            **chosen,
            AIRFLOW_VERSION_PARAM: airflow_version,
            **self.params,
        }
        self._note(deploy_stack(cfn, pipeline_name, PIPELINE_TEMPLATE, params, self.wait_delay))
        self._after_stack(dist, pipeline_name, names, boot["ArtifactsBucketName"])
        return self.changes

    def _note(self, change: Change | None) -> None:
        if change is not None:
            self.changes.append(change)
            print(change, flush=True)

    def _names(self) -> dict[str, str]:
        account = self.client("sts").get_caller_identity()["Account"]
        return resource_names(self.env, account, self.session.region_name)

    def _upload(self, dist: Any, artifacts: str, mwaa_bucket: str) -> dict[str, str | None]:
        """Artifacts, DAGs, plugins.zip and requirements.txt; their new object versions."""
        s3 = self.client("s3")
        for bucket in (artifacts, mwaa_bucket):
            self._note(ensure_versioning(s3, bucket))
        for change in sync_prefix(s3, artifacts, "", dist.artifact_objects())[0]:
            self._note(change)
        mwaa_files = dist.mwaa_objects()
        dag_files = {k: p for k, p in mwaa_files.items() if k.startswith("dags/")}
        for change in sync_prefix(s3, mwaa_bucket, "dags/", dag_files)[0]:
            self._note(change)
        versions: dict[str, str | None] = {}
        for key in ("plugins.zip", "requirements.txt"):
            change, versions[key] = put_if_changed(
                s3, mwaa_bucket, key, mwaa_files[key].read_bytes()
            )
            self._note(change)
        return versions

    def _upload_startup(
        self,
        mwaa_bucket: str,
        names: Mapping[str, str],
        planned: Mapping[str, Any],
        chosen: Mapping[str, str],
    ) -> str | None:
        """MWAA's startup.sh exporting the environment's names; its object version."""
        identity = self.client("sts").get_caller_identity()
        topic = alert_topic_arn(
            self.env,
            planned.get("AlertTopicArn") or "",
            identity["Account"],
            self.session.region_name,
            identity["Arn"].split(":")[1],  # the partition of arn:<partition>:sts::...
        )
        variables = airflow_environment(
            names,
            chosen["GlueDatabaseName"],
            f"wistia/{self.env}/pii-hash-key",
            planned["LookbackDays"],
            topic,
            start_date=chosen["CatchupStartDate"],
        )
        startup = render_startup_script(self.env, variables)
        change, version = put_if_changed(self.client("s3"), mwaa_bucket, STARTUP_KEY, startup)
        self._note(change)
        return version

    def _after_stack(
        self, dist: Any, pipeline_name: str, names: Mapping[str, str], artifacts: str
    ) -> None:
        """Athena tables, the Lambdas' code and the state machine's definition."""
        from wistia_dev.dist import LAMBDA_ZIP_KEY, REPORT_LAMBDA_ZIP_KEY, STATE_MACHINE_KEY

        cfn = self.client("cloudformation")
        outputs = stack_outputs(cfn, pipeline_name)
        for key, expected in names.items():
            if outputs.get(key) != expected:
                raise DeployError(
                    f"stack output {key}={outputs.get(key)!r}, expected {expected!r}: "
                    "resource_names() and pipeline.yaml disagree"
                )
        for change in apply_athena_tables(
            self.session,
            outputs["GlueDatabaseName"],
            outputs["AthenaWorkGroupName"],
            outputs["LakeUri"],
            artifacts,
        ):
            self._note(change)
        for function, key in (
            (outputs["IngestFunctionName"], LAMBDA_ZIP_KEY),
            (outputs["ReportFunctionName"], REPORT_LAMBDA_ZIP_KEY),
            # the publish and freshness Lambdas run the ingestion zip's code
            (outputs["PublishFunctionName"], LAMBDA_ZIP_KEY),
            (outputs["FreshnessFunctionName"], LAMBDA_ZIP_KEY),
        ):
            self._note(self._update_lambda(function, artifacts, dist, key))
        definition = render_definition(
            (dist.root / STATE_MACHINE_KEY).read_text(encoding="utf-8"),
            self._substitutions(outputs, stack_parameters(cfn, pipeline_name)),
        )
        self._note(self._update_state_machine(outputs["StateMachineArn"], definition))

    def _check_mwaa_params(self) -> None:
        if self.params.get("CreateMwaaEnvironment") == "true":
            missing = [k for k in ("MwaaVpcId", "MwaaSubnetIds") if not self.params.get(k)]
            if missing:
                raise DeployError(f"CreateMwaaEnvironment=true needs --param for {missing}")

    def _check_airflow_version(self, dist: Any, stack: dict[str, Any] | None) -> str:
        """The MWAA Airflow version to deploy: the one dist/ was packaged for, if the project
        tested it and it is the version asked for (``--param``) or, without one, the version the
        existing stack runs. DeployError otherwise."""
        from wistia_dev import mwaa_versions

        requirements = dist.mwaa_objects()["requirements.txt"].read_text(encoding="utf-8")
        asked = self.params.get(AIRFLOW_VERSION_PARAM)
        try:
            packaged = mwaa_versions.check_deployable(requirements, asked).airflow
        except mwaa_versions.UnsupportedVersion as exc:
            raise DeployError(str(exc)) from None
        running = {
            p["ParameterKey"]: p.get("ParameterValue") for p in (stack or {}).get("Parameters", [])
        }.get(AIRFLOW_VERSION_PARAM)
        if asked is None and running not in (None, packaged):
            raise DeployError(
                f"stack wistia-{self.env} runs MWAA Airflow {running}, dist/ was packaged for "
                f"{packaged}: package for {running} (make deploy ENV={self.env} "
                f"MWAA_AIRFLOW_VERSION={running}), or change the environment's version with "
                f"make deploy ENV={self.env} MWAA_AIRFLOW_VERSION={packaged}"
            )
        return packaged

    def _update_lambda(self, function: str, bucket: str, dist: Any, key: str) -> Change | None:
        """Point ``function`` at the uploaded ``key`` when its code differs from ``dist``'s."""
        data = (dist.root / key).read_bytes()
        local = base64.b64encode(hashlib.sha256(data).digest()).decode()
        lam = self.client("lambda")
        deployed = lam.get_function_configuration(FunctionName=function)["CodeSha256"]
        if deployed == local:
            return None
        version = s3_version(self.client("s3"), bucket, key)
        kwargs = {"S3ObjectVersion": version} if version else {}
        lam.update_function_code(FunctionName=function, S3Bucket=bucket, S3Key=key, **kwargs)
        lam.get_waiter("function_updated_v2").wait(
            FunctionName=function, WaiterConfig={"Delay": self.wait_delay, "MaxAttempts": 120}
        )
        return Change(f"lambda {function}", "updated", f"code sha256 {local[:12]}")

    def _substitutions(
        self, outputs: Mapping[str, str], parameters: Mapping[str, str]
    ) -> dict[str, str]:
        """CloudFormation's DefinitionSubstitutions of pipeline.yaml, from the deployed stack."""
        lam = self.client("lambda")

        def arn(function: str) -> str:
            return lam.get_function_configuration(FunctionName=function)["FunctionArn"]

        return {
            "LambdaFunctionName": arn(outputs["IngestFunctionName"]),
            "IngestLogGroupName": outputs["IngestLogGroupName"],
            "ReportFunctionName": arn(outputs["ReportFunctionName"]),
            "PublishFunctionName": arn(outputs["PublishFunctionName"]),
            "SilverJobName": outputs["SilverJobName"],
            "GoldJobName": outputs["GoldJobName"],
            "StateTableName": outputs["StateTableName"],
            "LakeUri": outputs["LakeUri"],
            "PiiSecretId": outputs["PiiKeySecretArn"],
            "AthenaDatabase": outputs["GlueDatabaseName"],
            "AthenaWorkGroup": outputs["AthenaWorkGroupName"],
            "AthenaOutputLocation": f"s3://{outputs['AthenaResultsBucketName']}/results/",
            "LookbackDays": parameters["LookbackDays"],
        }

    def _update_state_machine(self, arn: str, definition: str) -> Change | None:
        sfn = self.client("stepfunctions")
        deployed = sfn.describe_state_machine(stateMachineArn=arn).get("definition") or "{}"
        try:
            same = json.loads(deployed) == json.loads(definition)
        except ValueError:
            same = False
        if same:
            return None
        sfn.update_state_machine(stateMachineArn=arn, definition=definition)
        return Change(f"state machine {arn.rsplit(':', 1)[-1]}", "updated", "definition")


def s3_version(s3: Any, bucket: str, key: str) -> str | None:
    head = _head(s3, bucket, key)
    return head.get("VersionId") if head else None


def parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DeployError(f"--param expects Key=Value, got {pair!r}")
        params[key] = value
    return params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deploy/update a Wistia pipeline environment.")
    parser.add_argument("--env", required=True, help="environment name, e.g. dev or prod")
    parser.add_argument("--region", default=None, help="AWS region (default: the session's)")
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="built dist/ directory")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="pipeline.yaml parameter, e.g. CreateMwaaEnvironment=true (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="also print the changes as JSON")
    args = parser.parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    if not session.region_name:
        parser.error("no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION")
    try:
        deployment = Deployment(args.env, args.dist, parse_params(args.param), session)
        changes = deployment.run()
    except (DeployError, ClientError) as exc:
        print(f"deploy failed: {exc}", file=sys.stderr)
        return 1
    print(f"{len(changes)} change(s) in environment {args.env}" if changes else "no changes")
    if args.json:
        print(json.dumps([asdict(c) for c in changes]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
