"""The Step Functions twin of ``wistia_daily``, built from the same pipeline description.

    python -m wistia_pipeline.stepfunctions [--check]   # (re)write / verify include/stepfunctions/

Same steps (``pipeline.STEPS``), same Lambda payload, same Glue jobs and arguments, the same
check SQL, and the same DynamoDB run-state items and conditional writes as
:class:`wistia_pipeline.state.dynamodb.DynamoDBRunStateStore` (its expressions are imported, not
copied). Every step after the claim has ``Retry`` on transient errors and a ``Catch`` that marks
the day FAILED and then ends in a ``Fail`` state: a failed step never gives a green execution.

Resource names are CloudFormation ``DefinitionSubstitutions`` (``${LambdaFunctionName}``, ...);
:func:`render` fills them in for tests and tools. Input::

    {"logical_date": "YYYY-MM-DD", "lookback_days": 2, "streams": [...]}   # all optional

``Prepare`` (a JSONata ``Pass`` state) defaults the day to yesterday (UTC, from the execution
start) and computes the claim's lease and the neighbour bounds ``overlap_from``/``overlap_to``
(``D - L``/``D + L``); callers that already know them can pass ``claimed_at`` and
``lease_expires_at`` (ISO UTC, the store's fixed-width format) and both bounds (``YYYY-MM-DD``)
and ``Prepare`` is skipped. The run id is the execution name. The window comes from the Lambda's
summary (``window_start``/``window_end``), so no date arithmetic is needed in the JSONPath states.

Before the claim, like the DAG's ``claim_day`` (:func:`pipeline.conflicting_runs`), the twin
refuses D while another live run holds a day whose window overlaps D's: a ``Scan`` of the state
table with :data:`~wistia_pipeline.state.dynamodb.OVERLAP_FILTER` (one small item per day, so the
scan is cheap; a page stops at 1 MB, so the scan follows ``LastEvaluatedKey``), then the
``OverlappingRunLive`` Fail state. Like ``DayAlreadyClaimed`` it does not go through
``MarkFailed``: the day is not this execution's to mark.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from wistia_pipeline import pipeline
from wistia_pipeline.config import DEFAULT_LOOKBACK_DAYS, repo_root
from wistia_pipeline.state import dynamodb as ddb
from wistia_pipeline.state.base import DEFAULT_LEASE_SECONDS, DayStatus

ASL_FILE = "wistia_daily.asl.json"
SCHEDULE_FILE = "wistia_daily.schedule.json"

SUBSTITUTIONS: Mapping[str, str] = {
    "LambdaFunctionName": "name or ARN of the ingestion Lambda",
    "SilverJobName": "Glue job of the silver step",
    "GoldJobName": "Glue job of the gold step",
    "StateTableName": "DynamoDB run-state table",
    "LakeUri": "s3://bucket/prefix of the lake",
    "PiiSecretId": "Secrets Manager id of the PII hash key",
    "AthenaDatabase": "Glue/Athena database",
    "AthenaWorkGroup": "Athena workgroup",
    "AthenaOutputLocation": "s3:// location for check query results",
}

# JSONata picture of the state store's timestamps (state.base.format_ts: YYYY-MM-DDTHH:MM:SS.sssZ).
_TS_PICTURE = "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001]Z"
_DAY_PICTURE = "[Y0001]-[M01]-[D01]"
_START_SENTINEL = "1901-01-01"
_END_SENTINEL = "1902-02-02"
_DB_SENTINEL = "sfnsentineldb"
STATE_NAMES = {s.task_id: s.state_name for s in (*pipeline.STEPS, pipeline.MARK_FAILED)}

TRANSIENT_LAMBDA = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
TRANSIENT_GLUE = ["Glue.ConcurrentRunsExceededException", "Glue.InternalServiceException"]
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
# The guard's states, in the order the main line passes them (NeedsPrepare/Prepare -> ClaimDay).
OVERLAP_SCAN, OVERLAP_CHOICE, OVERLAP_NEXT_PAGE = (
    "FindOverlappingRuns",
    "OverlappingRunFound",
    "FindOverlappingRunsNextPage",
)


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
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": STATE_NAMES["mark_failed"]}
    ]


def _day_key() -> dict[str, Any]:
    return {
        ddb.PARTITION_KEY: {"S.$": f"States.Format('{ddb.DAY_PK_PREFIX}{{}}', $.logical_date)"},
        ddb.SORT_KEY: {"S": ddb.DAY_SK},
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
            ":running": {"S": DayStatus.RUNNING.value},
            ":run_id": {"S.$": "$$.Execution.Name"},
            ":now": {"S.$": "$.claimed_at"},
        },
        "ConsistentRead": True,
    }


def _overlap_guard(claim_state: str) -> dict[str, Any]:
    """Scan (page by page) -> Choice: any live overlapping run fails before the claim."""
    scan = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:dynamodb:scan",
        "ResultPath": "$.overlap",
        "Retry": _retry(TRANSIENT_AWS_SDK_DYNAMODB),
        "Next": OVERLAP_CHOICE,
    }
    return {
        OVERLAP_SCAN: {
            **scan,
            "Comment": "Live runs (RUNNING, other run id, unexpired lease) of days D' with "
            "0 < |D' - D| <= L: their windows overlap D's (pipeline.conflicting_runs).",
            "Parameters": overlap_scan_parameters(),
        },
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
            "Default": claim_state,
        },
        OVERLAP_NEXT_PAGE: {
            **scan,
            "Comment": "The next 1 MB page of the scan.",
            "Parameters": {
                **overlap_scan_parameters(),
                "ExclusiveStartKey.$": "$.overlap.LastEvaluatedKey",
            },
        },
        OVERLAP_ERROR: {
            "Type": "Fail",
            "Comment": "Not through MarkFailed: D is not claimed by this execution.",
            "Error": OVERLAP_ERROR,
            "CausePath": "States.Format('cannot claim {}: runs with overlapping windows are "
            "live: {}', $.logical_date, States.JsonToString($.overlap.Items))",
        },
    }


def check_query_parts(name: str, tolerance: float) -> tuple[dict[str, str], str]:
    """Check ``name``'s Athena SQL as literal parts plus a ``States.Format`` expression that
    joins them with the execution's window.

    The SQL is the one :func:`wistia_pipeline.sql.render_sql` renders for the DAG, with the window
    bound at run time and the database bound by CloudFormation. The literal parts travel as JSON
    strings (a ``Pass`` state's ``Result``), so the format template holds only ``{}``: no SQL
    quote or brace needs intrinsic-function escaping.
    """
    from wistia_pipeline.sql import render_sql

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
    parts: dict[str, str] = {}
    args: list[str] = []
    for chunk in re.split(f"({_START_SENTINEL}|{_END_SENTINEL})", flat):
        if chunk == _START_SENTINEL:
            args.append("$.ingest.window_start")
        elif chunk == _END_SENTINEL:
            args.append("$.ingest.window_end")
        elif chunk:
            key = f"p{len(parts)}"
            parts[key] = chunk.replace(_DB_SENTINEL, _sub("AthenaDatabase"))
            args.append(f"$.sql.{key}")
    template = "{}" * len(args)
    return parts, f"States.Format('{template}', {', '.join(args)})"


def _check_glue_argument_names(bound: Mapping[str, str]) -> None:
    """The bound Glue arguments must be exactly the ones the DAG passes (no drift)."""
    day = date(2000, 1, 1)
    dag_args = pipeline.glue_arguments(
        pipeline.glue_job_args(day, day, "s3://lake", _sub("PiiSecretId"))
    )
    if {name.removesuffix(".$") for name in bound} != set(dag_args):
        raise AssertionError(f"Glue arguments drifted from pipeline.glue_job_args: {dag_args}")


def build_definition(
    tolerance: float = 0.0,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
) -> dict[str, Any]:
    """The ASL definition (JSONPath, one JSONata ``Pass`` state) with ``${...}`` placeholders."""
    from wistia_pipeline.sql import list_queries

    s = STATE_NAMES
    states: dict[str, Any] = {}
    states["NeedsPrepare"] = {
        "Type": "Choice",
        "Comment": "Skip Prepare when the caller gives the day, the claim times and the bounds.",
        "Choices": [
            {
                "And": [
                    {"Variable": "$.logical_date", "IsPresent": True},
                    {"Variable": "$.lookback_days", "IsPresent": True},
                    {"Variable": "$.streams", "IsPresent": True},
                    {"Variable": "$.claimed_at", "IsPresent": True},
                    {"Variable": "$.lease_expires_at", "IsPresent": True},
                    {"Variable": "$.overlap_from", "IsPresent": True},
                    {"Variable": "$.overlap_to", "IsPresent": True},
                ],
                "Next": OVERLAP_SCAN,
            }
        ],
        "Default": "Prepare",
    }
    states["Prepare"] = {
        "Type": "Pass",
        "QueryLanguage": "JSONata",
        "Comment": "Default D = yesterday (UTC) and L; lease = now + lease seconds; "
        "neighbour bounds D - L and D + L.",
        # The context's timestamps drop a zero fraction ("...:07Z"); the claim times are
        # re-rendered in the store's fixed-width format so they compare as strings like the
        # DAG's (CLAIM_CONDITION: lease_expires_at < :now).
        "Output": (
            f"{{% ( $ts := '{_TS_PICTURE}'; $dp := '{_DAY_PICTURE}'; "
            "$now := $toMillis($states.context.State.EnteredTime); "
            "$start := $toMillis($states.context.Execution.StartTime); "
            "$d := $exists($states.input.logical_date) ? $states.input.logical_date "
            ": $fromMillis($start - 86400000, $dp); "
            "$l := $exists($states.input.lookback_days) ? $states.input.lookback_days "
            f": {int(lookback_days)}; "
            "$dms := $toMillis($d, $dp); "
            "{ 'logical_date': $d, 'lookback_days': $l, "
            "'streams': $exists($states.input.streams) ? $states.input.streams : "
            f"{json.dumps(list(pipeline.ALL_STREAMS))}, "
            "'claimed_at': $fromMillis($now, $ts), "
            f"'lease_expires_at': $fromMillis($now + {int(lease_seconds) * 1000}, $ts), "
            "'overlap_from': $fromMillis($dms - $l * 86400000, $dp), "
            "'overlap_to': $fromMillis($dms + $l * 86400000, $dp) } ) %}"
        ),
        "Next": OVERLAP_SCAN,
    }
    states.update(_overlap_guard(s["claim_day"]))
    states[s["claim_day"]] = {
        "Type": "Task",
        "Comment": pipeline.CLAIM.doc,
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "Parameters": {
            "TableName": _sub("StateTableName"),
            "Key": _day_key(),
            "UpdateExpression": ddb.CLAIM_UPDATE,
            "ConditionExpression": ddb.CLAIM_CONDITION,
            "ExpressionAttributeNames": {"#status": "status", "#day": "day", "#error": "error"},
            "ExpressionAttributeValues": {
                ":day": {"S.$": "$.logical_date"},
                ":running": {"S": DayStatus.RUNNING.value},
                ":run_id": {"S.$": "$$.Execution.Name"},
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
                ":now": {"S.$": "$.claimed_at"},
                ":lease": {"S.$": "$.lease_expires_at"},
                ":no_counts": {"M": {}},
            },
        },
        "ResultPath": None,
        "Retry": _retry(TRANSIENT_AWS),
        "Catch": [
            {
                "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
                "ResultPath": "$.error",
                "Next": "DayAlreadyClaimed",
            }
        ],
        "Next": s["ingest"],
    }
    states["DayAlreadyClaimed"] = {
        "Type": "Fail",
        "Error": "DayAlreadyClaimed",
        "Cause": "another live run holds the day (RUNNING with an unexpired lease)",
    }
    states[s["ingest"]] = {
        "Type": "Task",
        "Comment": pipeline.INGEST.doc,
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": _sub("LambdaFunctionName"),
            "Payload": {
                "logical_date.$": "$.logical_date",
                "lookback_days.$": "$.lookback_days",
                "streams.$": "$.streams",
                "run_id.$": "$$.Execution.Name",
            },
        },
        "ResultSelector": {
            "window_start.$": "$.Payload.window_start",
            "window_end.$": "$.Payload.window_end",
            "requests_total.$": "$.Payload.requests_total",
        },
        "ResultPath": "$.ingest",
        "Retry": _retry(TRANSIENT_LAMBDA),
        "Catch": _catch(),
        "Next": s["silver"],
    }
    for step, job in ((pipeline.SILVER, "SilverJobName"), (pipeline.GOLD, "GoldJobName")):
        bound = {
            "--start_date.$": "$.ingest.window_start",
            "--end_date.$": "$.ingest.window_end",
            "--lake_uri": _sub("LakeUri"),
            "--pii_secret_id": _sub("PiiSecretId"),
        }
        _check_glue_argument_names(bound)
        states[step.state_name] = {
            "Type": "Task",
            "Comment": step.doc,
            "Resource": "arn:aws:states:::glue:startJobRun.sync",
            "Parameters": {"JobName": _sub(job), "Arguments": bound},
            "ResultSelector": {"JobRunId.$": "$.Id", "JobRunState.$": "$.JobRunState"},
            "ResultPath": f"$.{step.task_id}",
            "Retry": _retry(TRANSIENT_GLUE, attempts=2, interval=60),
            "Catch": _catch(),
            "Next": s["gold"] if step is pipeline.SILVER else s["checks"],
        }
    check_states: dict[str, Any] = {}
    checks = list_queries("checks")
    for i, name in enumerate(checks):
        sql, run, read, judge = f"Sql_{name}", f"Run_{name}", f"Read_{name}", f"Judge_{name}"
        parts, query_format = check_query_parts(name, tolerance)
        check_states[sql] = {
            "Type": "Pass",
            "Comment": f"checks/{name}.sql (rendered like the DAG's), split at the window dates",
            "Result": parts,
            "ResultPath": "$.sql",
            "Next": run,
        }
        check_states[run] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
            "Parameters": {
                "QueryString.$": query_format,
                "QueryExecutionContext": {"Database": _sub("AthenaDatabase")},
                "WorkGroup": _sub("AthenaWorkGroup"),
                "ResultConfiguration": {"OutputLocation": _sub("AthenaOutputLocation")},
            },
            "ResultSelector": {"QueryExecutionId.$": "$.QueryExecution.QueryExecutionId"},
            "ResultPath": "$.query",
            "Retry": _retry(["Athena.TooManyRequestsException", "Athena.InternalServerException"]),
            "Next": read,
        }
        check_states[read] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::athena:getQueryResults",
            "Parameters": {"QueryExecutionId.$": "$.query.QueryExecutionId", "MaxResults": 2},
            "ResultSelector": {
                "check_name.$": "$.ResultSet.Rows[1].Data[0].VarCharValue",
                "failures.$": "$.ResultSet.Rows[1].Data[1].VarCharValue",
                "detail.$": "$.ResultSet.Rows[1].Data[2].VarCharValue",
            },
            "ResultPath": "$.check",
            "Next": judge,
        }
        check_states[judge] = {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.check.failures",
                    "StringEquals": "0",
                    "Next": f"Sql_{checks[i + 1]}" if i + 1 < len(checks) else "ChecksPassed",
                }
            ],
            "Default": "CheckFailed",
        }
    check_states["ChecksPassed"] = {"Type": "Succeed"}
    check_states["CheckFailed"] = {
        "Type": "Fail",
        "Error": "DataCheckFailed",
        "CausePath": "States.JsonToString($.check)",
    }
    states[s["checks"]] = {
        "Type": "Parallel",
        "Comment": pipeline.CHECKS.doc,
        "Branches": [{"StartAt": f"Sql_{checks[0]}", "States": check_states}],
        "ResultPath": None,
        "Catch": _catch(),
        "Next": s["publish"],
    }
    states[s["publish"]] = {
        "Type": "Task",
        "Comment": "Advance the watermark to D (never backwards).",
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "Parameters": {
            "TableName": _sub("StateTableName"),
            "Key": {
                ddb.PARTITION_KEY: {"S": ddb.WATERMARK_PK},
                ddb.SORT_KEY: {"S": ddb.WATERMARK_SK},
            },
            "UpdateExpression": ddb.WATERMARK_UPDATE,
            "ConditionExpression": ddb.WATERMARK_CONDITION,
            "ExpressionAttributeValues": {
                ":day": {"S.$": "$.logical_date"},
                ":run_id": {"S.$": "$$.Execution.Name"},
                ":now": {"S.$": "$$.State.EnteredTime"},
            },
        },
        "ResultPath": None,
        "Retry": _retry(TRANSIENT_AWS),
        "Catch": [
            {
                "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
                "ResultPath": None,
                "Next": "MarkSucceeded",
            },
            *_catch(),
        ],
        "Next": "MarkSucceeded",
    }
    states["MarkSucceeded"] = {
        "Type": "Task",
        "Comment": "Mark D SUCCEEDED (only while this execution holds the claim).",
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "Parameters": {
            "TableName": _sub("StateTableName"),
            "Key": _day_key(),
            "UpdateExpression": ddb.SUCCEED_UPDATE,
            "ConditionExpression": ddb.FINISH_CONDITION,
            "ExpressionAttributeNames": {"#status": "status", "#error": "error"},
            "ExpressionAttributeValues": {
                ":succeeded": {"S": DayStatus.SUCCEEDED.value},
                ":running": {"S": DayStatus.RUNNING.value},
                ":run_id": {"S.$": "$$.Execution.Name"},
                ":now": {"S.$": "$$.State.EnteredTime"},
                ":counts": {
                    "M": {
                        "requests_total": {"N.$": "States.Format('{}', $.ingest.requests_total)"},
                        "checks_passed": {"N": str(len(checks))},
                    }
                },
            },
        },
        "ResultPath": None,
        "Retry": _retry(TRANSIENT_AWS),
        "Catch": _catch(),
        "End": True,
    }
    states[s["mark_failed"]] = {
        "Type": "Task",
        "Comment": pipeline.MARK_FAILED.doc,
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "Parameters": {
            "TableName": _sub("StateTableName"),
            "Key": _day_key(),
            "UpdateExpression": ddb.FAIL_UPDATE,
            "ConditionExpression": ddb.FINISH_CONDITION,
            "ExpressionAttributeNames": {"#status": "status", "#error": "error"},
            "ExpressionAttributeValues": {
                ":failed": {"S": DayStatus.FAILED.value},
                ":running": {"S": DayStatus.RUNNING.value},
                ":run_id": {"S.$": "$$.Execution.Name"},
                ":now": {"S.$": "$$.State.EnteredTime"},
                ":error": {"S.$": "States.Format('{}: {}', $.error.Error, $.error.Cause)"},
            },
        },
        "ResultPath": None,
        "Retry": _retry(TRANSIENT_AWS),
        "Next": "RunFailed",
    }
    states["RunFailed"] = {
        "Type": "Fail",
        "Comment": "The day is recorded FAILED; the execution fails too.",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
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
    return repo_root() / "include" / "stepfunctions"


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
