"""The Step Functions twin of ``wistia_daily``, built from the same pipeline description.

    python -m wistia_pipeline.stepfunctions [--check]   # (re)write / verify include/stepfunctions/

Same steps, payload, Glue arguments, check SQL and DynamoDB run-state writes as the DAG; the
design (input, ``Prepare``, the overlap guard, failure handling) is in docs/stepfunctions.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from wistia_pipeline import pipeline
from wistia_pipeline.config import MAX_LOOKBACK_DAYS, MAX_RANGE_DAYS
from wistia_pipeline.publishing import staging_database
from wistia_pipeline.sql import list_queries, render_sql
from wistia_pipeline.state import dynamodb as ddb
from wistia_pipeline.state.base import DEFAULT_LEASE_SECONDS, MAX_CLAIM_ITEMS, DayStatus
from wistia_pipeline.state.ingestion import (
    INGEST_LEASE_SECONDS,
    INGEST_START_SECONDS,
    MAX_WAIT_POLL_SECONDS,
    IngestionStatus,
)

ASL_FILE = "wistia_daily.asl.json"
SCHEDULE_FILE = "wistia_daily.schedule.json"

SUBSTITUTIONS: Mapping[str, str] = {
    "LambdaFunctionName": "name or ARN of the ingestion Lambda",
    "IngestLogGroupName": "the ingestion Lambda's log group (named when it never starts)",
    "ReportFunctionName": "name or ARN of the report Lambda (the Report state)",
    "PublishFunctionName": "name or ARN of the publish Lambda (the Publish state)",
    "SilverJobName": "Glue job of the silver step",
    "GoldJobName": "Glue job of the gold step",
    "StateTableName": "DynamoDB run-state table",
    "LakeUri": "s3://bucket/prefix of the lake",
    "PiiSecretId": "Secrets Manager id of the PII hash key",
    "AthenaDatabase": "Glue/Athena database",
    "AthenaWorkGroup": "Athena workgroup",
    "AthenaOutputLocation": "s3:// location for check query results",
    "LookbackDays": "default L when the input has no lookback_days (the LookbackDays parameter)",
}

# JSONata picture of the state store's timestamps (dates.format_ts: YYYY-MM-DDTHH:MM:SS.sssZ).
_TS_PICTURE = "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001]Z"
_DAY_PICTURE = "[Y0001]-[M01]-[D01]"
_DAY_MS = 24 * 60 * 60 * 1000
_START_SENTINEL = "1901-01-01"
_END_SENTINEL = "1902-02-02"
_DB_SENTINEL = "sfnsentineldb"
# The checks read the run's staged silver and gold (wistia_pipeline.publishing).
_STAGING_DB = staging_database("${AthenaDatabase}")
ADVANCE_WATERMARK = "AdvanceWatermark"
INGESTION_ENTRY = "IngestionTimes"

# The run id is the execution name; "now" of a run-state write is the state's entry time.
_RUN_ID = "$$.Execution.Name"
_ENTERED = "$$.State.EnteredTime"
_CONDITION_FAILED = "DynamoDB.ConditionalCheckFailedException"
_FINISH_NAMES = {"#status": "status", "#error": "error"}
MARK_SUCCEEDED = "MarkSucceeded"
# After the report (or its failure): on to the end the run reached before it.
AFTER_REPORT, RUN_SUCCEEDED, RUN_FAILED = "AfterReport", "RunSucceeded", "RunFailed"

TRANSIENT_LAMBDA = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
TRANSIENT_GLUE = ["Glue.ConcurrentRunsExceededException", "Glue.InternalServiceException"]
TRANSIENT_ATHENA = ["Athena.TooManyRequestsException", "Athena.InternalServerException"]
TRANSIENT_AWS = [
    "States.Timeout",
    "ThrottlingException",
    "DynamoDB.ProvisionedThroughputExceededException",
]
# AWS SDK integrations (aws-sdk:dynamodb:...) name errors after the SDK's service name.
TRANSIENT_AWS_SDK_DYNAMODB = [
    "States.Timeout",
    "DynamoDb.ProvisionedThroughputExceededException",
    "DynamoDb.RequestLimitExceededException",
    "DynamoDb.InternalServerErrorException",
    "DynamoDb.ThrottlingException",
]
OVERLAP_ERROR = "OverlappingRunLive"
# The range [range_start, logical_date] is checked before anything is read or written.
RANGE_CHECK, RANGE_ERROR = "CheckRange", "InvalidRange"
TRANSACTION_CANCELED = "DynamoDb.TransactionCanceledException"
if MAX_RANGE_DAYS + 2 * MAX_LOOKBACK_DAYS > MAX_CLAIM_ITEMS:  # the claim is one transaction
    raise AssertionError(
        "a range claim of MAX_RANGE_DAYS and 2 x MAX_LOOKBACK_DAYS guard days "
        f"exceeds {MAX_CLAIM_ITEMS} transaction items"
    )
# The guard's states, in the order the main line passes them (NeedsPrepare/Prepare -> ClaimDay).
OVERLAP_SCAN, OVERLAP_CHOICE, OVERLAP_NEXT_PAGE = (
    "FindOverlappingRuns",
    "OverlappingRunFound",
    "FindOverlappingRunsNextPage",
)


# --- small pieces shared by the states -----------------------------------------------------


def _sub(name: str) -> str:
    if name not in SUBSTITUTIONS:
        raise KeyError(f"unknown substitution {name}")
    return "${" + name + "}"


def _retry(errors: list[str], attempts: int = 3, interval: int = 10) -> list[dict[str, Any]]:
    return [
        {
            "ErrorEquals": errors,
            "IntervalSeconds": interval,
            "MaxAttempts": attempts,
            "BackoffRate": 2.0,
            "JitterStrategy": "FULL",
        }
    ]


def _catch() -> list[dict[str, Any]]:
    return [
        {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": "$.error",
            "Next": pipeline.MARK_FAILED.state_name,
        }
    ]


def _after(step: pipeline.Step) -> str:
    """The state after ``step`` on the main line (``pipeline.STEPS``, then MarkSucceeded)."""
    later = pipeline.STEPS[pipeline.STEPS.index(step) + 1 :]
    return later[0].state_name if later else MARK_SUCCEEDED


def _holder(now: str) -> dict[str, Any]:
    """The values naming a live claim: RUNNING, this execution's run id, ``now`` (a path)."""
    return {
        ":running": {"S": DayStatus.RUNNING.value},
        ":run_id": {"S.$": _RUN_ID},
        ":now": {"S.$": now},
    }


