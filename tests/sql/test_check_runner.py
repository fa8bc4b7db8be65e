"""The ``checks`` task's runner (``wistia_airflow.checks``): one result type on both targets.

The local target runs on a real lake; the aws target on a stand-in ``AthenaHook`` that records
what the runner asks of Athena (the whole DAG on the local AWS's Athena:
tests/e2e/test_aws_emulated.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from sql_lake import END, START

from wistia_airflow import checks
from wistia_pipeline.config import Settings, load_settings
from wistia_pipeline.sql import (
    CheckResult,
    DataCheckFailed,
    list_queries,
    raise_for_failures,
    render_sql,
    run_checks_local,
)


def _settings(target: str, **env: str) -> Settings:
    return load_settings({"WISTIA_TARGET": target, **env})


def test_local_target_runs_the_checks_on_the_lake(good_lake: Path, bad_lake: Path) -> None:
    good = checks.run_checks(_settings("local", WISTIA_LAKE_URI=str(good_lake)), START, END)
    assert good == run_checks_local(str(good_lake), START, END)
    assert [r.check_name for r in good] == list_queries("checks")
    raise_for_failures(good)  # does not raise
    bad = checks.run_checks(_settings("local", WISTIA_LAKE_URI=str(bad_lake)), START, END)
    with pytest.raises(DataCheckFailed, match=f"5 of 5 data checks failed for {START}..{END}"):
        raise_for_failures(bad, window=(START, END))


def test_unknown_target_and_no_checks_are_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    local = _settings("local")
    with pytest.raises(ValueError, match="unknown target 'gcp'"):
        checks.run_checks(dataclasses.replace(local, target="gcp"), START, END)
    monkeypatch.setattr("wistia_pipeline.sql.run_checks_local", lambda *a, **k: [])
    with pytest.raises(RuntimeError, match="no data checks ran"):
        checks.run_checks(local, START, END)


class FakeAthenaHook:
    """Records the calls; every query succeeds with ``failures`` unless its state is queued."""

    instances: list[FakeAthenaHook] = []
    failures: dict[str, str] = {}
    states: dict[str, str] = {}

    def __init__(self, aws_conn_id: str) -> None:
        self.aws_conn_id = aws_conn_id
        self.queries: list[dict[str, Any]] = []
        self.polls: list[tuple[str, int | None, int | None]] = []
        FakeAthenaHook.instances.append(self)

    def run_query(self, query: str, query_context: dict, result_configuration: dict, **kw) -> str:
        self.queries.append(
            {"query": query, "context": query_context, "result": result_configuration, **kw}
        )
        return f"q{len(self.queries) - 1}"

    def poll_query_status(self, query_id: str, max_polling_attempts: int, sleep_time: int) -> str:
        self.polls.append((query_id, max_polling_attempts, sleep_time))
        return self.states.get(query_id, "SUCCEEDED")

    def get_state_change_reason(self, query_id: str) -> str:
        return f"reason of {query_id}"

    def get_query_results(self, query_id: str) -> dict:
        rows = [("check_name", "failures", "detail"), (query_id, self.failures.get(query_id, "0"))]
        data = [[{"VarCharValue": v} for v in row] for row in rows]
        data[1].append({})  # detail NULL: Athena leaves VarCharValue out
        return {"ResultSet": {"Rows": [{"Data": cells} for cells in data]}}


@pytest.fixture
def athena(monkeypatch: pytest.MonkeyPatch) -> type[FakeAthenaHook]:
    from airflow.providers.amazon.aws.hooks import athena as provider

    monkeypatch.setattr(provider, "AthenaHook", FakeAthenaHook)
    monkeypatch.setattr(FakeAthenaHook, "instances", [])
    monkeypatch.setattr(FakeAthenaHook, "failures", {})
    monkeypatch.setattr(FakeAthenaHook, "states", {})
    return FakeAthenaHook


AWS_ENV = {
    "WISTIA_ATHENA_DATABASE": "wistia_test",
    "WISTIA_ATHENA_WORKGROUP": "wistia-test",
    "WISTIA_ATHENA_OUTPUT": "s3://athena-results/checks/",
    "WISTIA_AWS_CONN_ID": "aws_wistia",
    "WISTIA_AWS_POLL_SECONDS": "5",
    "WISTIA_CHECK_TOLERANCE": "0.05",
}


def test_aws_target_starts_every_check_on_athena_then_reads_each(athena) -> None:
    athena.failures["q1"] = "3"
    results = checks.run_checks(_settings("aws", **AWS_ENV), START, END)
    (hook,) = athena.instances
    assert hook.aws_conn_id == "aws_wistia"
    names = list_queries("checks")
    expected = [
        render_sql(
            "checks",
            n,
            start_date=START,
            end_date=END,
            database="wistia_test_staging",  # the checks read the run's staged output
            tolerance=0.05,
        )
        for n in names
    ]
    assert [q["query"] for q in hook.queries] == expected
    assert all(q["context"] == {"Database": "wistia_test_staging"} for q in hook.queries)
    assert all(q["workgroup"] == "wistia-test" for q in hook.queries)
    assert all(
        q["result"] == {"OutputLocation": AWS_ENV["WISTIA_ATHENA_OUTPUT"]} for q in hook.queries
    )
    # all started before the first poll; 30 minutes of 5-second polls each
    assert hook.polls == [(f"q{i}", 360, 5) for i in range(len(names))]
    assert results == [CheckResult(f"q{i}", 3 if i == 1 else 0, "") for i in range(len(names))]


def test_aws_target_without_output_location_uses_the_workgroup_s(athena) -> None:
    env = {k: v for k, v in AWS_ENV.items() if k != "WISTIA_ATHENA_OUTPUT"}
    checks.run_checks(_settings("aws", **env), START, END)
    assert all(q["result"] == {} for q in athena.instances[0].queries)


def test_a_check_query_that_does_not_succeed_fails_the_task(athena) -> None:
    athena.states["q2"] = "FAILED"
    name = list_queries("checks")[2]
    with pytest.raises(checks.AthenaQueryFailed, match=rf"check {name} \(query q2\) ended FAILED"):
        checks.run_checks(_settings("aws", **AWS_ENV), START, END)
