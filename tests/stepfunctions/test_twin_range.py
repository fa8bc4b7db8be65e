"""The twin's range [range_start, logical_date]: its claim is the DAG's ``claim_range``.

ClaimDay's, MarkSucceeded's and MarkFailed's ``TransactItems`` are JSONata; here they are
evaluated by the npm ``jsonata`` package (the reference, ``conftest.evaluate``) and by
jsonata-python (what the local AWS runs), compared item for item with what
``DynamoDBRunStateStore.claim_range`` sends, and executed against a moto DynamoDB table next to
the store's own writes: a twin claim and a DAG claim of overlapping windows exclude each other.
The range check, the Lambda event and the definition's wiring are checked here too; a whole
range runs in ``tests/awslocal/test_twin_range.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from wistia_awslocal.sfn_jsonata import evaluate as evaluate_python
from wistia_pipeline import dates, pipeline, stepfunctions
from wistia_pipeline.config import MAX_LOOKBACK_DAYS, MAX_RANGE_DAYS
from wistia_pipeline.state import DayAlreadyClaimed, DayStatus
from wistia_pipeline.state.base import DEFAULT_LEASE_SECONDS
from wistia_pipeline.state.dynamodb import DynamoDBRunStateStore, create_table

TABLE = "wistia-state-range"
RUN = "exec-1"  # the execution name conftest.evaluate binds
NOW = datetime(2026, 4, 21, 0, 30, 7, 250_000, tzinfo=UTC)
START, ENTERED = "2026-04-21T00:30:05.123Z", dates.format_ts(NOW)
D = date(2026, 4, 20)


def _states() -> dict[str, Any]:
    """The definition's states as deployed (every substitution filled in)."""
    names = {key: f"sub-{key}" for key in stepfunctions.SUBSTITUTIONS}
    names |= {"StateTableName": TABLE, "LookbackDays": "2"}
    return json.loads(stepfunctions.render(stepfunctions.build_definition(), names))["States"]


def _jsonata(text: str) -> str:
    assert text.startswith("{%") and text.endswith("%}"), text
    return text[2:-2].strip()


def _input(first: date, last: date, lookback: int, **more: Any) -> dict[str, Any]:
    """The state input after Prepare: the range, L and the claim's times (the store's format)."""
    lease = NOW + timedelta(seconds=DEFAULT_LEASE_SECONDS)
    return {
        "range_start": first.isoformat(),
        "logical_date": last.isoformat(),
        "lookback_days": lookback,
        "streams": list(pipeline.ALL_STREAMS),
        "claimed_at": dates.format_ts(NOW),
        "lease_expires_at": dates.format_ts(lease),
        **more,
    }


def _python(expression: str, payload: dict[str, Any]) -> Any:
    """``expression`` by jsonata-python, ``$states`` bound like conftest.evaluate binds it."""
    states = {
        "input": payload,
        "context": {
            "Execution": {"Name": RUN, "StartTime": START},
            "State": {"EnteredTime": ENTERED},
        },
    }
    return evaluate_python(f"($states := {json.dumps(states)}; {expression})")