def _update_item(
    comment: str,
    *,
    key: dict[str, Any],
    update: str,
    condition: str,
    values: dict[str, Any],
    names: dict[str, str] | None = None,
    **tail: Any,
) -> dict[str, Any]:
    """A ``dynamodb:updateItem`` task on the state table; ``tail`` is its Catch and Next/End."""
    parameters = {
        "TableName": _sub("StateTableName"),
        "Key": key,
        "UpdateExpression": update,
        "ConditionExpression": condition,
        **({"ExpressionAttributeNames": names} if names else {}),
        "ExpressionAttributeValues": values,
    }
    return {
        "Type": "Task",
        "Comment": comment,
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "Parameters": parameters,
        "ResultPath": None,
        "Retry": _retry(TRANSIENT_AWS),
        **tail,
    }


# --- the states, in main-line order ---------------------------------------------------------


def _given_or(field: str, default: str) -> str:
    """JSONata: the input's ``field`` if the caller gave it, else ``default``."""
    return f"$exists($states.input.{field}) ? $states.input.{field} : {default}"


def _default_lookback() -> str:
    """JSONata for the stack's ``LookbackDays``: a number once CloudFormation (or :func:`render`)
    substitutes it. The placeholder sits in a string literal, so the unrendered definition is
    still valid JSONata (``$number`` of the placeholder fails only if ever evaluated)."""
    return f"$number('{_sub('LookbackDays')}')"


def _prepare_output(lease_seconds: int) -> tuple[list[str], str]:
    """Prepare's fields and its JSONata ``Output`` expression (``$d`` = D = D2, ``$d1`` = D1,
    ``$l`` = L)."""
    variables = {
        "$ts": f"'{_TS_PICTURE}'",
        "$dp": f"'{_DAY_PICTURE}'",
        "$now": "$toMillis($states.context.State.EnteredTime)",
        "$start": "$toMillis($states.context.Execution.StartTime)",
        "$d": _given_or("logical_date", f"$fromMillis($start - {_DAY_MS}, $dp)"),
        "$d1": _given_or("range_start", "$d"),
        "$l": _given_or("lookback_days", _default_lookback()),
        "$dms": "$toMillis($d, $dp)",
    }
    fields = {
        "logical_date": "$d",
        "range_start": "$d1",
        "lookback_days": "$l",
        "streams": _given_or("streams", json.dumps(list(pipeline.ALL_STREAMS))),
        "claimed_at": "$fromMillis($now, $ts)",
        "lease_expires_at": f"$fromMillis($now + {int(lease_seconds) * 1000}, $ts)",
        "overlap_from": f"$fromMillis($toMillis($d1, $dp) - $l * {_DAY_MS}, $dp)",
        "overlap_to": f"$fromMillis($dms + $l * {_DAY_MS}, $dp)",
    }
    bindings = [f"{name} := {value}" for name, value in variables.items()]
    record = "{ " + ", ".join(f"'{name}': {value}" for name, value in fields.items()) + " }"
    return list(fields), "{% ( " + "; ".join([*bindings, record]) + " ) %}"


def _prepare(lease_seconds: int) -> dict[str, Any]:
    """NeedsPrepare -> Prepare: default what the caller did not give; skipped if it gave all."""
    fields, output = _prepare_output(lease_seconds)
    given = [{"Variable": f"$.{field}", "IsPresent": True} for field in fields]
    return {
        "NeedsPrepare": {
            "Type": "Choice",
            "Comment": "Skip Prepare when the caller gives the day, the claim times and the bounds.",
            "Choices": [{"And": given, "Next": RANGE_CHECK}],
            "Default": "Prepare",
        },
        "Prepare": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Comment": "Default D = yesterday (UTC), range_start = D (the daily run) and L = the "
            "stack's LookbackDays; lease = now + lease seconds; neighbour bounds D1 - L, D2 + L.",
            # The context's timestamps drop a zero fraction ("...:07Z"); the claim times are
            # re-rendered in the store's fixed-width format so they compare as strings like the
            # DAG's (CLAIM_CONDITION: lease_expires_at < :now).
            "Output": output,
            "Next": RANGE_CHECK,
        },
        **_range_check(),
    }


def _range_bindings() -> list[str]:
    """JSONata bindings of the range: ``$first`` = D1 (epoch ms), ``$n`` = its days, ``$l`` = L."""
    return [
        f"$dp := '{_DAY_PICTURE}'",
        "$first := $toMillis($states.input.range_start, $dp)",
        f"$n := ($toMillis($states.input.logical_date, $dp) - $first) / {_DAY_MS} + 1",
        "$l := $states.input.lookback_days",
    ]


