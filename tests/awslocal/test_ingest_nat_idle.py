"""Issue 13 §1 on the local AWS: an ingestion that outlives a NAT's idle timeout.

The deployed ingestion zip runs in the server's Lambda sandbox against a slow simulator day
(every API answer takes LATENCY_S), so the ingestion takes longer than IDLE_S, the idle limit of
a NAT emulated in front of the server (``wistia_awslocal.nat``: a connection on which nothing
moved for IDLE_S is reset, as a NAT gateway does after 350 s). The Airflow side reaches AWS only
through that NAT.

- before the fix: the synchronous invoke the DAG made (the provider's operator with a 960 s read
  timeout) loses its connection at the idle limit, a request cut in flight;
- after: the ``ingest`` task's asynchronous invoke and its short reads of the run's ingestion
  record (``wistia_airflow.ingestion``) never leave a connection idle that long, and the task
  returns the Lambda's summary.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from wistia_airflow.ingestion import AsyncIngestOperator
from wistia_airflow.provider_settings import INGEST_INVOKE_BOTOCORE_CONFIG
from wistia_awslocal.nat import IdleProxy
from wistia_awslocal.process import AwsLocal
from wistia_dev.lambda_zip import HANDLER, build_lambda_zip
from wistia_pipeline.config import load_settings
from wistia_pipeline.state.dynamodb import DynamoDBRunStateStore, create_table
from wistia_pipeline.state.ingestion import IngestionStatus
from wistia_simulator.process import free_port, start_simulator, stop_process

pytestmark = pytest.mark.slow

SIM_TOKEN = "sim-nat-test-token"  # the simulator's own test credential, not a real secret
DAY = date(2026, 3, 9)
IDLE_S = 12.0  # the emulated NAT's idle limit (350 s on AWS)
LATENCY_S = 4.0  # every simulator answer: the day's ingestion takes several of these in a row
# What the DAG's aws target used before issue 13: RequestResponse, wait up to 960 s, no retry.
OLD_SYNC_CONFIG = {"read_timeout": 960, "connect_timeout": 10, "tcp_keepalive": True,
                   "retries": {"max_attempts": 0}}  # fmt: skip


@dataclass
class Stack:
    function: str
    table: str
    lake: str


@pytest.fixture(scope="module")
def slow_simulator() -> Iterator[str]:
    port = free_port()
    proc = start_simulator(
        port, SIM_TOKEN, "--seed", "7", "--start-date", "2026-03-01", "--end-date", "2026-03-12",
        "--media-count", "3", "--events-per-day", "30", "--visitor-count", "10",
        "--rate-limit", "0", "--latency-ms", str(int(LATENCY_S * 1000)),
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}/modern"
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def stack(awslocal: AwsLocal, slow_simulator: str, tmp_path_factory) -> Stack:
    suffix = uuid.uuid4().hex[:6]
    with pytest.MonkeyPatch.context() as mp:
        for key, value in awslocal.client_env().items():
            mp.setenv(key, value)
        s3 = boto3.client("s3")
        lake = f"lake-{suffix}"
        s3.create_bucket(Bucket=lake)
        table = f"wistia-state-{suffix}"
        create_table(boto3.client("dynamodb"), table)
        secret = boto3.client("secretsmanager").create_secret(
            Name=f"wistia/{suffix}/api-token", SecretString=json.dumps({"api_token": SIM_TOKEN})
        )["Name"]
        role = boto3.client("iam").create_role(
            RoleName=f"ingest-{suffix}", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        zip_path = build_lambda_zip(Path(tmp_path_factory.mktemp("zip")) / "lambda.zip")
        function = f"wistia-ingest-{suffix}"
        boto3.client("lambda").create_function(
            FunctionName=function,
            Runtime="python3.12",
            Role=role,
            Handler=HANDLER,
            Code={"ZipFile": zip_path.read_bytes()},
            Timeout=300,
            Environment={
                "Variables": {
                    "WISTIA_TARGET": "aws",
                    "WISTIA_SECRET_ID": secret,
                    "WISTIA_LAKE_URI": f"s3://{lake}",
                    "WISTIA_STATE_TABLE": table,
                    "WISTIA_API_URL": slow_simulator,
                }
            },
        )
    return Stack(function, table, f"s3://{lake}")


def _payload(run_id: str) -> dict:
    return {"logical_date": DAY.isoformat(), "lookback_days": 1, "run_id": run_id}


def test_before_the_fix_the_synchronous_invoke_is_cut_at_the_idle_limit(
    aws: AwsLocal, stack: Stack
) -> None:
    with IdleProxy(aws.port, IDLE_S) as nat:
        client = boto3.client("lambda", endpoint_url=nat.url, config=Config(**OLD_SYNC_CONFIG))
        started = time.monotonic()
        with pytest.raises(Exception) as cut:
            client.invoke(
                FunctionName=stack.function,
                InvocationType="RequestResponse",
                Payload=json.dumps(_payload(f"sync-{uuid.uuid4().hex[:6]}")),
            )
        waited = time.monotonic() - started
        stats = nat.stats()
    assert "Connection" in type(cut.value).__name__ or "onnection" in str(cut.value), cut.value
    assert IDLE_S <= waited < IDLE_S + 10, waited  # cut by the NAT, not by the read timeout
    assert stats["resets_in_flight"] == 1, stats


def test_after_the_fix_the_ingest_task_outlives_the_idle_limit(
    aws: AwsLocal, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = f"manual__{DAY}T00:00:00+00:00-{uuid.uuid4().hex[:6]}"
    with IdleProxy(aws.port, IDLE_S) as nat:
        # MWAA's side: every AWS call of the task goes through the NAT.
        monkeypatch.setenv("AWS_ENDPOINT_URL", nat.url)
        env = {
            "WISTIA_TARGET": "aws",
            "WISTIA_STATE_TABLE": stack.table,
            "WISTIA_GLUE_DEFERRABLE": "false",  # the wait polls in the task (the worker)
            "WISTIA_AWS_POLL_SECONDS": "2",
        }
        monkeypatch.setattr("wistia_airflow.runtime.settings", lambda: load_settings(env))
        task = AsyncIngestOperator(
            function_name=stack.function,
            payload=_payload(run_id),
            aws_conn_id="aws_default",
            claim_attempt=1,
        )
        monkeypatch.setattr(
            task,
            "_lambda_client",
            lambda: boto3.client("lambda", config=Config(**INGEST_INVOKE_BOTOCORE_CONFIG)),
        )
        started = time.monotonic()
        summary = task.execute({})
        elapsed = time.monotonic() - started
        stats = nat.stats()
    direct = boto3.client("dynamodb", endpoint_url=aws.url)  # the NAT is gone
    record = DynamoDBRunStateStore(stack.table, client=direct).get_ingestion(run_id)
    assert record.status is IngestionStatus.SUCCEEDED and record.summary == summary
    assert summary["requests_total"] > 0 and summary["window_start"] == "2026-03-08"
    worked = (record.finished_at - record.started_at).total_seconds()
    print(f"\ningestion {worked:.1f} s behind a {IDLE_S:.0f} s NAT idle limit: {stats}")
    assert worked > IDLE_S and elapsed > IDLE_S  # the ingestion outlived the idle limit
    assert stats["resets_in_flight"] == 0, stats  # no call was cut
    assert stats["longest_wait_s"] < IDLE_S / 2, stats  # every call was answered at once
