"""``make demo/backfill TARGET=aws`` (``wistia_dev.awsdemo``) without running a day: what it
refuses before touching anything, and its pure helpers. The flow itself runs in
tests/e2e/test_aws_emulated.py (and by hand: ``make demo TARGET=aws``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from wistia_dev import awsdemo
from wistia_simulator.process import free_port

REPO = Path(__file__).resolve().parents[2]


def run_script(script: str, *args: str, **env: str | None) -> subprocess.CompletedProcess:
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WISTIA_"))}
    run_env.update({k: v for k, v in env.items() if v is not None})
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), *args],
        capture_output=True,
        text=True,
        env=run_env,
        timeout=120,
    )


def test_backfill_on_aws_needs_the_api_token(tmp_path: Path) -> None:
    proc = run_script(
        "backfill.py", "--target", "aws", "--start", "2026-03-01", "--end", "2026-03-02",
        WISTIA_STATE_DIR=str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "WISTIA_API_TOKEN is not set" in proc.stderr


def test_only_a_local_aws_is_accepted_at_aws_endpoint_url(tmp_path: Path) -> None:
    """Nothing is deployed to an endpoint that is not a wistia_awslocal server."""
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc = run_script(
        "backfill.py", "--target", "aws", "--start", "2026-03-01", "--end", "2026-03-01",
        WISTIA_STATE_DIR=str(tmp_path), WISTIA_API_TOKEN="t", AWS_ENDPOINT_URL=url,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"AWS_ENDPOINT_URL={url} does not answer as the local AWS" in proc.stderr
    assert "Deployed" not in proc.stdout


def test_startup_exports_are_what_mwaa_would_export() -> None:
    script = "#!/bin/sh\n# comment\nexport WISTIA_TARGET='aws'\nexport WISTIA_LAKE_URI='s3://b'\n"
    assert awsdemo.startup_exports(script) == {"WISTIA_TARGET": "aws", "WISTIA_LAKE_URI": "s3://b"}


def test_agreement_names_the_media_days_that_differ() -> None:
    day = awsdemo.demo_days()[1]
    a = {("2026-03-01", "m1"): {"plays": "3"}, ("2026-03-01", "m2"): {"plays": "1"}}
    agree = awsdemo.compare_media_days(a, dict(a))
    assert agree.agree and agree.media_days == 2
    assert agree.line(day, day).startswith("DAG and twin gold agree on every media-day: 2 ")
    b = {("2026-03-01", "m1"): {"plays": "4"}, ("2026-03-02", "m3"): {"plays": "1"}}
    differ = awsdemo.compare_media_days(a, b)
    assert not differ.agree
    assert differ.differing == [("2026-03-01", "m1"), ("2026-03-01", "m2"), ("2026-03-02", "m3")]
    assert "DIFFER on 3 of 3 media-days" in differ.line(day, day)
    assert not awsdemo.compare_media_days({}, {}).agree  # nothing compared is no agreement


@pytest.mark.parametrize("target", ["local", "aws"])
def test_make_passes_the_target(target: str) -> None:
    dry = subprocess.run(
        ["make", "-n", "demo", "backfill", f"TARGET={target}", "START=2026-03-01",
         "END=2026-03-02"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if target == "aws":
        assert "scripts/demo.py --target aws" in dry
        assert "scripts/backfill.py --target aws --start 2026-03-01 --end 2026-03-02" in dry
    else:
        assert "--target" not in dry
        assert re.search(r"scripts/backfill\.py +--start 2026-03-01 --end 2026-03-02", dry)


def test_the_twin_backfills_in_ranges_and_stops_at_the_first_failure() -> None:
    """``make backfill TARGET=aws`` starts one twin execution per range (``range_start`` set
    when the range has more than one day), in order; the executions themselves run for real in
    tests/awslocal/test_twin_range.py."""
    from datetime import UTC, date, datetime

    class Sfn:
        def __init__(self, fail_from: int) -> None:
            self.inputs: list[dict] = []
            self.fail_from = fail_from

        def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict:
            self.inputs.append(json.loads(input))
            return {"executionArn": f"arn:exec:{len(self.inputs)}"}

        def describe_execution(self, executionArn: str) -> dict:
            n = int(executionArn.rsplit(":", 1)[-1])
            at = datetime(2026, 3, 1, tzinfo=UTC)
            status = "FAILED" if n >= self.fail_from else "SUCCEEDED"
            return {"status": status, "startDate": at, "stopDate": at}

    class Stack:
        state_machine = "arn:sm"

    sfn = Sfn(fail_from=99)
    runs = awsdemo.run_twin_days(Stack(), date(2026, 3, 1), date(2026, 3, 10), sfn, None, 4)
    assert sfn.inputs == [
        {"logical_date": "2026-03-04", "range_start": "2026-03-01"},
        {"logical_date": "2026-03-08", "range_start": "2026-03-05"},
        {"logical_date": "2026-03-10", "range_start": "2026-03-09"},
    ]
    assert [r.days for r in runs] == [4, 4, 2] and all(r.ok for r in runs)
    one = awsdemo.run_twin_days(Stack(), date(2026, 3, 1), date(2026, 3, 1), Sfn(99), None, 4)
    assert [r.as_dict()["first_day"] for r in one] == ["2026-03-01"]
    failing = Sfn(fail_from=2)
    runs = awsdemo.run_twin_days(Stack(), date(2026, 3, 1), date(2026, 3, 10), failing, None, 4)
    assert [r.status for r in runs] == ["SUCCEEDED", "FAILED"] and len(failing.inputs) == 2