def _range_check() -> dict[str, Any]:
    """CheckRange: D1 <= D2, at most ``MAX_RANGE_DAYS`` days (the DAG's and the Lambda's bound)
    and L a whole number of days up to ``MAX_LOOKBACK_DAYS``, so the claim's transaction (the
    days and 2 L guard days) fits; else InvalidRange, before anything is read or written."""
    valid = (
        f"$n >= 1 and $n <= {MAX_RANGE_DAYS} and $type($l) = 'number' and $l >= 0 "
        f"and $l <= {MAX_LOOKBACK_DAYS} and $floor($l) = $l"
    )
    cause = (
        "'cannot run ' & $states.input.range_start & '..' & $states.input.logical_date & "
        "' with lookback_days ' & $string($l) & ': a run covers 1 to "
        f"{MAX_RANGE_DAYS} days (range_start on or before logical_date) and lookback_days is "
        f"a whole number in 0..{MAX_LOOKBACK_DAYS}'"
    )
    return {
        RANGE_CHECK: {
            "Type": "Choice",
            "QueryLanguage": "JSONata",
            "Comment": f"The range [range_start, logical_date]: 1..{MAX_RANGE_DAYS} days "
            "(config.MAX_RANGE_DAYS); L in 0..MAX_LOOKBACK_DAYS.",
            "Choices": [
                {
                    "Condition": "{% ( "
                    + "; ".join([*_range_bindings(), f"$not({valid})"])
                    + " ) %}",
                    "Next": RANGE_ERROR,
                }
            ],
            "Default": OVERLAP_SCAN,
        },
        RANGE_ERROR: {
            "Type": "Fail",
            "QueryLanguage": "JSONata",
            "Comment": "Not through MarkFailed: nothing is claimed.",
            "Error": RANGE_ERROR,
            "Cause": "{% ( " + "; ".join([*_range_bindings(), cause]) + " ) %}",
        },
    }


def overlap_scan_parameters() -> dict[str, Any]:
    """The guard's ``Scan`` (first page): :func:`pipeline.conflicting_runs` as a filter.

    One item per day and a few attributes each, so the whole table is a few hundred bytes a day;
    ``Scan`` pages stop at 1 MB (years of days) and the guard follows ``LastEvaluatedKey``.
    """
    return {
        "TableName": _sub("StateTableName"),
        "FilterExpression": ddb.OVERLAP_FILTER,
        "ProjectionExpression": "#day, run_id, lease_expires_at",
        "ExpressionAttributeNames": dict(ddb.OVERLAP_NAMES),
        "ExpressionAttributeValues": {
            ":from": {"S.$": "$.overlap_from"},
            ":to": {"S.$": "$.overlap_to"},
            ":day": {"S.$": "$.logical_date"},
            **_holder("$.claimed_at"),
        },
        "ConsistentRead": True,
    }


