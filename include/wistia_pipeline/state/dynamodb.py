"""DynamoDB run-state store for the AWS target: one on-demand table, conditional writes.

Key design (the single source for tests, docs/state-store.md and the CloudFormation template):

=================  =================  ======================  =================================
item               ``pk`` (HASH, S)   ``sk`` (RANGE, S)       other attributes
=================  =================  ======================  =================================
day run            ``DAY#YYYY-MM-DD`` ``RUN``                 day, status, run_id, attempt,
                                                              started_at, finished_at, counts,
                                                              error, lease_expires_at,
                                                              updated_at, overrides
watermark          ``WATERMARK``      ``PIPELINE``            watermark_day, run_id, updated_at
ingestion          ``INGEST#<run>``   ``INGESTION``           run_id, status, invocation_id,
                                                              request_key, attempt, invoked_at,
                                                              lease_expires_at, started_at,
                                                              request_id, log_group, finished_at,
                                                              summary, error_type, error,
                                                              updated_at
=================  =================  ======================  =================================

Every transition is one ``UpdateItem`` whose ``ConditionExpression`` encodes the rule, so
concurrent writers (Airflow workers, the Lambda, the Step Functions twin) see one winner.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from wistia_pipeline.dates import days_between, format_ts, parse_ts
from wistia_pipeline.state.base import (
    AuditEntry,
    CheckOverride,
    Clock,
    DayAlreadyClaimed,
    DayRun,
    DayStatus,
    HolderAlive,
    NotClaimedByRun,
    RunStateStore,
    StateStoreError,
    WatermarkChanged,
    live_holder,
    overrides_from_json,
    overrides_to_json,
    release_error,
)
from wistia_pipeline.state.ingestion import (
    IngestionRecord,
    IngestionRecords,
    IngestionRefused,
    IngestionStatus,
    record_from_fields,
)

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeDeserializer

# --- key schema: keep in sync with include/infra (CloudFormation) and docs/state-store.md ----
PARTITION_KEY = "pk"
SORT_KEY = "sk"
DAY_PK_PREFIX = "DAY#"
DAY_SK = "RUN"
WATERMARK_PK = "WATERMARK"
WATERMARK_SK = "PIPELINE"
AUDIT_PK = "AUDIT"  # sk: <at>#<action>#<day>; one item per manual intervention
INGEST_PK_PREFIX = "INGEST#"  # + the run id: the run's ingestion record (state.ingestion)
INGEST_SK = "INGESTION"
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
    "REMOVE finished_at, #error, overrides"
)
CLAIM_CONDITION = (
    "attribute_not_exists(pk) OR #status <> :running OR run_id = :run_id OR lease_expires_at < :now"
)
# overrides: a JSON string (state.base.overrides_to_json), "[]" when the run needed none.
SUCCEED_UPDATE = (
    "SET #status = :succeeded, finished_at = :now, counts = :counts, overrides = :overrides, "
    "updated_at = :now REMOVE #error"
)
FAIL_UPDATE = "SET #status = :failed, finished_at = :now, #error = :error, updated_at = :now"
FINISH_CONDITION = "#status = :running AND run_id = :run_id"
WATERMARK_UPDATE = "SET watermark_day = :day, run_id = :run_id, updated_at = :now"
WATERMARK_CONDITION = "attribute_not_exists(pk) OR watermark_day < :day"
# The heartbeat (renew_claim); the condition is FINISH_CONDITION's: RUNNING by this run.
RENEW_UPDATE = "SET lease_expires_at = :lease, updated_at = :now"
# release_day: like FAIL_UPDATE; the holder's lease must have lapsed (unless declared dead).
RELEASE_CONDITION = FINISH_CONDITION + " AND lease_expires_at < :now"
# repair_watermark: compare-and-set from the value the operator saw.
REPAIR_UPDATE = WATERMARK_UPDATE
REPAIR_CONDITION = "watermark_day = :expected"

# --- the ingestion record (state.ingestion; docs/state-store.md) ------------------------------
# The waiter (DAG task or twin) before its asynchronous invoke: a new invocation unless one is
# live or the record SUCCEEDED for the same request.
BEGIN_INGESTION_UPDATE = (
    "SET run_id = :run_id, #status = :invoked, invocation_id = :invocation_id, "
    "request_key = :request_key, attempt = if_not_exists(attempt, :zero) + :one, "
    "invoked_at = :now, lease_expires_at = :lease, updated_at = :now "
    "REMOVE started_at, finished_at, request_id, log_group, summary, error_type, #error"
)
BEGIN_INGESTION_CONDITION = (
    "attribute_not_exists(pk) OR #status = :failed "
    "OR (#status = :succeeded AND request_key <> :request_key) "
    "OR (#status <> :succeeded AND lease_expires_at < :now)"
)
# The Lambda: only the invocation the record names starts, once (a duplicate event is refused).
START_INGESTION_UPDATE = (
    "SET #status = :running, started_at = :now, request_id = :request_id, "
    "log_group = :log_group, lease_expires_at = :lease, updated_at = :now"
)
START_INGESTION_CONDITION = "#status = :invoked AND invocation_id = :invocation_id"
RENEW_INGESTION_UPDATE = "SET lease_expires_at = :lease, updated_at = :now"
INGESTION_OWNED_CONDITION = "#status = :running AND invocation_id = :invocation_id"
SUCCEED_INGESTION_UPDATE = (
    "SET #status = :succeeded, finished_at = :now, summary = :summary, updated_at = :now"
)
FAIL_INGESTION_UPDATE = (
    "SET #status = :failed, finished_at = :now, error_type = :error_type, #error = :error, "
    "updated_at = :now"
)
FAIL_INGESTION_CONDITION = (
    "(#status = :invoked OR #status = :running) AND invocation_id = :invocation_id"
)
# A waiter giving up on a silent Lambda: only once the lease lapsed.
FAIL_LAPSED_INGESTION_CONDITION = FAIL_INGESTION_CONDITION + " AND lease_expires_at < :now"

# --- the overlap guard of the Step Functions twin (a Scan filter; docs/state-store.md) -----------
# Live runs of other days whose window overlaps D's: pipeline.conflicting_runs as a
# FilterExpression. :from/:to = D - L / D + L, :day = D, :now = the claim time (timestamps are
# fixed-width ISO strings, so string order is time order). The watermark item has no ``day``.
OVERLAP_FILTER = (
    "#day BETWEEN :from AND :to AND #day <> :day AND #status = :running "
    "AND run_id <> :run_id AND lease_expires_at > :now"
)
OVERLAP_NAMES: Mapping[str, str] = {"#day": "day", "#status": "status"}

# placeholders of reserved words; DynamoDB refuses a request that names one it does not use
_NAMES = {"#status": "status", "#day": "day", "#error": "error"}
_BATCH_GET_MAX_KEYS = 100
_BATCH_GET_MAX_ROUNDS = 8


def day_key(day: date) -> dict[str, dict[str, str]]:
    return {
        PARTITION_KEY: {"S": DAY_PK_PREFIX + day.isoformat()},
        SORT_KEY: {"S": DAY_SK},
    }


def ingestion_key(run_id: str) -> dict[str, dict[str, str]]:
    return {PARTITION_KEY: {"S": INGEST_PK_PREFIX + run_id}, SORT_KEY: {"S": INGEST_SK}}


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


class DynamoDBRunStateStore(RunStateStore, IngestionRecords):
    """:class:`RunStateStore` in one DynamoDB table (see the module docstring for the keys)."""

    def __init__(self, table_name: str, client: Any = None, clock: Clock | None = None) -> None:
        if not table_name:
            raise ValueError("table_name must be non-empty")
        super().__init__(clock)
        if client is None:
            import boto3  # honours AWS_ENDPOINT_URL (moto server in tests)

            client = boto3.client("dynamodb")
        self.table_name = table_name
        self._client = client

    def __repr__(self) -> str:
        return f"DynamoDBRunStateStore({self.table_name!r})"

    # --- operations (arguments checked by RunStateStore) --------------------------------

    def _claim(self, day: date, run_id: str, now: datetime, lease: datetime) -> DayRun:
        values = {
            ":day": {"S": day.isoformat()},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
            ":lease": {"S": format_ts(lease)},
            ":no_counts": {"M": {}},
        }
        refused = functools.partial(DayAlreadyClaimed, day)
        return self._update_day(day, run_id, now, CLAIM_UPDATE, CLAIM_CONDITION, values, refused)

    def _claim_range(
        self,
        first: date,
        last: date,
        guard_first: date,
        guard_last: date,
        run_id: str,
        now: datetime,
        lease: datetime,
    ) -> list[DayRun]:
        # One TransactWriteItems: a claim Update per day of the range and a ConditionCheck
        # (the claim's own condition) per guard day, so a refusal writes nothing at all.
        common = {
            ":running": {"S": DayStatus.RUNNING.value},
            ":run_id": {"S": run_id},
            ":now": {"S": format_ts(now)},
        }
        items: list[dict[str, Any]] = []
        for day in days_between(guard_first, guard_last):
            if first <= day <= last:
                values = {
                    **common,
                    ":day": {"S": day.isoformat()},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":lease": {"S": format_ts(lease)},
                    ":no_counts": {"M": {}},
                }
                items.append({"Update": self._conditional(day, values, CLAIM_UPDATE)})
            else:
                items.append({"ConditionCheck": self._conditional(day, dict(common))})
        try:
            self._call("transact_write_items", TransactItems=items)
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            if not any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                raise
            band = self._list_days(guard_first, guard_last)
            holder = next((r for r in band if live_holder(r, run_id, now)), None)
            raise DayAlreadyClaimed(holder.day if holder else first, holder) from None
        return self._list_days(first, last)

    def _conditional(
        self, day: date, values: dict[str, Any], update: str | None = None
    ) -> dict[str, Any]:
        """A transaction item on ``day`` under :data:`CLAIM_CONDITION` (with ``update``: an
        Update, else a ConditionCheck)."""
        item: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": day_key(day),
            "ConditionExpression": CLAIM_CONDITION,
            "ExpressionAttributeNames": _names(update or "", CLAIM_CONDITION),
            "ExpressionAttributeValues": values,
        }
        if update is not None:
            item["UpdateExpression"] = update
        return item

    def _succeed(
        self,
        day: date,
        run_id: str,
        now: datetime,
        counts: dict[str, int],
        overrides: tuple[CheckOverride, ...],
    ) -> DayRun:
        values = {
            ":succeeded": {"S": DayStatus.SUCCEEDED.value},
            ":counts": {"M": {k: {"N": str(v)} for k, v in counts.items()}},
            ":overrides": {"S": overrides_to_json(overrides)},
        }
        return self._finish(day, run_id, now, SUCCEED_UPDATE, values)

    def _fail(self, day: date, run_id: str, now: datetime, error: str) -> DayRun:
        values = {":failed": {"S": DayStatus.FAILED.value}, ":error": {"S": error}}
        return self._finish(day, run_id, now, FAIL_UPDATE, values)

    def _finish(
        self, day: date, run_id: str, now: datetime, update: str, values: dict[str, Any]
    ) -> DayRun:
        refused = functools.partial(NotClaimedByRun, day, run_id)
        return self._update_day(day, run_id, now, update, FINISH_CONDITION, values, refused)

    def _update_day(
        self,
        day: date,
        run_id: str,
        now: datetime,
        update: str,
        condition: str,
        values: dict[str, dict[str, Any]],
        refused: Callable[[DayRun | None], StateStoreError],
    ) -> DayRun:
        """One conditional ``UpdateItem`` of the day's item; return the item as written. When
        the condition fails, raise ``refused(the item as it was)``."""
        try:
            response = self._call(
                "update_item",
                TableName=self.table_name,
                Key=day_key(day),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=_names(update, condition),
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
            raise refused(self._old_item(exc, day)) from None
        return item_to_day_run(response["Attributes"])

    def _renew(self, day: date, run_id: str, now: datetime, lease: datetime) -> DayRun:
        values = {":lease": {"S": format_ts(lease)}}
        refused = functools.partial(NotClaimedByRun, day, run_id)
        return self._update_day(day, run_id, now, RENEW_UPDATE, FINISH_CONDITION, values, refused)

    def _release(
        self, day: date, run_id: str, now: datetime, entry: AuditEntry, holder_dead: bool
    ) -> DayRun:
        holder = self.get_day(day)
        if holder is None or holder.status is not DayStatus.RUNNING or holder.run_id != run_id:
            raise NotClaimedByRun(day, run_id, holder)
        if holder.lease_expires_at >= now and not holder_dead:
            raise HolderAlive(holder)
        update = {
            "Key": day_key(day),
            "UpdateExpression": FAIL_UPDATE,
            "ConditionExpression": FINISH_CONDITION if holder_dead else RELEASE_CONDITION,
            "ExpressionAttributeNames": _names(FAIL_UPDATE, FINISH_CONDITION),
            "ExpressionAttributeValues": {
                ":failed": {"S": DayStatus.FAILED.value},
                ":error": {"S": release_error(entry, holder, holder_dead)},
                ":running": {"S": DayStatus.RUNNING.value},
                ":run_id": {"S": run_id},
                ":now": {"S": format_ts(now)},
            },
        }
        if not self._transact(update, entry):
            current = self.get_day(day)  # changed since the read: say what it is now
            if current is not None and current.run_id == run_id and not holder_dead:
                raise HolderAlive(current)
            raise NotClaimedByRun(day, run_id, current)
        released = self.get_day(day)
        if released is None:
            raise StateStoreError(f"day {day} vanished right after its release")
        return released

    def _repair_watermark(self, day: date, expected: date, entry: AuditEntry) -> None:
        update = {
            "Key": WATERMARK_KEY,
            "UpdateExpression": REPAIR_UPDATE,
            "ConditionExpression": REPAIR_CONDITION,
            "ExpressionAttributeValues": {
                ":day": {"S": day.isoformat()},
                ":run_id": {"S": f"repair by {entry.by}"},
                ":now": {"S": format_ts(entry.at)},
                ":expected": {"S": expected.isoformat()},
            },
        }
        if not self._transact(update, entry):
            raise WatermarkChanged(expected, self.get_watermark())

    def _transact(self, update: dict[str, Any], entry: AuditEntry) -> bool:
        """The conditional update and the audit item in one transaction; False if the
        update's condition failed (nothing written)."""
        audit = {
            PARTITION_KEY: {"S": AUDIT_PK},
            SORT_KEY: {"S": f"{format_ts(entry.at)}#{entry.action}#{entry.day.isoformat()}"},
            "at": {"S": format_ts(entry.at)},
            "action": {"S": entry.action},
            "by": {"S": entry.by},
            "reason": {"S": entry.reason},
            "day": {"S": entry.day.isoformat()},
            "previous": {"S": entry.previous},
        }
        try:
            self._call(
                "transact_write_items",
                TransactItems=[
                    {"Update": {"TableName": self.table_name, **update}},
                    {"Put": {"TableName": self.table_name, "Item": audit}},
                ],
            )
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or [{}]
            if reasons[0].get("Code") != "ConditionalCheckFailed":
                raise
            return False
        return True

    def audit_log(self) -> list[AuditEntry]:
        entries: list[AuditEntry] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": AUDIT_PK}},
            "ConsistentRead": True,
        }
        while True:
            response = self._call("query", **kwargs)
            for item in response.get("Items", []):
                entries.append(
                    AuditEntry(
                        at=parse_ts(item["at"]["S"]),
                        action=item["action"]["S"],
                        by=item["by"]["S"],
                        reason=item["reason"]["S"],
                        day=date.fromisoformat(item["day"]["S"]),
                        previous=item["previous"]["S"],
                    )
                )
            if "LastEvaluatedKey" not in response:
                return entries
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _get_day(self, day: date) -> DayRun | None:
        response = self._call(
            "get_item", TableName=self.table_name, Key=day_key(day), ConsistentRead=True
        )
        item = response.get("Item")
        return None if item is None else item_to_day_run(item)

    def _list_days(self, start: date, end: date) -> list[DayRun]:
        """BatchGetItem over the day keys of the range (no scan, no index needed)."""
        days = days_between(start, end)
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

    def _advance_watermark(self, day: date, run_id: str, now: datetime) -> bool:
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

    # --- the ingestion record (state.ingestion) -------------------------------------------

    def _get_ingestion(self, run_id: str) -> IngestionRecord | None:
        response = self._call(
            "get_item",
            TableName=self.table_name,
            Key=ingestion_key(run_id),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return None if item is None else item_to_ingestion(item)

    def _begin_ingestion(
        self, run_id: str, invocation_id: str, key: str, now: datetime, lease: datetime
    ) -> IngestionRecord:
        values = {
            ":invocation_id": {"S": invocation_id},
            ":request_key": {"S": key},
            ":lease": {"S": format_ts(lease)},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
        }
        return self._update_ingestion(
            run_id, now, "begin", BEGIN_INGESTION_UPDATE, BEGIN_INGESTION_CONDITION, values
        )

    def _start_ingestion(
        self,
        run_id: str,
        invocation_id: str,
        now: datetime,
        request_id: str,
        log_group: str,
        lease: datetime,
    ) -> IngestionRecord:
        values = {
            ":invocation_id": {"S": invocation_id},
            ":request_id": {"S": request_id},
            ":log_group": {"S": log_group},
            ":lease": {"S": format_ts(lease)},
        }
        return self._update_ingestion(
            run_id, now, "start", START_INGESTION_UPDATE, START_INGESTION_CONDITION, values
        )

    def _renew_ingestion(
        self, run_id: str, invocation_id: str, now: datetime, lease: datetime
    ) -> None:
        values = {":invocation_id": {"S": invocation_id}, ":lease": {"S": format_ts(lease)}}
        self._update_ingestion(
            run_id, now, "renew", RENEW_INGESTION_UPDATE, INGESTION_OWNED_CONDITION, values
        )

    def _succeed_ingestion(
        self, run_id: str, invocation_id: str, now: datetime, summary: str
    ) -> IngestionRecord:
        values = {":invocation_id": {"S": invocation_id}, ":summary": {"S": summary}}
        return self._update_ingestion(
            run_id, now, "succeed", SUCCEED_INGESTION_UPDATE, INGESTION_OWNED_CONDITION, values
        )

    def _fail_ingestion(
        self,
        run_id: str,
        invocation_id: str,
        now: datetime,
        error_type: str,
        error: str,
        lapsed_only: bool,
    ) -> IngestionRecord:
        values = {
            ":invocation_id": {"S": invocation_id},
            ":error_type": {"S": error_type},
            ":error": {"S": error},
        }
        condition = FAIL_LAPSED_INGESTION_CONDITION if lapsed_only else FAIL_INGESTION_CONDITION
        return self._update_ingestion(run_id, now, "fail", FAIL_INGESTION_UPDATE, condition, values)

    def _update_ingestion(
        self,
        run_id: str,
        now: datetime,
        action: str,
        update: str,
        condition: str,
        values: dict[str, dict[str, Any]],
    ) -> IngestionRecord:
        """One conditional ``UpdateItem`` of the run's ingestion item; refused ->
        :class:`IngestionRefused` with the item as it was."""
        common = {
            ":run_id": {"S": run_id},
            ":now": {"S": format_ts(now)},
            **{f":{s.value.lower()}": {"S": s.value} for s in IngestionStatus},
        }
        used = _placeholders(update, condition)
        try:
            response = self._call(
                "update_item",
                TableName=self.table_name,
                Key=ingestion_key(run_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=_names(update, condition),
                ExpressionAttributeValues={
                    k: v for k, v in {**common, **values}.items() if k in used
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item")
            current = item_to_ingestion(old) if old else self._get_ingestion(run_id)
            raise IngestionRefused(run_id, action, current) from None
        return item_to_ingestion(response["Attributes"])

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
        fields = {name: _deserializer().deserialize(value) for name, value in item.items()}
        finished = fields.get("finished_at")
        return DayRun(
            day=date.fromisoformat(fields["day"]),
            status=DayStatus(fields["status"]),
            run_id=fields["run_id"],
            attempt=int(fields["attempt"]),
            started_at=parse_ts(fields["started_at"]),
            finished_at=None if finished is None else parse_ts(finished),
            counts={k: int(v) for k, v in fields.get("counts", {}).items()},
            error=fields.get("error"),
            lease_expires_at=parse_ts(fields["lease_expires_at"]),
            overrides=overrides_from_json(fields.get("overrides")),
        )
    except (KeyError, ValueError, TypeError, AttributeError, IndexError, ArithmeticError) as exc:
        key = item.get(PARTITION_KEY, {}).get("S", "?")
        raise StateStoreError(f"malformed state item {key}: {exc!r}") from exc


def item_to_ingestion(item: Mapping[str, Any]) -> IngestionRecord:
    """Decode an ingestion item (DynamoDB attribute-value JSON) into an
    :class:`IngestionRecord`; the twin writes the same item."""
    try:
        fields = {name: _deserializer().deserialize(value) for name, value in item.items()}
        return record_from_fields(fields.get)
    except (KeyError, ValueError, TypeError, AttributeError, ArithmeticError) as exc:
        key = item.get(PARTITION_KEY, {}).get("S", "?")
        raise StateStoreError(f"malformed ingestion item {key}: {exc!r}") from exc


def _placeholders(*expressions: str) -> set[str]:
    """The ``:value`` placeholders ``expressions`` use (DynamoDB refuses unused ones)."""
    return {m for e in expressions for m in re.findall(r":[A-Za-z_]+", e)}


@functools.cache
def _deserializer() -> TypeDeserializer:
    # deferred: boto3 takes ~0.2 s to import; the twin builder needs only the expressions
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()


def _names(*expressions: str) -> dict[str, str]:
    """The attribute-name placeholders ``expressions`` use."""
    return {key: name for key, name in _NAMES.items() if any(key in e for e in expressions)}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _pair(entry: Mapping[str, str]) -> tuple[str, str]:
    return entry["AttributeName"], entry["KeyType"]
