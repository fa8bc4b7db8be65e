"""Issue 13 §1 in the template: asynchronous ingestion invocations without Lambda retries, and
the ingestion Lambda's run-state access derived from what its code calls (nothing broader)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import boto3
from cfnlint.decode import decode_str

from wistia_pipeline.ingestion_tracker import InvocationTracker
from wistia_pipeline.state.dynamodb import INGEST_PK_PREFIX, DynamoDBRunStateStore, create_table

TEMPLATE = Path(__file__).resolve().parents[2] / "include" / "infra" / "pipeline.yaml"


def _template() -> dict:
    template, errors = decode_str(TEMPLATE.read_text())
    assert not errors, errors
    return template


def test_the_ingestion_lambda_is_invoked_asynchronously_without_lambda_retries() -> None:
    res = _template()["Resources"]
    props = res["IngestEventInvokeConfig"]["Properties"]
    assert props["FunctionName"] == {"Ref": "IngestFunction"}
    assert props["Qualifier"] == "$LATEST"
    assert props["MaximumRetryAttempts"] == 0  # Airflow and the twin retry, from the record
    # an event Lambda could not start in 60 s is dropped; the waiters' start deadline is longer
    from wistia_pipeline.config import load_settings

    assert props["MaximumEventAgeInSeconds"] < load_settings({}).ingest_start_seconds


class RecordingClient:
    """A DynamoDB client that records each operation and the partition keys it touches."""

    def __init__(self, client) -> None:
        self._client = client
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name: str):
        method = getattr(self._client, name)

        def call(**kwargs):
            self.calls.append((name, kwargs["Key"]["pk"]["S"]))
            return method(**kwargs)

        return call


@dataclass
class Context:
    aws_request_id: str = "req-1"
    log_group_name: str = "/aws/lambda/x"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _lambda_calls(table: str) -> set[tuple[str, str]]:
    """What the Lambda's side of the record (state.ingestion, ingestion_tracker) calls."""
    run = "scheduled__2026-03-09T00:00:00+00:00"
    waiter = DynamoDBRunStateStore(table, client=boto3.client("dynamodb"))
    recording = RecordingClient(boto3.client("dynamodb"))
    store = DynamoDBRunStateStore(table, client=recording)
    for outcome in ("succeed", "fail"):
        waiter.begin_ingestion(run, f"inv-{outcome}", f"key-{outcome}", 90)
        tracker = InvocationTracker(store, run, f"inv-{outcome}", 40, Context())
        tracker.start()
        tracker._beat()  # one heartbeat
        if outcome == "succeed":
            tracker.succeed({"run_id": run})
        else:
            tracker.fail(RuntimeError("boom"))
    store.get_ingestion(run)
    return {(op, pk) for op, pk in recording.calls}


def test_the_ingestion_lambda_may_write_only_the_ingestion_records(aws_env) -> None:
    create_table(boto3.client("dynamodb"), "wistia-infra-ingest")
    calls = _lambda_calls("wistia-infra-ingest")
    needed = {"dynamodb:" + "".join(p.title() for p in op.split("_")) for op, _ in calls}
    assert needed == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    assert all(pk.startswith(INGEST_PK_PREFIX) for _, pk in calls)
    statements = [
        s
        for policy in _template()["Resources"]["IngestRole"]["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
    ]
    table = [s for s in statements if s.get("Resource") == {"Fn::GetAtt": ["StateTable", "Arn"]}]
    assert len(table) == 1, table
    (grant,) = table
    assert set(grant["Action"]) == needed
    assert grant["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [INGEST_PK_PREFIX + "*"]}
    }
