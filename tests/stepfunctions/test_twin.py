"""The Step Functions twin: generated from the pipeline description, accepted by asl-validator,
and its overlap guard executed, unmodified, on the local AWS (``wistia_awslocal``).

A whole day through the twin (real Lambda, Glue, Athena, JSONata ``Prepare``) and its failure
paths run in ``tests/awslocal/test_stepfunctions.py``; the guard's filter's parity with the
DAG's check is ``test_overlap_parity.py``. ``asl_validator`` comes from ``conftest.py``.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from wistia_awslocal.process import start_awslocal
from wistia_pipeline import dates, pipeline, stepfunctions
from wistia_pipeline.state import dynamodb as ddb
from wistia_pipeline.state.dynamodb import DynamoDBRunStateStore

DAY = date(2026, 4, 20)


def test_generated_files_are_current() -> None:
    assert stepfunctions.main(["--check"]) == 0


def test_twin_follows_the_pipeline_description() -> None:
    definition = stepfunctions.build_definition()
    states = definition["States"]
    # The main line (a Choice's Default): the same steps in the same order as the DAG, the
    # claim preceded by the overlap guard the DAG's claim_day does first.
    # A Choice whose Default loops back (the ingestion wait) is followed out by its first rule.
    name, order = "NeedsPrepare", []
    while name:
        state = states[name]
        order.append(name)
        name = state.get("Next") or state.get("Default")
        if name in order:
            name = state["Choices"][0]["Next"]
    assert order == [
        "NeedsPrepare",
        "Prepare",
        "CheckRange",
        "FindOverlappingRuns",
        "OverlappingRunFound",
        "ClaimDay",
        "IngestionTimes",
        "BeginIngestion",
        "Ingest",
        "WaitForIngestion",
        "ReadIngestion",
        "IngestionOutcome",
        "IngestionSummary",
        "IngestionWindow",
        "Silver",
        "Gold",
        "Checks",
        "Publish",
        "AdvanceWatermark",
        "MarkSucceeded",
        "Report",
        "AfterReport",
        "RunSucceeded",
    ]
    assert [s.state_name for s in pipeline.STEPS] == [
        o for o in order if o in states and any(o == step.state_name for step in pipeline.STEPS)
    ]
    # Publish is the publish Lambda (the checked stage becomes the published data), then the
    # watermark; the checks read the staging database, never the published one.
    assert states["Publish"]["Parameters"]["FunctionName"] == "${PublishFunctionName}"
    assert states["AdvanceWatermark"]["Next"] == "MarkSucceeded"
    checks = states["Checks"]["Branches"][0]["States"]
    runs = [s for n, s in checks.items() if n.startswith("Run_")]
    assert runs and all(
        s["Parameters"]["QueryExecutionContext"]["Database"] == "${AthenaDatabase}_staging"
        for s in runs
    )
    # Skipping Prepare skips only Prepare: the range check and the guard are the one way into
    # the claim.
    assert states["NeedsPrepare"]["Choices"][0]["Next"] == "CheckRange"
    assert states["CheckRange"]["Default"] == "FindOverlappingRuns"
    into_claim = {
        source
        for source, state in states.items()
        for target in (
            state.get("Next"),
            state.get("Default"),
            *(c["Next"] for c in state.get("Choices", [])),
        )
        if target == "ClaimDay"
    }
    assert into_claim == {"OverlappingRunFound"}
    # Every step after the claim is caught into MarkFailed, which ends in a Fail state.
    for step in pipeline.STEPS[1:]:
        catches = states[step.state_name]["Catch"]
        assert any(c["Next"] == "MarkFailed" and "States.ALL" in c["ErrorEquals"] for c in catches)
    assert states["MarkFailed"]["Next"] == "Report"
    assert states["RunFailed"]["Type"] == "Fail"
    # Retries on transient errors where the DAG has task retries.
    for state in (
        "ClaimDay",
        "Ingest",
        "Silver",
        "Gold",
        "Publish",
        "AdvanceWatermark",
        "MarkSucceeded",
    ):
        assert states[state]["Retry"], state


def test_report_runs_after_publish_and_after_mark_failed() -> None:
    """The DAG's ``report`` teardown: after the day is marked either way, never deciding the run."""
    states = stepfunctions.build_definition()["States"]
    report = states[pipeline.REPORT.state_name]
    assert pipeline.REPORT not in pipeline.STEPS
    assert report["Comment"] == pipeline.REPORT.doc
    assert report["Resource"] == "arn:aws:states:::lambda:invoke"
    assert report["Parameters"]["FunctionName"] == "${ReportFunctionName}"
    # The day's status is the run state's (written just before); the payload names the day.
    assert report["Parameters"]["Payload"] == {
        "logical_date.$": "$.logical_date",
        "lookback_days.$": "$.lookback_days",
        "run_id.$": "$$.Execution.Name",
    }
    # Reached only from the two marks, so the record it reads is this execution's.
    into_report = {name for name, state in states.items() if state.get("Next") == "Report"}
    assert into_report == {"MarkSucceeded", "MarkFailed"}
    assert "End" not in states["MarkSucceeded"]
    # Its failure is caught beside $.error (the failed step's, which RunFailed reports) and the
    # run ends where it would have without a report.
    assert report["Retry"] and report["ResultPath"] == "$.report"
    (catch,) = report["Catch"]
    assert catch == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.report_error",
        "Next": "AfterReport",
    }
    assert report["Next"] == "AfterReport"
    after = states["AfterReport"]
    assert after["Choices"] == [{"Variable": "$.error", "IsPresent": True, "Next": "RunFailed"}]
    assert after["Default"] == "RunSucceeded"
    assert states["RunSucceeded"]["Type"] == "Succeed"
    assert states["RunFailed"]["ErrorPath"] == "$.error.Error"
    into_ends = {
        name
        for name, state in states.items()
        for target in (
            state.get("Next"),
            state.get("Default"),
            *(c["Next"] for c in state.get("Choices", [])),
        )
        if target in ("RunFailed", "RunSucceeded")
    }
    assert into_ends == {"AfterReport"}