def _overlap_scan(comment: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """One page of the guard's ``Scan`` into ``$.overlap``, then the guard's Choice."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:dynamodb:scan",
        "ResultPath": "$.overlap",
        "Retry": _retry(TRANSIENT_AWS_SDK_DYNAMODB),
        "Next": OVERLAP_CHOICE,
        "Comment": comment,
        "Parameters": parameters,
    }


def _overlap_guard() -> dict[str, Any]:
    """Scan (page by page) -> Choice: any live overlapping run fails before the claim."""
    next_page = {**overlap_scan_parameters(), "ExclusiveStartKey.$": "$.overlap.LastEvaluatedKey"}
    return {
        OVERLAP_SCAN: _overlap_scan(
            "Live runs (RUNNING, other run id, unexpired lease) of days D' with "
            "0 < |D' - D| <= L: their windows overlap D's (pipeline.conflicting_runs).",
            overlap_scan_parameters(),
        ),
        OVERLAP_CHOICE: {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.overlap.Count", "NumericGreaterThan": 0, "Next": OVERLAP_ERROR},
                {
                    "Variable": "$.overlap.LastEvaluatedKey",
                    "IsPresent": True,
                    "Next": OVERLAP_NEXT_PAGE,
                },
            ],
            "Default": pipeline.CLAIM.state_name,
        },
        OVERLAP_NEXT_PAGE: _overlap_scan("The next 1 MB page of the scan.", next_page),
        OVERLAP_ERROR: {
            "Type": "Fail",
            "Comment": "Not through MarkFailed: D is not claimed by this execution.",
            "Error": OVERLAP_ERROR,
            "CausePath": "States.Format('cannot claim {}..{}: runs with overlapping windows are "
            "live: {}', $.range_start, $.logical_date, States.JsonToString($.overlap.Items))",
        },
    }


def _jsonata_object(value: Any, expressions: Mapping[str, str]) -> str:
    """``value`` (JSON) as a JSONata object constructor, each marker string in ``expressions``
    replaced by its JSONata expression (JSON's double-quoted strings are JSONata strings)."""
    text = json.dumps(value)
    for marker, expression in expressions.items():
        text = text.replace(json.dumps(marker), expression)
    return text


def _day_transaction(item: str, first: str, count: str, bindings: list[str]) -> str:
    """JSONata: the ``TransactItems`` of one ``TransactWriteItems`` over days. ``item`` is one
    day's item, with ``$i`` (its index), ``$day`` (YYYY-MM-DD) and ``$key`` (the day's key)
    bound; the days are ``count`` days from the day ``first`` days after D1."""
    key = _jsonata_object(
        {ddb.PARTITION_KEY: {"S": "@day@"}, ddb.SORT_KEY: {"S": ddb.DAY_SK}},
        {"@day@": f"'{ddb.DAY_PK_PREFIX}' & $day"},
    )
    each = (
        f"function($i) {{ ( $day := $fromMillis($first + ($i + {first}) * {_DAY_MS}, $dp); "
        f"$key := {key}; {item} ) }}"
    )
    # [ ... ] keeps a one-day range a list (JSONata unwraps a one-item sequence).
    body = f"[ $map([0..({count}) - 1], {each}) ]"
    return "{% ( " + "; ".join([*_range_bindings(), *bindings, body]) + " ) %}"


def _transaction_task(comment: str, items: str, **tail: Any) -> dict[str, Any]:
    """A JSONata ``aws-sdk:dynamodb:transactWriteItems`` task; its output is its input."""
    return {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Comment": comment,
        "Resource": "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems",
        "Arguments": {"TransactItems": items},
        "Output": "{% $states.input %}",
        "Retry": _retry(TRANSIENT_AWS_SDK_DYNAMODB),
        **tail,
    }


def claim_transaction() -> str:
    """JSONata for ClaimDay's ``TransactItems``: the store's ``claim_range(D1, D2, run,
    guard_days=L)`` transaction, item for item (``DynamoDBRunStateStore._claim_range``): over
    the days D1 - L .. D2 + L in order, a claim ``Update`` (``CLAIM_UPDATE`` under
    ``CLAIM_CONDITION``) on each day of the range and a ``ConditionCheck`` (the same condition)
    on each guard day; so a day held by a live run refuses the whole claim."""
    common = {
        ":running": {"S": DayStatus.RUNNING.value},
        ":run_id": {"S": "@run@"},
        ":now": {"S": "@now@"},
    }
    target = {"TableName": _sub("StateTableName"), "Key": "@key@"}
    check = {
        **target,
        "ConditionExpression": ddb.CLAIM_CONDITION,
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": common,
    }
    values = {
        **common,
        ":day": {"S": "@day@"},
        ":zero": {"N": "0"},
        ":one": {"N": "1"},
        ":lease": {"S": "@lease@"},
        ":no_counts": {"M": {}},
    }
    update = {
        **check,
        "ExpressionAttributeNames": {"#status": "status", "#day": "day", "#error": "error"},
        "ExpressionAttributeValues": values,
        "UpdateExpression": ddb.CLAIM_UPDATE,
    }
    dynamic = {
        "@key@": "$key",
        "@day@": "$day",
        "@run@": "$states.context.Execution.Name",
        "@now@": "$states.input.claimed_at",
        "@lease@": "$states.input.lease_expires_at",
    }
    item = (
        f"($i < $l or $i >= $l + $n) ? {_jsonata_object({'ConditionCheck': check}, dynamic)} "
        f": {_jsonata_object({'Update': update}, dynamic)}"
    )
    return _day_transaction(item, "-$l", "$n + 2 * $l", [])


def _claim() -> dict[str, Any]:
    """ClaimDay: every day of [D1, D2] and the guard in one transaction (the DAG's claim_range);
    refused (nothing written) -> DayAlreadyClaimed."""
    claim = _transaction_task(
        pipeline.CLAIM.doc + " Every day of [range_start, logical_date], refused while a live "
        "run holds one of them or of the L days around them (one transaction).",
        claim_transaction(),
        Catch=[
            {
                "ErrorEquals": [TRANSACTION_CANCELED],
                "Output": "{% $merge([$states.input, {'error': $states.errorOutput}]) %}",
                "Next": "DayAlreadyClaimed",
            }
        ],
        Next=INGESTION_ENTRY,  # the Ingest step begins with its record
    )
    return {
        pipeline.CLAIM.state_name: claim,
        "DayAlreadyClaimed": {
            "Type": "Fail",
            "Comment": "Not through MarkFailed: the range is not claimed by this execution.",
            "Error": "DayAlreadyClaimed",
            "CausePath": "States.Format('cannot claim {}..{}: another live run (RUNNING with an "
            "unexpired lease) holds a day of the range or of the lookback_days around it; "
            "nothing was written ({})', $.range_start, $.logical_date, $.error.Cause)",
        },
    }


def _ingestion_key() -> dict[str, Any]:
    return {
        ddb.PARTITION_KEY: {"S.$": f"States.Format('{ddb.INGEST_PK_PREFIX}{{}}', {_RUN_ID})"},
        ddb.SORT_KEY: {"S": ddb.INGEST_SK},
    }


def lambda_payload(lease_seconds: int = INGEST_LEASE_SECONDS) -> str:
    """JSONata: the ingestion Lambda's event, :func:`pipeline.lambda_payload`'s (``range_start``
    only for a range, D1 < D2) plus the asynchronous invocation (id = the execution name)."""
    run = "$states.context.Execution.Name"
    payload = _jsonata_object(
        {
            "logical_date": "@d@",
            "lookback_days": "@l@",
            "streams": "@streams@",
            "run_id": "@run@",
            "invocation": {"id": "@run@", "lease_seconds": lease_seconds},
        },
        {
            "@d@": "$states.input.logical_date",
            "@l@": "$states.input.lookback_days",
            "@streams@": "$states.input.streams",
            "@run@": run,
        },
    )
    first = "$states.input.range_start"
    return (
        f"$merge([{payload}, {first} < $states.input.logical_date ? {{'range_start': {first}}} "
        ": {}])"
    )


def _ingestion_begin(start_seconds: int, lease_seconds: int) -> dict[str, Any]:
    """IngestionTimes (JSONata: the record's fixed-width times and the Lambda's event) ->
    BeginIngestion: the run's ingestion record INVOKED by this execution (the store's
    begin_ingestion write)."""
    now = f"$fromMillis($millis(), '{_TS_PICTURE}')"
    deadline = f"$fromMillis($millis() + {start_seconds * 1000}, '{_TS_PICTURE}')"
    values = {
        ":run_id": {"S.$": _RUN_ID},
        ":invocation_id": {"S.$": _RUN_ID},
        ":request_key": {"S.$": _RUN_ID},
        ":now": {"S.$": "$.ingestion_times.now"},
        ":lease": {"S.$": "$.ingestion_times.start_deadline"},
        ":zero": {"N": "0"},
        ":one": {"N": "1"},
        **{f":{s.value.lower()}": {"S": s.value} for s in IngestionStatus},
    }
    used = set(re.findall(r":[a-z_]+", ddb.BEGIN_INGESTION_UPDATE + ddb.BEGIN_INGESTION_CONDITION))
    return {
        INGESTION_ENTRY: {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Comment": "The ingestion record's times in the store's fixed-width format, and the "
            "ingestion Lambda's event.",
            "Output": "{% $merge([$states.input, {'ingestion_times': {'now': "
            + now
            + ", 'start_deadline': "
            + deadline
            + "}, 'ingest_payload': "
            + lambda_payload(lease_seconds)
            + "}]) %}",
            "Next": "BeginIngestion",
        },
        "BeginIngestion": _update_item(
            "The run's ingestion record INVOKED by this execution (its start deadline), before "
            "the asynchronous invoke (state.ingestion).",
            key=_ingestion_key(),
            update=ddb.BEGIN_INGESTION_UPDATE,
            condition=ddb.BEGIN_INGESTION_CONDITION,
            names={"#status": "status", "#error": "error"},
            values={k: v for k, v in values.items() if k in used},
            Catch=_catch(),
            Next=pipeline.INGEST.state_name,
        ),
    }


def _ingestion_wait(poll_seconds: int) -> dict[str, Any]:
    """Wait -> read the record -> SUCCEEDED (the summary), FAILED (the Lambda's error), a lapsed
    lease (a crash, or a start that never happened), or wait again: the DAG's waiter's rule
    (state.ingestion.waiter_verdict)."""
    item = "$.ingestion.Item"
    lapsed = {
        "Variable": f"{item}.lease_expires_at.S",
        "TimestampLessThanPath": "$.ingestion.read_at",
    }

    def status(value: IngestionStatus) -> dict[str, Any]:
        return {"Variable": f"{item}.status.S", "StringEquals": value.value}

    return {
        "WaitForIngestion": {"Type": "Wait", "Seconds": poll_seconds, "Next": "ReadIngestion"},
        "ReadIngestion": {
            "Type": "Task",
            "Comment": "One short read of the run's ingestion record (and when it was read).",
            "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {
                "TableName": _sub("StateTableName"),
                "Key": _ingestion_key(),
                "ConsistentRead": True,
            },
            "ResultSelector": {"Item.$": "$.Item", "read_at.$": _ENTERED},
            "ResultPath": "$.ingestion",
            "Retry": _retry(TRANSIENT_AWS),
            "Catch": _catch(),
            "Next": "IngestionOutcome",
        },
        "IngestionOutcome": {
            "Type": "Choice",
            "Choices": [
                {**status(IngestionStatus.SUCCEEDED), "Next": "IngestionSummary"},
                {**status(IngestionStatus.FAILED), "Next": "IngestionFailed"},
                {"And": [status(IngestionStatus.RUNNING), lapsed], "Next": "IngestionStopped"},
                {"And": [status(IngestionStatus.INVOKED), lapsed], "Next": "IngestionNotStarted"},
            ],
            "Default": "WaitForIngestion",
        },
        "IngestionSummary": {
            "Type": "Pass",
            "Parameters": {"summary.$": f"States.StringToJson({item}.summary.S)"},
            "ResultPath": "$.ingestion",
            "Next": "IngestionWindow",
        },
        "IngestionWindow": {
            "Type": "Pass",
            "Comment": "What the later states use of the Lambda's summary.",
            "Parameters": {
                f"{key}.$": f"$.ingestion.summary.{key}"
                for key in ("window_start", "window_end", "requests_total")
            },
            "ResultPath": "$.ingest",
            "Next": _after(pipeline.INGEST),
        },
        **_ingestion_errors(item),
    }


def _ingestion_errors(item: str) -> dict[str, Any]:
    """The three ways the wait fails into MarkFailed, as ``$.error`` {Error, Cause}."""
    stopped = (
        "States.Format('the ingestion Lambda (request id {}) stopped renewing its lease, which "
        "lapsed at {} (killed, out of memory or crashed); see the log group {}, request id {}', "
        f"{item}.request_id.S, {item}.lease_expires_at.S, {item}.log_group.S, "
        f"{item}.request_id.S)"
    )
    not_started = (
        "States.Format('the ingestion Lambda did not start invocation {} by {} (throttled past "
        "its maximum event age, or its init failed); see the log group "
        f"{_sub('IngestLogGroupName')}', {item}.invocation_id.S, {item}.lease_expires_at.S)"
    )

    def fail(parameters: dict[str, str]) -> dict[str, Any]:
        return {
            "Type": "Pass",
            "Parameters": parameters,
            "ResultPath": "$.error",
            "Next": pipeline.MARK_FAILED.state_name,
        }

    return {
        "IngestionFailed": fail({"Error.$": f"{item}.error_type.S", "Cause.$": f"{item}.error.S"}),
        "IngestionStopped": fail({"Error": "IngestionLambdaLost", "Cause.$": stopped}),
        "IngestionNotStarted": fail({"Error": "IngestionLambdaLost", "Cause.$": not_started}),
    }


def _ingest(
    lease_seconds: int = INGEST_LEASE_SECONDS,
    start_seconds: int = INGEST_START_SECONDS,
    poll_seconds: int = int(MAX_WAIT_POLL_SECONDS),
) -> dict[str, Any]:
    """Ingest: the Lambda with the DAG's payload, invoked asynchronously (no state waits on a
    connection while it works), then the wait on the run's ingestion record, whose summary
    gives the window ([D1 - L, D2]: the Glue jobs', the checks' and publish's)."""
    return {
        **_ingestion_begin(start_seconds, lease_seconds),
        pipeline.INGEST.state_name: {
            "Type": "Task",
            "Comment": pipeline.INGEST.doc,
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": _sub("LambdaFunctionName"),
                "InvocationType": "Event",
                "Payload.$": "$.ingest_payload",
            },
            "ResultPath": None,
            "Retry": _retry(TRANSIENT_LAMBDA),
            "Catch": _catch(),
            "Next": "WaitForIngestion",
        },
        **_ingestion_wait(poll_seconds),
    }


