"""What the CloudFormation stack provides, made directly in moto server for the aws-target tests,
plus moto's static-result queues (Lambda results, Athena query results)."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import requests

from wistia_pipeline.sql import list_queries
from wistia_pipeline.state.dynamodb import create_table

ACCOUNT = "123456789012"
LAKE = "s3://wistia-lake-test/lake"


def lambda_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def provision(moto) -> dict[str, str]:
    """What the CloudFormation stack provides, made directly in moto."""
    moto.configure({"lambda": {"use_docker": False}})
    iam = boto3.client("iam")
    role = iam.create_role(
        RoleName="wistia-test",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    boto3.client("lambda").create_function(
        FunctionName="wistia-ingest-test",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": lambda_zip()},
    )
    glue = boto3.client("glue")
    for job in ("wistia-silver-test", "wistia-gold-test"):
        glue.create_job(
            Name=job,
            Role=role,
            Command={"Name": "glueetl", "ScriptLocation": f"s3://scripts/{job}.py"},
            GlueVersion="5.0",
        )
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="wistia-lake-test")
    s3.create_bucket(Bucket="wistia-athena-test")
    boto3.client("athena").create_work_group(
        Name="wistia-test",
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://wistia-athena-test/r/"}},
    )
    create_table(boto3.client("dynamodb"), "wistia-state-test")
    return {
        "WISTIA_TARGET": "aws",
        "WISTIA_LAKE_URI": LAKE,
        "WISTIA_STATE_TABLE": "wistia-state-test",
        "WISTIA_LAMBDA_FUNCTION": "wistia-ingest-test",
        "WISTIA_GLUE_SILVER_JOB": "wistia-silver-test",
        "WISTIA_GLUE_GOLD_JOB": "wistia-gold-test",
        "WISTIA_ATHENA_DATABASE": "wistia_test",
        "WISTIA_ATHENA_WORKGROUP": "wistia-test",
        "WISTIA_ATHENA_OUTPUT": "s3://wistia-athena-test/checks/",
        "WISTIA_AWS_POLL_SECONDS": "1",
        "WISTIA_PII_SECRET_ID": "wistia/pii-test",
        "WISTIA_LOOKBACK_DAYS": "2",
    }


def queue_check_results(moto, failures: int = 0, names: list[str] | None = None) -> None:
    names = names or list_queries("checks")
    results = [
        {
            "rows": [
                {"Data": [{"VarCharValue": v} for v in ("check_name", "failures", "detail")]},
                {"Data": [{"VarCharValue": v} for v in (name, str(failures), "queued by test")]},
            ],
            "column_info": [],
        }
        for name in names
    ]
    requests.post(
        f"{moto.url}/moto-api/static/athena/query-results",
        json={"account_id": ACCOUNT, "region": "us-east-1", "results": results},
        timeout=10,
    ).raise_for_status()


def queue_lambda_function_error(moto) -> None:
    requests.post(
        f"{moto.url}/moto-api/static/lambda-simple/response",
        json={"account_id": ACCOUNT, "region": "us-east-1", "results": ["x" * 6_100_000]},
        timeout=60,
    ).raise_for_status()


def queue_lambda_result(moto, result: dict) -> None:
    requests.post(
        f"{moto.url}/moto-api/static/lambda-simple/response",
        json={"account_id": ACCOUNT, "region": "us-east-1", "results": [json.dumps(result)]},
        timeout=10,
    ).raise_for_status()
