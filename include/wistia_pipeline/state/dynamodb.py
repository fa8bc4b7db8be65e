"""DynamoDB run-state store for the AWS target: one on-demand table, conditional writes.

Key design (the single source for tests, docs/state-store.md and the CloudFormation template):

=================  =================  ======================  =================================
item               ``pk`` (HASH, S)   ``sk`` (RANGE, S)       other attributes
=================  =================  ======================  =================================
day run            ``DAY#YYYY-MM-DD`` ``RUN``                 day, status, run_id, attempt,
                                                              started_at, finished_at, counts,
                                                              error, lease_expires_at,
                                                              updated_at
watermark          ``WATERMARK``      ``PIPELINE``            watermark_day, run_id, updated_at
=================  =================  ======================  =================================

Every transition is one ``UpdateItem`` whose ``ConditionExpression`` encodes the rule, so
concurrent writers (Airflow workers, the Lambda, the Step Functions twin) see one winner.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from wistia_pipeline.state.base import (
    DEFAULT_LEASE_SECONDS,
    Clock,
    DayAlreadyClaimed,
    DayRun,
    DayStatus,
    NotClaimedByRun,
    RunStateStore,
    StateStoreError,
    check_counts,
    check_day,
    check_run_id,
    day_range_check,
    format_ts,
    lease_until,
    now_ms,
    parse_ts,
    truncate_error,
    utcnow,
)

# --- key schema: keep in sync with include/infra (CloudFormation) and docs/state-store.md ----
PARTITION_KEY = "pk"
SORT_KEY = "sk"
DAY_PK_PREFIX = "DAY#"
DAY_SK = "RUN"
WATERMARK_PK = "WATERMARK"
WATERMARK_SK = "PIPELINE"
KEY_SCHEMA: list[dict[str, str]] = [
    {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
]
ATTRIBUTE_DEFINITIONS: list[dict[str, str]] = [
    {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
    {"AttributeName": SORT_KEY, "AttributeType": "S"},
]
BILLING_MODE = "PAY_PER_REQUEST"

# --- the conditional writes (documented verbatim in docs/state-store.md) ---------------------
CLAIM_UPDATE = (
    "SET #day = :day, #status = :running, run_id = :run_id, "
    "attempt = if_not_exists(attempt, :zero) + :one, started_at = :now, "
    "lease_expires_at = :lease, counts = :no_counts, updated_at = :now "
    "REMOVE finished_at, #error"
)
CLAIM_CONDITION = (
    "attribute_not_exists(pk) OR #status <> :running OR run_id = :run_id OR lease_expires_at < :now"
)
SUCCEED_UPDATE = (
    "SET #status = :succeeded, finished_at = :now, counts = :counts, updated_at = :now "
    "REMOVE #error"
)
FAIL_UPDATE = "SET #status = :failed, finished_at = :now, #error = :error, updated_at = :now"
FINISH_CONDITION = "#status = :running AND run_id = :run_id"
WATERMARK_UPDATE = "SET watermark_day = :day, run_id = :run_id, updated_at = :now"
WATERMARK_CONDITION = "attribute_not_exists(pk) OR watermark_day < :day"

# --- the overlap guard of the Step Functions twin (a Scan filter; docs/state-store.md) -----------
# Live runs of other days whose window overlaps D's: pipeline.conflicting_runs as a
# FilterExpression. :from/:to = D - L / D + L, :day = D, :now = the claim time (timestamps are
# fixed-width ISO strings, so string order is time order). The watermark item has no ``day``.
OVERLAP_FILTER = (
    "#day BETWEEN :from AND :to AND #day <> :day AND #status = :running "
    "AND run_id <> :run_id AND lease_expires_at > :now"
)
OVERLAP_NAMES: Mapping[str, str] = {"#day": "day", "#status": "status"}

_NAMES = {"#status": "status", "#day": "day", "#error": "error"}
_BATCH_GET_MAX_KEYS = 100
_BATCH_GET_MAX_ROUNDS = 8


def day_key(day: date) -> dict[str, dict[str, str]]:
    return {
        PARTITION_KEY: {"S": DAY_PK_PREFIX + day.isoformat()},
        SORT_KEY: {"S": DAY_SK},
    }


WATERMARK_KEY: dict[str, dict[str, str]] = {
    PARTITION_KEY: {"S": WATERMARK_PK},
    SORT_KEY: {"S": WATERMARK_SK},
}


def create_table(client_or_resource: Any, table_name: str) -> dict[str, Any]:
    """Create the state table (on-demand, key schema above) and wait until it is ACTIVE.

    Accepts a boto3 DynamoDB client or service resource. If the table exists already its key
    schema is verified (a mismatch raises :class:`StateStoreError`) and it is left as is.
    Returns the ``DescribeTable`` ``Table`` description.
    """
    client = getattr(getattr(client_or_resource, "meta", None), "client", client_or_resource)
    try:
        client.create_table(
            TableName=table_name,
            KeySchema=KEY_SCHEMA,
            AttributeDefinitions=ATTRIBUTE_DEFINITIONS,
            BillingMode=BILLING_MODE,
        )
    except ClientError as exc:
        if _code(exc) != "ResourceInUseException":
            raise
    client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    table = client.describe_table(TableName=table_name)["Table"]
    if sorted(map(_pair, table["KeySchema"])) != sorted(map(_pair, KEY_SCHEMA)):
        raise StateStoreError(
            f"table {table_name} exists with key schema {table['KeySchema']}, expected {KEY_SCHEMA}"
        )
    return table


class DynamoDBRunStateStore(RunStateStore):
    """:class:`RunStateStore` in one DynamoDB table (see the module docstring for the keys)."""

    def __init__(self, table_name: str, client: Any = None, clock: Clock | None = None) -> None:
        if not table_name:
            raise ValueError("table_name must be non-empty")
        if client is None:
            import boto3  # honours AWS_ENDPOINT_URL (moto server in tests)

            client = boto3.client("dynamodb")
        self.table_name = table_name
        self._client = client
        self._clock: Clock = clock or utcnow

    def __repr__(self) -> str:
        return f"DynamoDBRunStateStore({self.table_name!r})"

    def claim_day(
        self, day: date, run_id: str, lease_seconds: int = DEFAULT_LEASE_SECONDS
    ) -> DayRun:
        check_day(day)
        check_run_id(run_id)
        now = now_ms(self._clock)
        lease = lease_until(now, lease_seconds)
        try:
            response = self._call(
                "update_item",
                TableName=self.table_name,
                Key=day_key(day),
                UpdateExpression=CLAIM_UPDATE,
                ConditionExpression=CLAIM_CONDITION,
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={
                    ":day": {"S": day.isoformat()},
                    ":running": {"S": DayStatus.RUNNING.value},
                    ":run_id": {"S": run_id},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":now": {"S": format_ts(now)},
                    ":lease": {"S": format_ts(lease)},
                    ":no_counts": {"M": {}},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            raise DayAlreadyClaimed(day, self._old_item(exc, day)) from None
        return item_to_day_run(response["Attributes"])

    def mark_succeeded(self, day: date, run_id: str, counts: Mapping[str, int]) -> DayRun:
        clean = check_counts(counts)
        return self._finish(
            day,
            run_id,
            SUCCEED_UPDATE,
            {
                ":succeeded": {"S": DayStatus.SUCCEEDED.value},
                ":counts": {"M": {k: {"N": str(v)} for k, v in clean.items()}},
            },
            names={"#status": "status", "#error": "error"},
        )

    def mark_failed(self, day: date, run_id: str, error: str) -> DayRun:
        return self._finish(
            day,
            run_id,
            FAIL_UPDATE,
            {
                ":failed": {"S": DayStatus.FAILED.value},
                ":error": {"S": truncate_error(error)},
            },
            names={"#status": "status", "#error": "error"},
        )

    def _finish(
        self,
        day: date,
        run_id: str,
        update: str,
        values: dict[str, dict[str, Any]],
        names: dict[str, str],
    ) -> DayRun:
        check_day(day)
        check_run_id(run_id)
        now = now_ms(self._clock)
        try:
            response = self._call(
                "update_item",
                TableName=self.table_name,
                Key=day_key(day),
                UpdateExpression=update,
                ConditionExpression=FINISH_CONDITION,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    **values,
                    ":running": {"S": DayStatus.RUNNING.value},
                    ":run_id": {"S": run_id},
                    ":now": {"S": format_ts(now)},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            raise NotClaimedByRun(day, run_id, self._old_item(exc, day)) from None
        return item_to_day_run(response["Attributes"])

    def get_day(self, day: date) -> DayRun | None:
        check_day(day)
        response = self._call(
            "get_item", TableName=self.table_name, Key=day_key(day), ConsistentRead=True
        )
        item = response.get("Item")
        return None if item is None else item_to_day_run(item)

    def list_days(self, start: date, end: date) -> list[DayRun]:
        """BatchGetItem over the day keys of the range (no scan, no index needed)."""
        day_range_check(start, end)
        days = [date.fromordinal(n) for n in range(start.toordinal(), end.toordinal() + 1)]
        found: list[DayRun] = []
        for offset in range(0, len(days), _BATCH_GET_MAX_KEYS):
            keys = [day_key(d) for d in days[offset : offset + _BATCH_GET_MAX_KEYS]]
            found.extend(item_to_day_run(item) for item in self._batch_get(keys))
        return sorted(found, key=lambda run: run.day)

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
        for round_no in range(_BATCH_GET_MAX_ROUNDS):
            response = self._call("batch_get_item", RequestItems=request)
            items.extend(response.get("Responses", {}).get(self.table_name, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return items
            time.sleep(min(2.0, 0.05 * 2**round_no))  # throttled: back off, then retry rest
        raise StateStoreError(
            f"{self.table_name}: BatchGetItem left keys unprocessed after "
            f"{_BATCH_GET_MAX_ROUNDS} rounds"
        )

    def advance_watermark(self, day: date, run_id: str) -> bool:
        check_day(day)
        check_run_id(run_id)
        now = now_ms(self._clock)
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=WATERMARK_KEY,
                UpdateExpression=WATERMARK_UPDATE,
                ConditionExpression=WATERMARK_CONDITION,
                ExpressionAttributeValues={
                    ":day": {"S": day.isoformat()},
                    ":run_id": {"S": run_id},
                    ":now": {"S": format_ts(now)},
                },
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def get_watermark(self) -> date | None:
        response = self._call(
            "get_item", TableName=self.table_name, Key=WATERMARK_KEY, ConsistentRead=True
        )
        item = response.get("Item")
        return None if item is None else date.fromisoformat(item["watermark_day"]["S"])

    # --- plumbing -----------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(**kwargs)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                raise StateStoreError(
                    f"DynamoDB state table {self.table_name!r} not found (create it with the "
                    "CloudFormation stack or wistia_pipeline.state.dynamodb.create_table)"
                ) from exc
            raise

    def _old_item(self, exc: ClientError, day: date) -> DayRun | None:
        item = exc.response.get("Item")
        if item is None:
            # Older endpoints ignore ReturnValuesOnConditionCheckFailure: read it instead.
            return self.get_day(day)
        return item_to_day_run(item)


def item_to_day_run(item: Mapping[str, Any]) -> DayRun:
    """Decode a day item (DynamoDB attribute-value JSON) into a :class:`DayRun`."""
    try:
        finished = item.get("finished_at")
        error = item.get("error")
        return DayRun(
            day=date.fromisoformat(item["day"]["S"]),
            status=DayStatus(item["status"]["S"]),
            run_id=item["run_id"]["S"],
            attempt=int(item["attempt"]["N"]),
            started_at=parse_ts(item["started_at"]["S"]),
            finished_at=None if finished is None or "NULL" in finished else parse_ts(finished["S"]),
            counts={k: int(v["N"]) for k, v in item.get("counts", {"M": {}})["M"].items()},
            error=None if error is None or "NULL" in error else error["S"],
            lease_expires_at=parse_ts(item["lease_expires_at"]["S"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        key = item.get(PARTITION_KEY, {}).get("S", "?")
        raise StateStoreError(f"malformed state item {key}: {exc!r}") from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _pair(entry: Mapping[str, str]) -> tuple[str, str]:
    return entry["AttributeName"], entry["KeyType"]