def _glue_arguments() -> dict[str, str]:
    """The Glue job arguments bound to the window: exactly the DAG's (checked, so no drift)."""
    bound = {
        "--start_date.$": "$.ingest.window_start",
        "--end_date.$": "$.ingest.window_end",
        "--lake_uri": _sub("LakeUri"),
        "--run_id.$": _RUN_ID,
        "--pii_secret_id": _sub("PiiSecretId"),
    }
    day = date(2000, 1, 1)
    dag_args = pipeline.glue_arguments(
        pipeline.glue_job_args(day, day, "s3://lake", "run", _sub("PiiSecretId"))
    )
    if {name.removesuffix(".$") for name in bound} != set(dag_args):
        raise AssertionError(f"Glue arguments drifted from pipeline.glue_job_args: {dag_args}")
    return bound


def _glue(*steps: pipeline.Step) -> dict[str, Any]:
    """One ``startJobRun.sync`` task per Glue step, its job the ``<State>JobName`` substitution."""
    arguments = _glue_arguments()
    return {
        step.state_name: {
            "Type": "Task",
            "Comment": step.doc,
            "Resource": "arn:aws:states:::glue:startJobRun.sync",
            "Parameters": {
                "JobName": _sub(f"{step.state_name}JobName"),
                "Arguments": dict(arguments),
            },
            "ResultSelector": {"JobRunId.$": "$.Id", "JobRunState.$": "$.JobRunState"},
            "ResultPath": f"$.{step.task_id}",
            "Retry": _retry(TRANSIENT_GLUE, attempts=2, interval=60),
            "Catch": _catch(),
            "Next": _after(step),
        }
        for step in steps
    }


