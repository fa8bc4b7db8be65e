"""The Step Functions twin: generated from the pipeline description, accepted by asl-validator,
and executed in moto's Step Functions interpreter against moto Lambda/Glue/Athena/DynamoDB.

moto workaround (documented here): moto's interpreter cannot run the
``.sync`` integrations (``glue:startJobRun.sync``, ``athena:startQueryExecution.sync``) nor
JSONata. :func:`for_moto` swaps the ``.sync`` resources for the plain ``aws-sdk`` calls (moto's
Glue runs and Athena queries need no waiting) and adapts their ``ResultSelector`` (and one Choice
path: moto's JSONPath returns a one-element list for an indexed path); the test gives the
day, claim times and neighbour bounds in the input so the JSONata ``Prepare`` state is skipped
here; it is evaluated with the reference JSONata implementation in ``test_prepare_jsonata.py``.
Every other state runs as generated (the overlap guard too; its filter's parity with the DAG's
check is ``test_overlap_parity.py``). ``asl_validator`` comes from ``conftest.py``.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from e2e.aws_stack import provision, queue_check_results, queue_lambda_result

from wistia_pipeline import dates, pipeline, stepfunctions
from wistia_pipeline.config import load_settings
from wistia_pipeline.sql import list_queries, render_sql
from wistia_pipeline.state import DayStatus, open_state_store
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
    name, order = "NeedsPrepare", []
    while name:
        state = states[name]
        order.append(name)
        name = state.get("Next") or state.get("Default")
    assert order == [
        "NeedsPrepare",
        "Prepare",
        "FindOverlappingRuns",
        "OverlappingRunFound",
        "ClaimDay",
        "Ingest",
        "Silver",
        "Gold",
        "Checks",
        "Publish",
        "MarkSucceeded",
    ]
    assert [s.state_name for s in pipeline.STEPS] == order[4:10]
    # Skipping Prepare skips only Prepare: the guard is the one way into the claim.
    assert states["NeedsPrepare"]["Choices"][0]["Next"] == "FindOverlappingRuns"
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
    assert states["MarkFailed"]["Next"] == "RunFailed"
    assert states["RunFailed"]["Type"] == "Fail"
    # Retries on transient errors where the DAG has task retries.
    for state in ("ClaimDay", "Ingest", "Silver", "Gold", "Publish", "MarkSucceeded"):
        assert states[state]["Retry"], state


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


def for_moto(definition: dict) -> dict:
    """Swap the ``.sync`` integrations moto cannot run for their plain aws-sdk calls."""
    out = copy.deepcopy(definition)

    def visit(states: dict) -> None:
        for state in states.values():
            resource = state.get("Resource", "")
            if resource == "arn:aws:states:::glue:startJobRun.sync":
                state["Resource"] = "arn:aws:states:::aws-sdk:glue:startJobRun"
                state["ResultSelector"] = {"JobRunId.$": "$.JobRunId"}
            elif resource == "arn:aws:states:::athena:startQueryExecution.sync":
                state["Resource"] = "arn:aws:states:::aws-sdk:athena:startQueryExecution"
                state["ResultSelector"] = {"QueryExecutionId.$": "$.QueryExecutionId"}
            elif resource == "arn:aws:states:::athena:getQueryResults":
                state["Resource"] = "arn:aws:states:::aws-sdk:athena:getQueryResults"
            elif (
                state["Type"] == "Choice"
                and state["Choices"][0].get("Variable") == "$.check.failures"
            ):
                # moto's JSONPath yields a one-element list for an indexed path
                # ($.ResultSet.Rows[1]...) where Step Functions yields the scalar.
                state["Choices"][0]["Variable"] = "$.check.failures[0]"
            for branch in state.get("Branches", []):
                visit(branch["States"])

    visit(out["States"])
    return out


CLAIMED_AT = "2026-04-21T00:30:00.000Z"


def _execute(sfn, arn: str, name: str, day: date) -> dict:
    lookback = 2
    start, end = dates.window(day, lookback)
    execution = sfn.start_execution(
        stateMachineArn=arn,
        name=name,
        input=json.dumps(
            {
                "logical_date": day.isoformat(),
                "lookback_days": lookback,
                "streams": list(pipeline.ALL_STREAMS),
                "claimed_at": CLAIMED_AT,
                "lease_expires_at": "2026-04-21T06:30:00.000Z",
                # What Prepare computes (test_prepare_jsonata.py): D - L and D + L.
                "overlap_from": start.isoformat(),
                "overlap_to": (end + timedelta(days=lookback)).isoformat(),
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


def _summary(day: date) -> dict:
    return {
        "run_id": "x",
        "logical_date": day.isoformat(),
        "window_start": dates.window(day, 2)[0].isoformat(),
        "window_end": day.isoformat(),
        "streams": {},
        "requests_total": 42,
        "duration_s": 1.0,
    }


@pytest.mark.slow
def test_twin_runs_in_moto(aws_env, monkeypatch) -> None:
    env = provision(aws_env)
    aws_env.configure({"stepfunctions": {"execute_state_machine": True}})
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    store = open_state_store(load_settings())
    definition = stepfunctions.render(
        for_moto(stepfunctions.build_definition()),
        {
            "LambdaFunctionName": env["WISTIA_LAMBDA_FUNCTION"],
            "SilverJobName": env["WISTIA_GLUE_SILVER_JOB"],
            "GoldJobName": env["WISTIA_GLUE_GOLD_JOB"],
            "StateTableName": env["WISTIA_STATE_TABLE"],
            "LakeUri": env["WISTIA_LAKE_URI"],
            "PiiSecretId": env["WISTIA_PII_SECRET_ID"],
            "AthenaDatabase": env["WISTIA_ATHENA_DATABASE"],
            "AthenaWorkGroup": env["WISTIA_ATHENA_WORKGROUP"],
            "AthenaOutputLocation": env["WISTIA_ATHENA_OUTPUT"],
            "LookbackDays": env["WISTIA_LOOKBACK_DAYS"],
        },
    )
    role = boto3.client("iam").get_role(RoleName="wistia-test")["Role"]["Arn"]
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(name="wistia-daily", definition=definition, roleArn=role)[
        "stateMachineArn"
    ]
    # The same definition reading the scan one item a page: the guard follows every page.
    paged = json.loads(definition)
    for name in ("FindOverlappingRuns", "FindOverlappingRunsNextPage"):
        paged["States"][name]["Parameters"]["Limit"] = 1
    paged_arn = sfn.create_state_machine(
        name="wistia-daily-paged", definition=json.dumps(paged), roleArn=role
    )["stateMachineArn"]

    # --- the overlap guard (the DAG's claim_day: pipeline.conflicting_runs), L = 2 ------------
    def hold(day: date, run_id: str, claimed: datetime) -> None:
        """``run_id`` holds ``day`` RUNNING, claimed at ``claimed`` (a 6 h lease)."""
        DynamoDBRunStateStore(env["WISTIA_STATE_TABLE"], clock=lambda: claimed).claim_day(
            day, run_id
        )

    live, lapsed = datetime(2026, 4, 21, tzinfo=UTC), datetime(2026, 4, 20, 18, tzinfo=UTC)
    hold(DAY - timedelta(days=3), "far-run", live)  # |D' - D| = L + 1: no overlap
    hold(DAY - timedelta(days=1), "old-run", lapsed)  # lease ended 00:00 < claim 00:30
    hold(DAY - timedelta(days=2), "day-ok", live)  # the green run's own
    hold(DAY + timedelta(days=2), "other-run", live)  # |D' - D| = L, live: overlaps
    entered: dict[str, list[str]] = {}
    for name, machine in (("day-blocked-paged", paged_arn), ("day-blocked", arn)):
        desc = _execute(sfn, machine, name, DAY)
        assert desc["status"] == "FAILED", desc
        assert desc["error"] == "OverlappingRunLive", desc
        assert f"cannot claim {DAY}" in desc["cause"]
        # Named in the cause: the live holders of the page that had them (all, unpaged).
        held = {d for d in ("2026-04-18", "2026-04-22") if f'"{d}"' in desc["cause"]}
        assert held if machine == paged_arn else held == {"2026-04-18", "2026-04-22"}
        entered[name] = _entered_states(sfn, desc["executionArn"])
        assert "ClaimDay" not in entered[name] and "MarkFailed" not in entered[name]
    assert store.get_day(DAY) is None  # never claimed
    # Paged, it read pages until one had a live run (the items before it do not overlap).
    assert "FindOverlappingRunsNextPage" in entered["day-blocked-paged"]
    assert "FindOverlappingRunsNextPage" not in entered["day-blocked"]
    # The holder's lease lapses: the remaining neighbours are its own, far or lapsed.
    hold(DAY + timedelta(days=2), "other-run", lapsed)

    # --- green: every step, then the watermark and SUCCEEDED ----------------------------------
    queue_lambda_result(aws_env, _summary(DAY))
    queue_check_results(aws_env)
    desc = _execute(sfn, arn, "day-ok", DAY)
    assert desc["status"] == "SUCCEEDED", desc
    record = store.get_day(DAY)
    assert record.status is DayStatus.SUCCEEDED
    assert record.run_id == "day-ok"
    assert record.counts == {"requests_total": 42, "checks_passed": len(list_queries("checks"))}
    assert store.get_watermark() == DAY
    glue = boto3.client("glue")
    for job in (env["WISTIA_GLUE_SILVER_JOB"], env["WISTIA_GLUE_GOLD_JOB"]):
        (run,) = glue.get_job_runs(JobName=job)["JobRuns"]
        assert run["Arguments"] == pipeline.glue_arguments(
            pipeline.glue_job_args(
                DAY - timedelta(days=2), DAY, env["WISTIA_LAKE_URI"], env["WISTIA_PII_SECRET_ID"]
            )
        )
    athena = boto3.client("athena")
    ids = athena.list_query_executions(WorkGroup=env["WISTIA_ATHENA_WORKGROUP"])[
        "QueryExecutionIds"
    ]
    issued = {
        " ".join(athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"].split())
        for i in ids
    }
    expected = set()
    for name in list_queries("checks"):
        sql = render_sql(
            "checks",
            name,
            start_date=DAY - timedelta(days=2),
            end_date=DAY,
            database=env["WISTIA_ATHENA_DATABASE"],
            tolerance=0.0,
        )
        body = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
        expected.add(" ".join(" ".join(body).split()))
    assert issued == expected  # the DAG's SQL, window bound at run time

    # --- red: a failing check -> MarkFailed writes FAILED -> the execution fails --------------
    next_day = DAY + timedelta(days=1)
    queue_lambda_result(aws_env, _summary(next_day))
    names = list_queries("checks")
    queue_check_results(aws_env, failures=0, names=names[:1])
    queue_check_results(aws_env, failures=3, names=names[1:2])
    desc = _execute(sfn, arn, "day-bad", next_day)
    assert desc["status"] == "FAILED", desc
    record = store.get_day(next_day)
    assert record.status is DayStatus.FAILED
    assert record.run_id == "day-bad"
    assert "DataCheckFailed" in record.error and names[1] in record.error
    assert store.get_watermark() == DAY