def _items(evaluate, state: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """``state``'s TransactItems, by the reference JSONata, checked equal to jsonata-python's."""
    expression = _jsonata(_states()[state]["Arguments"]["TransactItems"])
    items = evaluate(expression, payload, START, ENTERED)
    assert _python(expression, payload) == items
    return items


class _Recorder:
    """A DynamoDB client that records ``transact_write_items`` (what ``claim_range`` sends)."""

    def __init__(self) -> None:
        self.transactions: list[list[dict[str, Any]]] = []

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.transactions.append(TransactItems)
        return {}

    def batch_get_item(self, **_: Any) -> dict[str, Any]:
        return {"Responses": {}}


RANGES = [
    (D, D, 2),  # the daily run
    (D - timedelta(days=2), D, 2),
    (D - timedelta(days=2), D, 0),  # no guard days
    (date(2026, 2, 27), date(2026, 3, 2), 1),  # over a month end
    (D - timedelta(days=MAX_RANGE_DAYS - 1), D, MAX_LOOKBACK_DAYS),  # the largest: 100 items
]


@pytest.mark.parametrize(("first", "last", "lookback"), RANGES)
def test_claim_is_the_stores_claim_range_item_for_item(
    evaluate, first: date, last: date, lookback: int
) -> None:
    recorder = _Recorder()
    store = DynamoDBRunStateStore(TABLE, client=recorder, clock=lambda: NOW)
    store.claim_range(first, last, RUN, DEFAULT_LEASE_SECONDS, guard_days=lookback)
    (expected,) = recorder.transactions
    items = _items(evaluate, "ClaimDay", _input(first, last, lookback))
    assert items == expected
    assert len(items) == len(dates.days_between(first, last)) + 2 * lookback <= 100


@pytest.fixture
def table(aws_env) -> Any:
    client = boto3.client("dynamodb")
    create_table(client, TABLE)
    return client


def _store(at: datetime = NOW) -> DynamoDBRunStateStore:
    return DynamoDBRunStateStore(TABLE, client=boto3.client("dynamodb"), clock=lambda: at)


def _transact(client: Any, items: list[dict[str, Any]]) -> None:
    client.transact_write_items(TransactItems=items)


def test_twin_and_dag_claims_exclude_each_other(evaluate, table) -> None:
    """The twin's claim of [D - 2, D] (L = 2) and DAG claims around it: either way round, a live
    run in the other's range or guard refuses the claim, which writes nothing."""
    first = D - timedelta(days=2)
    _transact(table, _items(evaluate, "ClaimDay", _input(first, D, 2)))
    held = _store().list_days(first - timedelta(days=3), D + timedelta(days=3))
    assert [(r.day, r.status, r.run_id, r.attempt) for r in held] == [
        (day, DayStatus.RUNNING, RUN, 1) for day in dates.days_between(first, D)
    ]
    # The DAG's run of D + 2 (its window [D, D + 2] overlaps ours): refused by the twin's claim.
    with pytest.raises(DayAlreadyClaimed):
        _store().claim_range(D + timedelta(days=2), D + timedelta(days=2), "dag", guard_days=2)
    # D + 3 is outside the twin's guard: the DAG may run it.
    _store().claim_range(D + timedelta(days=3), D + timedelta(days=3), "dag", guard_days=2)

    # The other way round: a live DAG run of D + 3 refuses the twin's range [D + 4, D + 5].
    later = _items(evaluate, "ClaimDay", _input(D + timedelta(days=4), D + timedelta(days=5), 2))
    with pytest.raises(ClientError, match="TransactionCanceled"):
        _transact(table, later)
    assert _store().list_days(D + timedelta(days=4), D + timedelta(days=9)) == []
    # Once that run is finished, the same claim goes through.
    _store().mark_succeeded(D + timedelta(days=3), "dag", {"events": 1})
    _transact(table, later)
    assert {r.run_id for r in _store().list_days(D + timedelta(days=4), D + timedelta(days=5))} == {
        RUN
    }


def test_marks_move_every_day_of_the_range_or_none(evaluate, table) -> None:
    first = D - timedelta(days=2)
    claim = _input(first, D, 2)
    _transact(table, _items(evaluate, "ClaimDay", claim))
    done = {**claim, "ingest": {"requests_total": 42}}
    _transact(table, _items(evaluate, "MarkSucceeded", done))
    runs = _store().list_days(first, D)
    assert [r.day for r in runs] == dates.days_between(first, D)
    for run in runs:
        assert run.status is DayStatus.SUCCEEDED and run.run_id == RUN, run
        assert run.counts == {"requests_total": 42, "checks_passed": 5} and run.overrides == ()

    # A range one of whose days this run no longer holds: no day becomes SUCCEEDED.
    other = _input(D + timedelta(days=10), D + timedelta(days=12), 2)
    _transact(table, _items(evaluate, "ClaimDay", other))
    _store().release_day(D + timedelta(days=11), RUN, by="ops", reason="test", holder_dead=True)
    with pytest.raises(ClientError, match="TransactionCanceled"):
        _transact(table, _items(evaluate, "MarkSucceeded", {**other, "ingest": done["ingest"]}))
    statuses = [
        r.status for r in _store().list_days(D + timedelta(days=10), D + timedelta(days=12))
    ]
    assert statuses == [DayStatus.RUNNING, DayStatus.FAILED, DayStatus.RUNNING]

    # MarkFailed: every day of a held range FAILED with the step's error.
    failed = _input(D + timedelta(days=20), D + timedelta(days=21), 2)
    _transact(table, _items(evaluate, "ClaimDay", failed))
    error = {"Error": "DataCheckFailed", "Cause": "no gold"}
    _transact(table, _items(evaluate, "MarkFailed", {**failed, "error": error}))
    for run in _store().list_days(D + timedelta(days=20), D + timedelta(days=21)):
        assert (run.status, run.error) == (DayStatus.FAILED, "DataCheckFailed: no gold"), run


@pytest.mark.parametrize(
    ("first", "last", "lookback", "valid"),
    [
        (D, D, 2, True),
        (D - timedelta(days=MAX_RANGE_DAYS - 1), D, MAX_LOOKBACK_DAYS, True),
        (D - timedelta(days=MAX_RANGE_DAYS), D, 2, False),  # one day too many
        (D + timedelta(days=1), D, 2, False),  # backwards
        (D, D, MAX_LOOKBACK_DAYS + 1, False),
        (D, D, -1, False),
        (D, D, 1.5, False),
        (D, D, "2", False),
    ],
)
def test_range_check(evaluate, first: date, last: date, lookback: Any, valid: bool) -> None:
    """CheckRange refuses (InvalidRange) what the DAG and the Lambda refuse, before the claim."""
    (rule,) = _states()["CheckRange"]["Choices"]
    assert rule["Next"] == "InvalidRange"
    payload = _input(first, last, lookback)
    refused = evaluate(_jsonata(rule["Condition"]), payload, START, ENTERED)
    assert refused is (not valid)
    assert _python(_jsonata(rule["Condition"]), payload) is refused


@pytest.mark.parametrize("first", [D, D - timedelta(days=3)])
def test_lambda_event_is_the_dags(evaluate, first: date) -> None:
    """The ingestion Lambda's event: pipeline.lambda_payload (``range_start`` only for a range)
    plus the asynchronous invocation."""
    states = _states()
    assert states["Ingest"]["Parameters"]["Payload.$"] == "$.ingest_payload"
    output = _jsonata(states["IngestionTimes"]["Output"])
    payload = _input(first, D, 2, streams=["events"])
    out = evaluate(output, payload, START, ENTERED)
    expected = pipeline.lambda_payload(D, 2, ["events"], RUN, first_day=first)
    assert out["ingest_payload"] == {
        **expected,
        "invocation": {"id": RUN, "lease_seconds": stepfunctions.INGEST_LEASE_SECONDS},
    }
    assert ("range_start" in expected) is (first < D)
    assert _python(output, payload)["ingest_payload"] == out["ingest_payload"]


def test_a_refused_claim_writes_nothing_and_is_not_marked() -> None:
    states = _states()
    claim = states["ClaimDay"]
    assert claim["Resource"] == "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems"
    (refused,) = claim["Catch"]
    assert refused["ErrorEquals"] == [stepfunctions.TRANSACTION_CANCELED]
    assert refused["Next"] == "DayAlreadyClaimed" and states["DayAlreadyClaimed"]["Type"] == "Fail"
    assert claim["Retry"] and claim["Next"] == "IngestionTimes"
    # The watermark goes to D2 (logical_date), after Publish, before the days are marked.
    watermark = states["AdvanceWatermark"]
    assert watermark["Parameters"]["ExpressionAttributeValues"][":day"] == {"S.$": "$.logical_date"}
    assert states["Publish"]["Next"] == "AdvanceWatermark"
    assert watermark["Next"] == "MarkSucceeded"