def check_query_parts(name: str, tolerance: float) -> tuple[dict[str, str], str]:
    """Check ``name``'s Athena SQL as literal parts plus a ``States.Format`` expression that
    joins them with the execution's window.

    The SQL is the one :func:`wistia_pipeline.sql.render_sql` renders for the DAG, with the window
    bound at run time and the staging database (the checks read the run's staged output) bound
    by CloudFormation. The literal parts travel as JSON
    strings (a ``Pass`` state's ``Result``), so the format template holds only ``{}``: no SQL
    quote or brace needs intrinsic-function escaping.
    """
    sql = render_sql(
        "checks",
        name,
        start_date=_START_SENTINEL,
        end_date=_END_SENTINEL,
        database=_DB_SENTINEL,
        tolerance=tolerance,
    )
    lines = [ln.rstrip() for ln in sql.splitlines() if not ln.strip().startswith("--")]
    if any(" --" in ln for ln in lines):
        raise ValueError(f"check {name}: trailing SQL comments cannot be inlined into ASL")
    flat = " ".join(ln.strip() for ln in lines if ln.strip())
    window = {_START_SENTINEL: "$.ingest.window_start", _END_SENTINEL: "$.ingest.window_end"}
    parts: dict[str, str] = {}
    args: list[str] = []
    for chunk in re.split(f"({_START_SENTINEL}|{_END_SENTINEL})", flat):
        if chunk in window:
            args.append(window[chunk])
        elif chunk:
            key = f"p{len(parts)}"
            parts[key] = chunk.replace(_DB_SENTINEL, _STAGING_DB)
            args.append(f"$.sql.{key}")
    template = "{}" * len(args)
    return parts, f"States.Format('{template}', {', '.join(args)})"


