"""Lambda Invoke runs the deployed zip in a sandbox process: real handler, real AWS calls."""

from __future__ import annotations

import base64
import io
import json
import re
import textwrap
import time
import uuid
import zipfile

import boto3
import pytest

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
         "Action": "sts:AssumeRole"}
    ],
}  # fmt: skip

HANDLERS = {
    "app/handler.py": """
        import json, os, sys, time
        import boto3

        def copy_upper(event, context):
            s3 = boto3.client("s3")
            body = s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read()
            s3.put_object(Bucket=event["bucket"], Key=event["key"] + ".upper", Body=body.upper())
            print("copied", event["key"])
            try:
                import yaml  # in the venv, not in the zip nor the Lambda runtime
                venv_visible = True
            except ImportError:
                venv_visible = False
            return {
                "greeting": os.environ["GREETING"],
                "function": context.function_name,
                "remaining_ms": context.get_remaining_time_in_millis(),
                "task_root_first": sys.path[0] == os.environ["LAMBDA_TASK_ROOT"],
                "venv_visible": venv_visible,
                "endpoint": os.environ["AWS_ENDPOINT_URL"],
            }

        def fail(event, context):
            raise ValueError(f"bad input {event['n']}")

        def slow(event, context):
            time.sleep(30)
            return "never"
    """,
    "app/__init__.py": "",
    "needs_requests.py": "import requests\n\ndef handler(event, context):\n    return 1\n",
}


def lambda_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, source in HANDLERS.items():
            zf.writestr(name, textwrap.dedent(source))
    return buf.getvalue()


def role_arn() -> str:
    iam = boto3.client("iam")
    try:
        return iam.get_role(RoleName="awslocal-test")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        doc = json.dumps(TRUST)
        return iam.create_role(RoleName="awslocal-test", AssumeRolePolicyDocument=doc)["Role"][
            "Arn"
        ]


def create_function(handler: str, timeout: int = 10, env: dict | None = None) -> str:
    name = f"fn-{uuid.uuid4().hex[:8]}"
    boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn(),
        Handler=handler,
        Code={"ZipFile": lambda_zip()},
        Timeout=timeout,
        Environment={"Variables": env or {}},
    )
    return name


def invoke(name: str, payload: dict, **kwargs) -> tuple[dict, object]:
    resp = boto3.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps(payload).encode(), **kwargs
    )
    return resp, json.loads(resp["Payload"].read() or b"null")


@pytest.fixture
def bucket(aws) -> str:
    name = f"b-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=name)
    boto3.client("s3").put_object(Bucket=name, Key="in.txt", Body=b"hello lambda")
    return name


def test_handler_calls_s3_back_on_the_server(aws, bucket: str) -> None:
    name = create_function("app.handler.copy_upper", env={"GREETING": "hi"})
    resp, body = invoke(name, {"bucket": bucket, "key": "in.txt"}, LogType="Tail")
    assert resp["StatusCode"] == 200 and "FunctionError" not in resp, body
    assert body["greeting"] == "hi" and body["function"] == name
    assert 0 < body["remaining_ms"] <= 10_000
    assert body["task_root_first"] is True
    assert body["venv_visible"] is False  # sys.path: the zip, the stdlib, the runtime's boto3
    assert body["endpoint"] == aws.url
    out = boto3.client("s3").get_object(Bucket=bucket, Key="in.txt.upper")["Body"].read()
    assert out == b"HELLO LAMBDA"
    tail = base64.b64decode(resp["LogResult"]).decode()
    assert "START RequestId:" in tail and "copied in.txt" in tail and "REPORT RequestId:" in tail


def test_uncaught_exception_is_an_unhandled_function_error(aws) -> None:
    name = create_function("app.handler.fail")
    resp, body = invoke(name, {"n": 7})
    assert resp["StatusCode"] == 200 and resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "bad input 7"
    assert any("handler.py" in frame and "in fail" in frame for frame in body["stackTrace"])
    assert body["requestId"]


def test_missing_dependency_fails_like_the_lambda_runtime(aws) -> None:
    name = create_function("needs_requests.handler")
    resp, body = invoke(name, {})
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == (
        "Unable to import module 'needs_requests': No module named 'requests'"
    )


def test_running_past_the_timeout_is_killed_with_the_timeout_error(aws) -> None:
    name = create_function("app.handler.slow", timeout=1)
    started = time.monotonic()
    resp, body = invoke(name, {})
    assert time.monotonic() - started < 10
    assert resp["FunctionError"] == "Unhandled"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ Task timed out after 1\.00 seconds",
        body["errorMessage"],
    ), body


def test_event_invocation_runs_in_the_background(aws, bucket: str) -> None:
    name = create_function("app.handler.copy_upper", env={"GREETING": "hi"})
    resp = boto3.client("lambda").invoke(
        FunctionName=name,
        InvocationType="Event",
        Payload=json.dumps({"bucket": bucket, "key": "in.txt"}).encode(),
    )
    assert resp["StatusCode"] == 202 and resp["Payload"].read() == b""
    s3 = boto3.client("s3")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="in.txt.upper").get("KeyCount", 0)
        if listed:
            break
        time.sleep(0.2)
    assert s3.get_object(Bucket=bucket, Key="in.txt.upper")["Body"].read() == b"HELLO LAMBDA"


def test_fault_knob_raises_inside_the_function(aws, bucket: str) -> None:
    name = create_function("app.handler.copy_upper", env={"GREETING": "hi"})
    aws.set_faults({"lambda_error": {name: "injected failure"}})
    resp, body = invoke(name, {"bucket": bucket, "key": "in.txt"})
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Exception" and body["errorMessage"] == "injected failure"
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="in.txt.")
