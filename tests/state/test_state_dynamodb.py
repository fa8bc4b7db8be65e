"""DynamoDB backend specifics: table creation, the documented item shapes, missing table.

The item shapes asserted here are the ones docs/state-store.md documents for the Step Functions
twin, which writes the same items with PutItem/UpdateItem service integrations.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime

import boto3
import pytest

from wistia_pipeline.config import load_settings
from wistia_pipeline.state import (
    CheckOverride,
    DayAlreadyClaimed,
    DayStatus,
    StateStoreError,
    open_state_store,
)
from wistia_pipeline.state.dynamodb import (
    CLAIM_CONDITION,
    CLAIM_UPDATE,
    KEY_SCHEMA,
    DynamoDBRunStateStore,
    create_table,
    item_to_day_run,
)

D = date(2026, 3, 9)


def test_create_table_is_on_demand_and_idempotent(aws_env):
    client = boto3.client("dynamodb")
    table = create_table(client, "state-a")
    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == KEY_SCHEMA
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    # again, through a service resource this time: no error, same table
    assert create_table(boto3.resource("dynamodb"), "state-a")["TableArn"] == table["TableArn"]


def test_create_table_refuses_an_existing_table_with_other_keys(aws_env):
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="state-b",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(StateStoreError, match="key schema"):
        create_table(client, "state-b")


def test_missing_table_is_a_clear_error(aws_env):
    store = DynamoDBRunStateStore("no-such-table")
    with pytest.raises(StateStoreError, match=r"no-such-table.*not found"):
        store.get_watermark()


def test_items_have_the_documented_shapes(dynamodb_table):
    client = boto3.client("dynamodb")
    store = DynamoDBRunStateStore(dynamodb_table)
    store.claim_day(D, "scheduled__2026-03-09T00:00:00+00:00")
    key = {"pk": {"S": "DAY#2026-03-09"}, "sk": {"S": "RUN"}}
    running = client.get_item(TableName=dynamodb_table, Key=key)["Item"]
    assert set(running) == {
        "pk", "sk", "day", "status", "run_id", "attempt", "started_at",
        "lease_expires_at", "counts", "updated_at",
    }  # fmt: skip
    assert running["status"] == {"S": "RUNNING"}
    assert running["attempt"] == {"N": "1"}
    assert running["counts"] == {"M": {}}
    for name in ("started_at", "lease_expires_at", "updated_at"):
        assert set(running[name]) == {"S"}
        assert running[name]["S"].endswith("Z") and len(running[name]["S"]) == 24

    store.mark_succeeded(D, "scheduled__2026-03-09T00:00:00+00:00", {"events": 7, "medias": 2})
    done = client.get_item(TableName=dynamodb_table, Key=key)["Item"]
    assert done["status"] == {"S": "SUCCEEDED"}
    assert done["counts"] == {"M": {"events": {"N": "7"}, "medias": {"N": "2"}}}
    assert len(done["finished_at"]["S"]) == 24
    assert "error" not in done
    assert done["overrides"] == {"S": "[]"}

    store.claim_day(D, "manual__x")
    store.mark_failed(D, "manual__x", "boom")
    failed = client.get_item(TableName=dynamodb_table, Key=key)["Item"]
    assert (failed["status"], failed["error"], failed["attempt"]) == (
        {"S": "FAILED"},
        {"S": "boom"},
        {"N": "2"},
    )
    assert "overrides" not in failed  # the claim removed the last success's

    store.claim_day(D, "manual__y")
    gap = CheckOverride("reconciliation_gap", 3, "d: 9 vs 0", "media deleted", "alice")
    store.mark_succeeded(D, "manual__y", {}, overrides=[gap])
    item = client.get_item(TableName=dynamodb_table, Key=key)["Item"]
    assert json.loads(item["overrides"]["S"]) == [
        {
            "check": "reconciliation_gap",
            "failures": 3,
            "detail": "d: 9 vs 0",
            "reason": "media deleted",
            "by": "alice",
        }
    ]

    store.advance_watermark(D, "manual__x")
    wm = client.get_item(
        TableName=dynamodb_table, Key={"pk": {"S": "WATERMARK"}, "sk": {"S": "PIPELINE"}}
    )["Item"]
    assert set(wm) == {"pk", "sk", "watermark_day", "run_id", "updated_at"}
    assert wm["watermark_day"] == {"S": "2026-03-09"}


def test_items_written_like_step_functions_are_read_and_respected(dynamodb_table):
    """A Step Functions-style claim (raw UpdateItem, JSONata timestamps) interoperates."""
    client = boto3.client("dynamodb")
    client.update_item(
        TableName=dynamodb_table,
        Key={"pk": {"S": "DAY#2026-03-09"}, "sk": {"S": "RUN"}},
        UpdateExpression=CLAIM_UPDATE,
        ConditionExpression=CLAIM_CONDITION,
        ExpressionAttributeNames={"#status": "status", "#day": "day", "#error": "error"},
        ExpressionAttributeValues={
            ":day": {"S": "2026-03-09"},
            ":running": {"S": "RUNNING"},
            ":run_id": {"S": "sfn-exec-1"},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
            ":now": {"S": "2026-03-10T01:00:00.000Z"},
            ":lease": {"S": "2999-01-01T00:00:00.000Z"},
            ":no_counts": {"M": {}},
        },
    )
    store = DynamoDBRunStateStore(dynamodb_table)
    run = store.get_day(D)
    assert (run.status, run.run_id, run.attempt, run.counts) == (
        DayStatus.RUNNING,
        "sfn-exec-1",
        1,
        {},
    )
    with pytest.raises(DayAlreadyClaimed, match="sfn-exec-1"):
        store.claim_day(D, "airflow-run")
    assert store.mark_succeeded(D, "sfn-exec-1", {"events": 1}).status is DayStatus.SUCCEEDED


def test_factory_opens_dynamodb_table_from_settings(dynamodb_table):
    settings = load_settings({"WISTIA_TARGET": "aws", "WISTIA_STATE_TABLE": dynamodb_table})
    store = open_state_store(settings)
    assert isinstance(store, DynamoDBRunStateStore)
    assert store.table_name == dynamodb_table
    store.claim_day(D, "run-a")
    assert open_state_store(settings).get_day(D).run_id == "run-a"


def test_docs_quote_the_key_design_and_expressions_verbatim():
    """docs/state-store.md is what the Step Functions and CloudFormation authors copy from."""
    from pathlib import Path

    from wistia_pipeline.state import dynamodb as ddb

    doc = (Path(__file__).resolve().parents[2] / "docs" / "state-store.md").read_text()
    for expression in (
        ddb.CLAIM_UPDATE,
        ddb.CLAIM_CONDITION,
        ddb.SUCCEED_UPDATE,
        ddb.FAIL_UPDATE,
        ddb.FINISH_CONDITION,
        ddb.WATERMARK_UPDATE,
        ddb.WATERMARK_CONDITION,
    ):
        assert f"`{expression}`" in doc, expression
    for key in (f"`{ddb.DAY_PK_PREFIX}YYYY-MM-DD`", f"`{ddb.DAY_SK}`", f"`{ddb.WATERMARK_PK}`"):
        assert key in doc
    assert f"BillingMode: {ddb.BILLING_MODE}" in doc


FINISHED_ITEM = {
    "pk": {"S": "DAY#2026-03-09"},
    "sk": {"S": "RUN"},
    "day": {"S": "2026-03-09"},
    "status": {"S": "FAILED"},
    "run_id": {"S": "sfn-exec-1"},
    "attempt": {"N": "2"},
    "started_at": {"S": "2026-03-10T01:00:00.000Z"},
    "finished_at": {"S": "2026-03-10T01:00:07Z"},  # EnteredTime without a fraction
    "counts": {"M": {"events": {"N": "7"}}},
    "error": {"S": "boom"},
    "lease_expires_at": {"S": "2026-03-10T07:00:00.000Z"},
    "updated_at": {"S": "2026-03-10T01:00:07Z"},
}


def test_item_to_day_run_decodes_items_and_nulls():
    run = item_to_day_run(FINISHED_ITEM)
    assert (run.day, run.status, run.run_id, run.attempt) == (D, DayStatus.FAILED, "sfn-exec-1", 2)
    assert run.finished_at == datetime(2026, 3, 10, 1, 0, 7, tzinfo=UTC)
    assert (run.counts, run.error) == ({"events": 7}, "boom")
    assert type(run.counts["events"]) is int and type(run.attempt) is int
    # a writer may store absent values as NULL instead of leaving the attribute out
    nulls = {**FINISHED_ITEM, "finished_at": {"NULL": True}, "error": {"NULL": True}}
    run = item_to_day_run(nulls)
    assert (run.finished_at, run.error) == (None, None)
    running = {
        k: v for k, v in FINISHED_ITEM.items() if k not in ("finished_at", "error", "counts")
    }
    run = item_to_day_run(running)
    assert (run.finished_at, run.error, run.counts) == (None, None, {})
    # the twin writes the failures as Athena returned them: text
    twin = '[{"check": "x", "failures": "2", "detail": "d", "reason": "r", "by": "exec-1"}]'
    run = item_to_day_run({**FINISHED_ITEM, "overrides": {"S": twin}})
    assert run.overrides == (CheckOverride("x", 2, "d", "r", "exec-1"),)


@pytest.mark.parametrize(
    "change",
    [
        {"attempt": {"N": "x"}},
        {"status": {"S": "DONE"}},
        {"counts": {"NULL": True}},
        {"started_at": {"BOGUS": "1"}},
        {"day": {}},
        {"day": None},
        {"overrides": {"S": "not json"}},
        {"overrides": {"S": '[{"check": "x"}]'}},
    ],
)
def test_item_to_day_run_refuses_malformed_items(change):
    item = {k: v for k, v in {**FINISHED_ITEM, **change}.items() if v is not None}
    with pytest.raises(StateStoreError, match="malformed state item DAY#2026-03-09"):
        item_to_day_run(item)


def test_importing_the_module_does_not_import_boto3():
    """The twin builder imports the expressions; boto3 (~0.2 s) loads only to decode items."""
    code = "import sys, wistia_pipeline.state.dynamodb; assert 'boto3' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