def _athena_query(query_format: str, next_state: str) -> dict[str, Any]:
    """Run one check query in Athena (to completion); keep its execution id."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
        "Parameters": {
            "QueryString.$": query_format,
            "QueryExecutionContext": {"Database": _STAGING_DB},
            "WorkGroup": _sub("AthenaWorkGroup"),
            "ResultConfiguration": {"OutputLocation": _sub("AthenaOutputLocation")},
        },
        "ResultSelector": {"QueryExecutionId.$": "$.QueryExecution.QueryExecutionId"},
        "ResultPath": "$.query",
        "Retry": _retry(TRANSIENT_ATHENA),
        "Next": next_state,
    }


def _check(name: str, tolerance: float, next_state: str) -> dict[str, Any]:
    """One check: its SQL (Pass) -> Athena -> its one result row -> on to ``next_state`` or fail."""
    parts, query_format = check_query_parts(name, tolerance)
    run, read, judge = f"Run_{name}", f"Read_{name}", f"Judge_{name}"
    row = "$.ResultSet.Rows[1].Data"  # row 0 is the header: check_name, failures, detail
    return {
        f"Sql_{name}": {
            "Type": "Pass",
            "Comment": f"checks/{name}.sql (rendered like the DAG's), split at the window dates",
            "Result": parts,
            "ResultPath": "$.sql",
            "Next": run,
        },
        run: _athena_query(query_format, read),
        read: {
            "Type": "Task",
            "Resource": "arn:aws:states:::athena:getQueryResults",
            "Parameters": {"QueryExecutionId.$": "$.query.QueryExecutionId", "MaxResults": 2},
            "ResultSelector": {
                f"{column}.$": f"{row}[{i}].VarCharValue"
                for i, column in enumerate(("check_name", "failures", "detail"))
            },
            "ResultPath": "$.check",
            "Next": judge,
        },
        judge: {
            "Type": "Choice",
            "Choices": [{"Variable": "$.check.failures", "StringEquals": "0", "Next": next_state}],
            "Default": "CheckFailed",
        },
    }


def _checks(checks: list[str], tolerance: float) -> dict[str, Any]:
    """Checks: a ``Parallel`` state (for its Catch) running the checks in turn; a failure fails it."""
    branch: dict[str, Any] = {}
    following = [f"Sql_{name}" for name in checks[1:]] + ["ChecksPassed"]
    for name, next_state in zip(checks, following, strict=True):
        branch.update(_check(name, tolerance, next_state))
    branch["ChecksPassed"] = {"Type": "Succeed"}
    branch["CheckFailed"] = {
        "Type": "Fail",
        "Error": "DataCheckFailed",
        "CausePath": "States.JsonToString($.check)",
    }
    return {
        pipeline.CHECKS.state_name: {
            "Type": "Parallel",
            "Comment": pipeline.CHECKS.doc,
            "Branches": [{"StartAt": f"Sql_{checks[0]}", "States": branch}],
            "ResultPath": None,
            "Catch": _catch(),
            "Next": _after(pipeline.CHECKS),
        }
    }


def _publish() -> dict[str, Any]:
    """Publish: the publish Lambda makes the checked stage the published data (the DAG's
    ``publish`` task does the same), then AdvanceWatermark moves the watermark to D; one already
    at or past D is not an error."""
    next_state = _after(pipeline.PUBLISH)
    payload = {
        "start_date.$": "$.ingest.window_start",
        "end_date.$": "$.ingest.window_end",
        "run_id.$": _RUN_ID,
    }
    return {
        pipeline.PUBLISH.state_name: {
            "Type": "Task",
            "Comment": pipeline.PUBLISH.doc,
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": _sub("PublishFunctionName"), "Payload": payload},
            "ResultSelector": {"manifests.$": "$.Payload.manifests"},
            "ResultPath": "$.publish",
            "Retry": _retry(TRANSIENT_LAMBDA),
            "Catch": _catch(),
            "Next": ADVANCE_WATERMARK,
        },
        ADVANCE_WATERMARK: _update_item(
            "Advance the watermark to D (never backwards).",
            key=copy.deepcopy(ddb.WATERMARK_KEY),
            update=ddb.WATERMARK_UPDATE,
            condition=ddb.WATERMARK_CONDITION,
            values={
                ":day": {"S.$": "$.logical_date"},
                ":run_id": {"S.$": _RUN_ID},
                ":now": {"S.$": _ENTERED},
            },
            Catch=[
                {"ErrorEquals": [_CONDITION_FAILED], "ResultPath": None, "Next": next_state},
                *_catch(),
            ],
            Next=next_state,
        ),
    }


def _error_output(next_state: str, errors: list[str] | None = None) -> dict[str, Any]:
    """A JSONata state's Catch: the error as ``error`` beside the input (``ResultPath: $.error``
    of the JSONPath states)."""
    return {
        "ErrorEquals": errors or ["States.ALL"],
        "Output": "{% $merge([$states.input, {'error': $states.errorOutput}]) %}",
        "Next": next_state,
    }


def finish_transaction(status: DayStatus, update: str, values: Mapping[str, Any]) -> str:
    """JSONata: ``TransactItems`` finishing this execution's claim on every day of the range,
    the store's ``update`` under ``FINISH_CONDITION`` per day: all of them or none. ``values``
    may hold ``@requests@`` (the ingested requests) and ``@error@`` (the failed step's error)."""
    item = {
        "Update": {
            "TableName": _sub("StateTableName"),
            "Key": "@key@",
            "UpdateExpression": update,
            "ConditionExpression": ddb.FINISH_CONDITION,
            "ExpressionAttributeNames": dict(_FINISH_NAMES),
            # The store's placeholders are the status in lower case (":succeeded", ":failed").
            "ExpressionAttributeValues": {
                f":{status.value.lower()}": {"S": status.value},
                ":running": {"S": DayStatus.RUNNING.value},
                ":run_id": {"S": "@run@"},
                ":now": {"S": "@now@"},
                **values,
            },
        }
    }
    dynamic = {
        "@key@": "$key",
        "@run@": "$states.context.Execution.Name",
        "@now@": "$states.context.State.EnteredTime",
        "@requests@": "$string($states.input.ingest.requests_total)",
        "@error@": "$states.input.error.Error & ': ' & $states.input.error.Cause",
    }
    return _day_transaction(_jsonata_object(item, dynamic), "0", "$n", [])


def _mark_succeeded(checks_passed: int) -> dict[str, Any]:
    counts = {"requests_total": {"N": "@requests@"}, "checks_passed": {"N": str(checks_passed)}}
    # The twin takes no check override (its Judge_ states fail on any failure), so it records
    # none; the store's JSON text for that is "[]".
    values = {":counts": {"M": counts}, ":overrides": {"S": "[]"}}
    return {
        MARK_SUCCEEDED: _transaction_task(
            "Mark every day of the range SUCCEEDED, in one transaction (only while this "
            "execution holds the claim).",
            finish_transaction(DayStatus.SUCCEEDED, ddb.SUCCEED_UPDATE, values),
            Catch=[_error_output(pipeline.MARK_FAILED.state_name)],
            Next=pipeline.REPORT.state_name,
        )
    }


def _mark_failed() -> dict[str, Any]:
    """MarkFailed (every step's Catch after the claim) -> RunFailed: a failed day fails the run."""
    values = {":error": {"S": "@error@"}}
    return {
        pipeline.MARK_FAILED.state_name: _transaction_task(
            pipeline.MARK_FAILED.doc + " Every day of the range, in one transaction.",
            finish_transaction(DayStatus.FAILED, ddb.FAIL_UPDATE, values),
            Next=pipeline.REPORT.state_name,
        ),
        RUN_FAILED: {
            "Type": "Fail",
            "Comment": "The range is recorded FAILED; the execution fails too.",
            "ErrorPath": "$.error.Error",
            "CausePath": "$.error.Cause",
        },
    }


def _report() -> dict[str, Any]:
    """Report (``pipeline.REPORT``): the report Lambda after MarkSucceeded and after MarkFailed.

    Like the DAG's ``report`` teardown it never decides the run: its errors are caught into
    ``$.report_error`` (``$.error``, the failed step's, is kept) and ``AfterReport`` ends where
    the run would have ended without it, ``RunFailed`` when a step failed, else ``RunSucceeded``.
    The payload carries no status: the Lambda reads the day's record, which MarkSucceeded or
    MarkFailed has just written (published, or FAILED with the error), from the run-state table.
    """
    payload = {
        "logical_date.$": "$.logical_date",
        "lookback_days.$": "$.lookback_days",
        "run_id.$": _RUN_ID,
    }
    return {
        pipeline.REPORT.state_name: {
            "Type": "Task",
            "Comment": pipeline.REPORT.doc,
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": _sub("ReportFunctionName"), "Payload": payload},
            "ResultSelector": {
                "status.$": "$.Payload.status",
                "report_uri.$": "$.Payload.report_uri",
            },
            "ResultPath": "$.report",
            "Retry": _retry(TRANSIENT_LAMBDA),
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "ResultPath": "$.report_error",
                    "Next": AFTER_REPORT,
                }
            ],
            "Next": AFTER_REPORT,
        },
        AFTER_REPORT: {
            "Type": "Choice",
            "Comment": "A report never changes the outcome: failed day -> RunFailed.",
            "Choices": [{"Variable": "$.error", "IsPresent": True, "Next": RUN_FAILED}],
            "Default": RUN_SUCCEEDED,
        },
        RUN_SUCCEEDED: {"Type": "Succeed", "Comment": "D is published (and its report tried)."},
    }