def test_overlap_guard_is_conflicting_runs_before_the_claim() -> None:
    states = stepfunctions.build_definition()["States"]
    guard = states["OverlappingRunFound"]
    live, next_page = guard["Choices"]
    assert live == {
        "Variable": "$.overlap.Count",
        "NumericGreaterThan": 0,
        "Next": "OverlappingRunLive",
    }
    assert states["OverlappingRunLive"]["Type"] == "Fail"
    assert states["OverlappingRunLive"]["Error"] == "OverlappingRunLive"
    # Every page of the scan is read: the next page comes back to the same Choice.
    assert next_page["Variable"] == "$.overlap.LastEvaluatedKey"
    more = states[next_page["Next"]]
    assert more["Next"] == "OverlappingRunFound"
    assert more["Parameters"]["ExclusiveStartKey.$"] == "$.overlap.LastEvaluatedKey"
    for name in ("FindOverlappingRuns", next_page["Next"]):
        scan = states[name]
        assert scan["Resource"] == "arn:aws:states:::aws-sdk:dynamodb:scan"
        assert scan["Parameters"]["FilterExpression"] == ddb.OVERLAP_FILTER  # the shared one
        assert scan["Parameters"]["ConsistentRead"] is True
        assert scan["Retry"]
        # Not through MarkFailed: the day is not claimed by this execution.
        assert "Catch" not in scan


