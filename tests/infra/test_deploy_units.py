"""Pure helpers of scripts/deploy.py (the moto end-to-end tests cover the AWS calls)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("deploy_script", REPO / "scripts" / "deploy.py")
deploy = importlib.util.module_from_spec(_spec)
sys.modules["deploy_script"] = deploy  # dataclasses look their module up
_spec.loader.exec_module(deploy)


def test_template_parameters_reads_defaults_through_cfn_tags() -> None:
    params = deploy.template_parameters(deploy.PIPELINE_TEMPLATE.read_text())
    assert params["EnvName"] is None
    assert params["GlueWorkerType"] == "G.1X"
    assert params["GlueNumberOfWorkers"] == "2"
    assert params["CreateMwaaEnvironment"] == "false"
    assert params["MwaaSubnetIds"] == ""
    boot = deploy.template_parameters(deploy.BOOTSTRAP_TEMPLATE.read_text())
    assert set(boot) == {"EnvName", "NoncurrentVersionDays"}


def test_render_definition_fills_every_twin_placeholder() -> None:
    from wistia_pipeline.stepfunctions import SUBSTITUTIONS

    text = (REPO / "include" / "stepfunctions" / "wistia_daily.asl.json").read_text()
    values = {name: f"value-of-{name}" for name in SUBSTITUTIONS}
    out = deploy.render_definition(text, values)
    assert "${" not in out
    assert "value-of-LambdaFunctionName" in out
    with pytest.raises(deploy.DeployError, match="LakeUri"):
        deploy.render_definition(text, {k: v for k, v in values.items() if k != "LakeUri"})


def test_startup_script_exports_names_only() -> None:
    names = deploy.resource_names("dev", "111122223333", "eu-west-1")
    env = deploy.airflow_environment(names, "wistia", "wistia/dev/pii-hash-key", "3")
    script = deploy.render_startup_script("dev", env).decode()
    assert script.startswith("#!/bin/sh\n")
    assert "export WISTIA_TARGET='aws'" in script
    assert "export WISTIA_LAKE_URI='s3://wistia-dev-lake-111122223333-eu-west-1'" in script
    assert "export WISTIA_LAMBDA_FUNCTION='wistia-dev-ingest'" in script
    assert "export WISTIA_ATHENA_WORKGROUP='wistia-dev'" in script
    assert "export WISTIA_LOOKBACK_DAYS='3'" in script
    with pytest.raises(deploy.DeployError, match="quote"):
        deploy.render_startup_script("dev", {"X": "it's"})


def test_parse_params() -> None:
    assert deploy.parse_params(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(deploy.DeployError):
        deploy.parse_params(["novalue"])


def test_stack_names() -> None:
    assert deploy.stack_names("prod") == ("wistia-prod-bootstrap", "wistia-prod")


def test_smoke_dag_run_request_targets_the_day_and_is_unique(monkeypatch) -> None:
    from datetime import UTC, date, datetime

    monkeypatch.syspath_prepend(str(REPO / "scripts"))  # smoke.py imports its sibling deploy.py
    spec = importlib.util.spec_from_file_location("smoke_script", REPO / "scripts" / "smoke.py")
    smoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(smoke)
    body = smoke.run_request(date(2026, 3, 9), now=datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
    assert body == {
        "dag_run_id": "smoke__2026-03-09__20260310T070000000000Z",
        # the trigger time: never the midnight yesterday's scheduled run holds (409)
        "logical_date": "2026-03-10T07:00:00+00:00",
        "data_interval_start": "2026-03-09T00:00:00+00:00",
        "data_interval_end": "2026-03-10T00:00:00+00:00",
        "conf": {"lookback_days": 0, "streams": ["medias"]},  # a small run
    }
    later = smoke.run_request(date(2026, 3, 9), now=datetime(2026, 3, 10, 7, 0, 0, 1, tzinfo=UTC))
    assert later["dag_run_id"] != body["dag_run_id"]
    assert later["logical_date"] != body["logical_date"]


def test_environment_parameters_are_per_environment_and_kept() -> None:
    from datetime import date

    today = date(2026, 12, 1)
    fresh = deploy.environment_parameters("dev-eu", {"LookbackDays": "2"}, today)
    assert fresh == {"GlueDatabaseName": "wistia_dev_eu", "CatchupStartDate": "2026-11-29"}
    assert deploy.environment_parameters("prod", {"LookbackDays": "0"}, today) == {
        "GlueDatabaseName": "wistia_prod",
        "CatchupStartDate": "2026-12-01",
    }
    # A previous (or given) value wins: chosen once, stable on every later deploy.
    kept = {"GlueDatabaseName": "wistia", "CatchupStartDate": "2026-06-01", "LookbackDays": "9"}
    assert deploy.environment_parameters("dev", kept, today) == {
        "GlueDatabaseName": "wistia",
        "CatchupStartDate": "2026-06-01",
    }
    names = deploy.resource_names("dev", "123456789012", "us-east-1")
    env = deploy.airflow_environment(names, "wistia_dev", "s", "2", start_date="2026-11-29")
    assert env["WISTIA_START_DATE"] == "2026-11-29"
    assert env["WISTIA_ATHENA_DATABASE"] == "wistia_dev"


def test_ddl_statements_are_the_ddl_files_in_order() -> None:
    from wistia_pipeline.sql import list_queries

    statements = deploy.ddl_statements("wistia_dev", "s3://lake-bucket")
    assert [s.name for s in statements] == list_queries("ddl")
    assert statements[0].table is None  # the database first
    assert statements[0].sql.startswith("CREATE DATABASE IF NOT EXISTS wistia_dev")
    tables = [s.table for s in statements[1:]]
    assert "reconciliation" in tables and "events" in tables and None not in tables
    assert all("s3://lake-bucket/" in s.sql for s in statements)


def test_alert_topic_reaches_airflow_only_when_set() -> None:
    names = deploy.resource_names("dev", "123456789012", "us-east-1")
    without = deploy.airflow_environment(names, "wistia", "wistia/dev/pii-hash-key", "2")
    assert "WISTIA_ALERT_SNS_TOPIC_ARN" not in without
    topic = "arn:aws:sns:us-east-1:123456789012:wistia-alerts"
    env = deploy.airflow_environment(names, "wistia", "wistia/dev/pii-hash-key", "2", topic)
    assert env["WISTIA_ALERT_SNS_TOPIC_ARN"] == topic


def test_failed_dag_runs_alert_the_stacks_topic_unless_one_is_given() -> None:
    """startup.sh is written before the stack exists: the stack topic's ARN is derived from the
    name pipeline.yaml gives it, and a given AlertTopicArn wins (the template's own choice)."""
    from cfnlint.decode import decode_str

    template, _ = decode_str(deploy.PIPELINE_TEMPLATE.read_text())
    topic = template["Resources"]["AlertTopic"]["Properties"]["TopicName"]["Fn::Sub"]
    assert topic == "wistia-${EnvName}-alerts"
    assert deploy.alert_topic_arn("dev", "", "123456789012", "eu-west-1") == (
        "arn:aws:sns:eu-west-1:123456789012:wistia-dev-alerts"
    )
    assert deploy.alert_topic_arn("dev", "", "123456789012", "cn-north-1", "aws-cn").startswith(
        "arn:aws-cn:sns:cn-north-1:"
    )
    mine = "arn:aws:sns:eu-west-1:123456789012:ops"
    assert deploy.alert_topic_arn("dev", mine, "123456789012", "eu-west-1") == mine


def test_deploy_substitutions_are_the_twins_from_the_stack_outputs() -> None:
    """The deploy renders the twin itself (as CloudFormation's DefinitionSubstitutions would):
    every placeholder gets a value, each from an output the pipeline template declares."""
    import yaml

    from wistia_pipeline.stepfunctions import SUBSTITUTIONS

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load(deploy.PIPELINE_TEMPLATE.read_text(), Loader=Loader)
    outputs = {name: f"out-{name}" for name in template["Outputs"]}

    class Lambda:
        def get_function_configuration(self, FunctionName: str) -> dict:
            return {"FunctionArn": f"arn:{FunctionName}"}

    class Session:
        def client(self, service: str) -> Lambda:
            assert service == "lambda"
            return Lambda()

    deployment = deploy.Deployment("dev", REPO / "dist", {}, Session())
    values = deployment._substitutions(outputs, {"LookbackDays": "2"})
    assert set(values) == set(SUBSTITUTIONS)
    assert values["IngestLogGroupName"] == "out-IngestLogGroupName"