def build_definition(
    tolerance: float = 0.0, lease_seconds: int = DEFAULT_LEASE_SECONDS
) -> dict[str, Any]:
    """The ASL definition (JSONPath; JSONata where it computes: Prepare, the range check, the
    transactions, the Lambda event) with ``${...}`` placeholders;
    the default lookback is ``${LookbackDays}`` (the stack's parameter), not a baked number."""
    checks = list_queries("checks")
    states = {
        **_prepare(lease_seconds),
        **_overlap_guard(),
        **_claim(),
        **_ingest(),
        **_glue(*pipeline.GLUE_STEPS),
        **_checks(checks, tolerance),
        **_publish(),
        **_mark_succeeded(checks_passed=len(checks)),
        **_mark_failed(),
        **_report(),
    }
    return {
        "Comment": f"Step Functions twin of the Airflow DAG {pipeline.DAG_ID} "
        "(generated by python -m wistia_pipeline.stepfunctions; do not edit)",
        "QueryLanguage": "JSONPath",
        "StartAt": "NeedsPrepare",
        "TimeoutSeconds": lease_seconds,
        "States": states,
    }


def build_schedule() -> dict[str, Any]:
    """The EventBridge Scheduler schedule (``AWS::Scheduler::Schedule`` properties).

    Disabled by default: MWAA schedules the DAG; enable it to run the twin instead.
    """
    return {
        "Name": "wistia-daily",
        "Description": "Start the wistia_daily state machine for yesterday (UTC)",
        "ScheduleExpression": "cron(30 0 * * ? *)",
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "DISABLED",
        "Target": {
            "Arn": "${StateMachineArn}",
            "RoleArn": "${SchedulerRoleArn}",
            "Input": "{}",
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
        },
    }


def render(definition: Mapping[str, Any], substitutions: Mapping[str, str]) -> str:
    """The definition as JSON text with every ``${Name}`` replaced (what CloudFormation does)."""
    missing = sorted(set(SUBSTITUTIONS) - set(substitutions))
    if missing:
        raise KeyError(f"missing substitutions: {missing}")
    text = json.dumps(definition, indent=2)
    for name, value in substitutions.items():
        text = text.replace("${" + name + "}", value)
    left = re.findall(r"\$\{[A-Za-z]+\}", text)
    if left:
        raise KeyError(f"unknown placeholders left in the definition: {sorted(set(left))}")
    return text


def output_dir() -> Path:
    """``include/stepfunctions/`` of the checkout this module sits in (the generator's output)."""
    return Path(__file__).resolve().parents[1] / "stepfunctions"


def generated_files() -> dict[str, str]:
    return {
        ASL_FILE: json.dumps(build_definition(), indent=2) + "\n",
        SCHEDULE_FILE: json.dumps(build_schedule(), indent=2) + "\n",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the Step Functions twin")
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args(argv)
    out = output_dir()
    stale = []
    for name, text in generated_files().items():
        path = out / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            out.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print(f"stale: {stale}; run python -m wistia_pipeline.stepfunctions", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