@pytest.mark.parametrize("rendered", [False, True])
def test_asl_validator_accepts_it(asl_validator: Path, tmp_path: Path, rendered: bool) -> None:
    definition = stepfunctions.build_definition()
    text = (
        stepfunctions.render(
            definition, {k: f"sub-{k.lower()}" for k in stepfunctions.SUBSTITUTIONS}
        )
        if rendered
        else json.dumps(definition)
    )
    path = tmp_path / "definition.json"
    path.write_text(text)
    proc = subprocess.run(
        [str(asl_validator), "--json-path", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_asl_validator_rejects_a_broken_definition(asl_validator: Path, tmp_path: Path) -> None:
    definition = stepfunctions.build_definition()
    definition["States"]["Ingest"]["Next"] = "NoSuchState"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(definition))
    proc = subprocess.run([str(asl_validator), "--json-path", str(path)], capture_output=True)
    assert proc.returncode != 0


CLAIMED_AT = "2026-04-21T00:30:00.000Z"
LOOKBACK = 2


def _execute(sfn, arn: str, name: str, day: date) -> dict:
    start, end = dates.window(day, LOOKBACK)
    execution = sfn.start_execution(
        stateMachineArn=arn,
        name=name,
        input=json.dumps(
            {
                "logical_date": day.isoformat(),
                "range_start": day.isoformat(),  # the daily run
                "lookback_days": LOOKBACK,
                "streams": list(pipeline.ALL_STREAMS),
                "claimed_at": CLAIMED_AT,
                "lease_expires_at": "2026-04-21T06:30:00.000Z",
                # What Prepare computes (test_prepare_jsonata.py): D - L and D + L.
                "overlap_from": start.isoformat(),
                "overlap_to": (end + timedelta(days=LOOKBACK)).isoformat(),
            }
        ),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        desc = sfn.describe_execution(executionArn=execution["executionArn"])
        if desc["status"] != "RUNNING":
            return desc
        time.sleep(0.2)
    raise TimeoutError(f"execution {name} still RUNNING after 60s")


def _entered_states(sfn, execution_arn: str) -> list[str]:
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]


@pytest.fixture
def state_machines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The generated twin on the local AWS (unmodified), and a copy scanning one item a page."""
    server = start_awslocal(extensions=["stepfunctions"], log_path=tmp_path / "awslocal.log")
    try:
        for name, value in server.client_env().items():
            monkeypatch.setenv(name, value)
        table = "wistia-state-twin"
        ddb.create_table(boto3.client("dynamodb"), table)
        # The guard fails before any resource but the table is used.
        names = {key: f"unused-{key}" for key in stepfunctions.SUBSTITUTIONS}
        names |= {"StateTableName": table, "LookbackDays": str(LOOKBACK)}
        definition = stepfunctions.render(stepfunctions.build_definition(), names)
        paged = json.loads(definition)
        for name in ("FindOverlappingRuns", "FindOverlappingRunsNextPage"):
            paged["States"][name]["Parameters"]["Limit"] = 1
        sfn = boto3.client("stepfunctions")
        role = "arn:aws:iam::123456789012:role/wistia-twin"
        arns = {
            label: sfn.create_state_machine(name=f"wistia-{label}", definition=body, roleArn=role)[
                "stateMachineArn"
            ]
            for label, body in (("daily", definition), ("paged", json.dumps(paged)))
        }
        yield sfn, arns, table
    finally:
        server.stop()


def test_twin_overlap_guard_runs_unmodified(state_machines) -> None:
    """The DAG's claim_day rule (pipeline.conflicting_runs), L = 2, on every scan page."""
    sfn, arns, table = state_machines

    def hold(day: date, run_id: str, claimed: datetime) -> None:
        """``run_id`` holds ``day`` RUNNING, claimed at ``claimed`` (a 6 h lease)."""
        DynamoDBRunStateStore(table, clock=lambda: claimed).claim_day(day, run_id)

    live, lapsed = datetime(2026, 4, 21, tzinfo=UTC), datetime(2026, 4, 20, 18, tzinfo=UTC)
    hold(DAY - timedelta(days=3), "far-run", live)  # |D' - D| = L + 1: no overlap
    hold(DAY - timedelta(days=1), "old-run", lapsed)  # lease ended 00:00 < claim 00:30
    hold(DAY - timedelta(days=2), "day-ok", live)  # a run of its own
    hold(DAY + timedelta(days=2), "other-run", live)  # |D' - D| = L, live: overlaps
    entered: dict[str, list[str]] = {}
    for label in ("paged", "daily"):
        desc = _execute(sfn, arns[label], f"day-blocked-{label}", DAY)
        assert desc["status"] == "FAILED", desc
        assert desc["error"] == "OverlappingRunLive", desc
        assert f"cannot claim {DAY}" in desc["cause"]
        # Named in the cause: the live holders of the page that had them (all, unpaged).
        held = {d for d in ("2026-04-18", "2026-04-22") if f'"{d}"' in desc["cause"]}
        assert held if label == "paged" else held == {"2026-04-18", "2026-04-22"}
        entered[label] = _entered_states(sfn, desc["executionArn"])
        assert "ClaimDay" not in entered[label] and "MarkFailed" not in entered[label]
    assert DynamoDBRunStateStore(table).get_day(DAY) is None  # never claimed
    # Paged, it read pages until one had a live run (the items before it do not overlap).
    assert "FindOverlappingRunsNextPage" in entered["paged"]
    assert "FindOverlappingRunsNextPage" not in entered["daily"]


def test_a_failing_report_keeps_the_runs_outcome(tmp_path: Path, monkeypatch) -> None:
    """The generated Report/AfterReport states, unmodified, on the local AWS: the report Lambda
    fails (here it does not exist) and each run still ends as it would have without it."""
    server = start_awslocal(extensions=["stepfunctions"], log_path=tmp_path / "awslocal.log")
    try:
        for name, value in server.client_env().items():
            monkeypatch.setenv(name, value)
        names = {key: f"unused-{key}" for key in stepfunctions.SUBSTITUTIONS}
        states = json.loads(stepfunctions.render(stepfunctions.build_definition(), names))["States"]
        tail = ("Report", "AfterReport", "RunSucceeded", "RunFailed")
        machine = {"StartAt": "Report", "States": {name: states[name] for name in tail}}
        sfn = boto3.client("stepfunctions")
        arn = sfn.create_state_machine(
            name="wistia-report-tail",
            definition=json.dumps(machine),
            roleArn="arn:aws:iam::123456789012:role/wistia-twin",
        )["stateMachineArn"]
        published = {"logical_date": DAY.isoformat(), "lookback_days": LOOKBACK}
        failed = {**published, "error": {"Error": "DataCheckFailed", "Cause": "no gold"}}
        outcomes = {}
        for label, payload in (("published", published), ("failed", failed)):
            execution = sfn.start_execution(
                stateMachineArn=arn, name=label, input=json.dumps(payload)
            )["executionArn"]
            deadline = time.monotonic() + 60
            while (desc := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
                assert time.monotonic() < deadline, desc
                time.sleep(0.2)
            events = sfn.get_execution_history(executionArn=execution)["events"]
            assert any(e["type"] == "TaskFailed" for e in events), events  # the report failed
            outcomes[label] = desc
    finally:
        server.stop()
    ok = outcomes["published"]
    assert ok["status"] == "SUCCEEDED", ok
    output = json.loads(ok["output"])
    assert "Lambda.ResourceNotFoundException" in json.dumps(output["report_error"])
    assert "error" not in output
    bad = outcomes["failed"]
    assert bad["status"] == "FAILED", bad
    assert (bad["error"], bad["cause"]) == ("DataCheckFailed", "no gold")  # the step's, kept
