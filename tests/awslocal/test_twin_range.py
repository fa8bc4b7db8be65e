"""The Step Functions twin runs a range of days [D1, D2] on the local AWS, unmodified.

The input ``{"range_start": D1, "logical_date": D2}`` (the DAG's ``range_start`` payload field)
makes one execution claim every day of the range in one transaction, ingest [D1 - L, D2] once,
run silver and gold once over that window, check and publish it, move the watermark to D2 and
mark every day SUCCEEDED. A live DAG claim around the range refuses it; so does a range longer
than ``config.MAX_RANGE_DAYS``. The resources are ``test_stepfunctions``'s (its provisioning,
a server of this module's own, so the watermark starts empty).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import boto3
import pytest

from tests.awslocal.test_stepfunctions import (
    LOOKBACK,
    Twin,
    _entered,
    _explain,
    _history,
    _provision,
    _wait,
)
from wistia_awslocal.process import AwsLocal
from wistia_pipeline import dates
from wistia_pipeline.config import MAX_RANGE_DAYS
from wistia_pipeline.state import DayStatus

D1, D2 = date(2026, 3, 10), date(2026, 3, 12)


@pytest.fixture(scope="module")
def range_twin(awslocal: AwsLocal, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    from tests.awslocal.test_stepfunctions import SIM_END, SIM_START, SIM_TOKEN
    from wistia_simulator.process import free_port, start_simulator, stop_process

    port = free_port()
    proc = start_simulator(
        port, SIM_TOKEN, "--seed", "7", "--start-date", SIM_START.isoformat(), "--end-date",
        SIM_END.isoformat(), "--media-count", "3", "--events-per-day", "40", "--visitor-count",
        "20", "--late-event-share", "0", "--rate-limit", "0",
    )  # fmt: skip
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in awslocal.client_env().items():
                mp.setenv(key, value)
            mp.delenv("AWS_PROFILE", raising=False)
            yield _provision(f"http://127.0.0.1:{port}/modern", tmp_path_factory.mktemp("range"))
    finally:
        stop_process(proc)


def _start(machine: str, payload: dict[str, str], label: str) -> str:
    return boto3.client("stepfunctions").start_execution(
        stateMachineArn=machine,
        name=f"{label}-{uuid.uuid4().hex[:8]}",
        input=json.dumps(payload),
    )["executionArn"]


def _range(first: date, last: date) -> dict[str, str]:
    return {"range_start": first.isoformat(), "logical_date": last.isoformat()}


@pytest.mark.slow
def test_a_range_runs_once_and_marks_every_day(aws: AwsLocal, range_twin: Twin) -> None:
    execution = _start(range_twin.machine, _range(D1, D2), "range")
    desc = _wait(execution, timeout=300)
    assert desc["status"] == "SUCCEEDED", _explain(desc)
    run_id = execution.rsplit(":", 1)[1]
    entered = _entered(_history(execution))
    main = ["Prepare", "CheckRange", "FindOverlappingRuns", "ClaimDay", "Ingest", "Silver",
            "Gold", "Checks", "Publish", "AdvanceWatermark", "MarkSucceeded", "Report"]  # fmt: skip
    assert [s for s in entered if s in main] == main
    # One ingestion, one silver and one gold run for the whole range.
    assert entered.count("Ingest") == entered.count("Silver") == entered.count("Gold") == 1

    store = range_twin.store
    runs = store.list_days(D1 - timedelta(days=LOOKBACK + 1), D2 + timedelta(days=LOOKBACK + 1))
    assert [r.day for r in runs] == dates.days_between(D1, D2)  # the range, nothing around it
    for run in runs:
        assert run.status is DayStatus.SUCCEEDED and run.run_id == run_id, run
        assert run.attempt == 1 and run.error is None
        assert run.counts["requests_total"] > 0 and run.counts["checks_passed"] == 5
    assert store.get_watermark() == D2

    # The Lambda got range_start: it ingested [D1 - L, D2] once, and the Glue jobs ran on it.
    window = (D1 - timedelta(days=LOOKBACK), D2)
    summary = store.get_ingestion(run_id).summary
    assert summary["range_start"] == D1.isoformat(), summary
    assert (summary["window_start"], summary["window_end"]) == tuple(map(str, window))
    glue = boto3.client("glue")
    for job in (range_twin.names["silver"], range_twin.names["gold"]):
        (job_run,) = glue.get_job_runs(JobName=job)["JobRuns"]
        assert job_run["JobRunState"] == "SUCCEEDED", job_run
        args = job_run["Arguments"]
        assert (args["--start_date"], args["--end_date"]) == tuple(map(str, window)), args
    keys = boto3.client("s3").list_objects_v2(
        Bucket=range_twin.names["lake"], Prefix="gold/wistia/fact_media_daily/"
    )
    published = {
        m.group(1) for k in keys.get("Contents", []) if (m := re.search(r"dt=([\d-]+)/", k["Key"]))
    }
    assert {d.isoformat() for d in dates.days_between(*window)} <= published


@pytest.mark.slow
def test_a_range_next_to_a_live_dag_claim_is_refused(aws: AwsLocal, range_twin: Twin) -> None:
    """A DAG run holding D2 + L (its window reaches into ours) refuses the range, with nothing
    of the range written; a range longer than MAX_RANGE_DAYS is refused before any read."""
    store = range_twin.store
    first, last = date(2026, 3, 20), date(2026, 3, 22)
    store.claim_range(last + timedelta(days=LOOKBACK), last + timedelta(days=3), "dag-run")
    execution = _start(range_twin.machine, _range(first, last), "blocked")
    desc = _wait(execution, timeout=60)
    assert desc["status"] == "FAILED", _explain(desc)
    assert desc["error"] == "OverlappingRunLive", desc
    assert f"cannot claim {first}..{last}" in desc["cause"] and "dag-run" in desc["cause"]
    assert store.list_days(first, last) == []
    assert "MarkFailed" not in _entered(_history(execution))

    too_long = _range(date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=MAX_RANGE_DAYS))
    desc = _wait(_start(range_twin.machine, too_long, "too-long"), timeout=60)
    assert (desc["status"], desc["error"]) == ("FAILED", "InvalidRange"), desc
    assert f"1 to {MAX_RANGE_DAYS} days" in desc["cause"]
    backwards = _wait(_start(range_twin.machine, _range(last, first), "backwards"), timeout=60)
    assert (backwards["status"], backwards["error"]) == ("FAILED", "InvalidRange"), backwards
    assert store.list_days(date(2026, 1, 1), date(2026, 2, 28)) == []
