"""Issue 11 section 3: the check override and the publish-only rerun, below Airflow.

The params (``runtime.run_options``), the override decision (``sql.judge_checks``,
``raise_for_failures``, ``checks.override_records``) and what claim_day, route, checks and
publish do with them, with the tasks' context faked. The run through Airflow is
tests/e2e/test_publish_override.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from wistia_airflow import operators, runtime
from wistia_airflow.checks import override_records
from wistia_airflow.plan import build_plan
from wistia_pipeline.config import load_settings
from wistia_pipeline.sql import CheckResult, DataCheckFailed, judge_checks, raise_for_failures
from wistia_pipeline.state import CheckOverride, DayStatus, open_state_store

CHECKS = ["gold_days_present", "reconciliation_gap", "silver_no_raw_pii"]
D = date(2026, 3, 9)
RUN = "manual__2026-03-09T00:00:00+00:00"
GAP = CheckResult("reconciliation_gap", 3, "2026-03-08: events 9 vs plays 0")
OK = CheckResult("gold_days_present", 0, "")
PII = CheckResult("silver_no_raw_pii", 1, "raw ip")


# --- the params ---------------------------------------------------------------------------


def test_no_params_mean_a_normal_run() -> None:
    assert runtime.run_options({}, CHECKS) == runtime.RunOptions()
    blank = {"accept_failed_checks": [], "override_reason": " ", "publish_only": None}
    assert runtime.run_options(blank, CHECKS) == runtime.RunOptions()


def test_an_override_names_known_checks_with_a_reason() -> None:
    params = {
        "accept_failed_checks": ["reconciliation_gap", "reconciliation_gap"],
        "override_reason": "  media 42 deleted  ",
        "publish_only": True,
    }
    assert runtime.run_options(params, CHECKS) == runtime.RunOptions(
        True, ("reconciliation_gap",), "media 42 deleted"
    )
    # --conf from the CLI may give the names as one comma-separated string
    params = {
        "accept_failed_checks": "reconciliation_gap, gold_days_present",
        "override_reason": "x",
    }
    assert runtime.run_options(params, CHECKS).accepted_checks == (
        "reconciliation_gap",
        "gold_days_present",
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"accept_failed_checks": ["reconciliation_gap"]}, "override_reason must say why"),
        (
            {"accept_failed_checks": ["reconciliation_gap"], "override_reason": "  "},
            "override_reason must say why",
        ),
        ({"accept_failed_checks": ["recon_gap"], "override_reason": "x"}, r"unknown checks \['"),
        ({"override_reason": "why"}, "names no check"),
        ({"accept_failed_checks": [1], "override_reason": "x"}, "list of check names"),
        ({"accept_failed_checks": ["reconciliation_gap"], "override_reason": 5}, "must be text"),
        (
            {"accept_failed_checks": ["reconciliation_gap"], "override_reason": "x" * 501},
            "longer than 500",
        ),
        ({"publish_only": "yes"}, "true or false"),
    ],
)
def test_invalid_params_are_refused(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        runtime.run_options(params, CHECKS)


def test_the_unknown_check_error_lists_the_checks() -> None:
    with pytest.raises(ValueError, match="reconciliation_gap"):
        runtime.run_options({"accept_failed_checks": ["nope"], "override_reason": "x"}, CHECKS)


def test_who_is_the_triggering_user_when_airflow_knows_it() -> None:
    assert runtime.triggered_by({"run_id": RUN}) == f"run {RUN}"
    user = SimpleNamespace(triggering_user_name="alice")
    assert runtime.triggered_by({"run_id": RUN, "dag_run": user}) == f"alice (run {RUN})"
    nobody = SimpleNamespace(triggering_user_name=None)
    assert runtime.triggered_by({"run_id": RUN, "dag_run": nobody}) == f"run {RUN}"


def test_the_plan_carries_the_options() -> None:
    info = runtime.RunInfo(D, RUN, 1, ["events"])
    settings = load_settings({"WISTIA_LAKE_URI": "/tmp/lake"})
    plain = build_plan(info, 1, settings)
    assert (plain["publish_only"], plain["accept_failed_checks"], plain["override_reason"]) == (
        False,
        [],
        None,
    )
    options = runtime.RunOptions(True, ("reconciliation_gap",), "why")
    built = build_plan(info, 1, settings, options)
    assert (built["publish_only"], built["accept_failed_checks"], built["override_reason"]) == (
        True,
        ["reconciliation_gap"],
        "why",
    )


# --- the decision ---------------------------------------------------------------------------


def test_an_accepted_failure_does_not_fail_and_is_recorded() -> None:
    verdict = raise_for_failures([OK, GAP], accepted=["reconciliation_gap", "gold_days_present"])
    assert verdict.passed and verdict.failed == ()
    assert verdict.overridden == (GAP,)
    assert verdict.unused == ("gold_days_present",)
    records = override_records(verdict, "media 42 deleted", "alice")
    assert records == [
        CheckOverride("reconciliation_gap", 3, GAP.detail, "media 42 deleted", "alice"),
        CheckOverride("gold_days_present", 0, "", "media 42 deleted", "alice"),
    ]
    assert [r.used for r in records] == [True, False]


def test_a_failure_nobody_accepted_still_fails_the_run() -> None:
    with pytest.raises(DataCheckFailed, match=r"1 of 3 data checks failed \(1 more overridden\)"):
        raise_for_failures([OK, GAP, PII], accepted=["reconciliation_gap"])
    with pytest.raises(DataCheckFailed, match="reconciliation_gap: 3 failure"):
        raise_for_failures([OK, GAP])
    assert judge_checks([OK, GAP]).failed == (GAP,)  # no override: as before


def test_an_override_of_a_check_that_did_not_run_is_unused() -> None:
    verdict = judge_checks([OK], accepted=["reconciliation_gap"])
    assert verdict.passed and verdict.unused == ("reconciliation_gap",)


# --- the tasks ------------------------------------------------------------------------------


class FakeTI:
    def __init__(self, xcoms: dict[tuple[str, str], Any] | None = None) -> None:
        self.xcoms = dict(xcoms or {})

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.xcoms.get((task_ids, key))

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[("pushed", key)] = value


def context_for(plan: dict | None = None, **params: Any) -> dict[str, Any]:
    ti = FakeTI({("claim_day", "return_value"): plan} if plan else {})
    return {
        "ti": ti,
        "run_id": RUN,
        "data_interval_start": datetime(2026, 3, 9, tzinfo=UTC),
        "params": {"lookback_days": 1, **params},
    }


@pytest.fixture
def local(tmp_path, monkeypatch) -> Any:
    settings = load_settings(
        {
            "WISTIA_TARGET": "local",
            "WISTIA_LAKE_URI": str(tmp_path / "lake"),
            "WISTIA_STATE_DIR": str(tmp_path / "state"),
        }
    )
    monkeypatch.setattr(runtime, "settings", lambda: settings)
    return settings


def test_claim_refuses_an_override_without_a_reason_before_claiming(local) -> None:
    context = context_for(accept_failed_checks=["reconciliation_gap"])
    with pytest.raises(ValueError, match="override_reason must say why"):
        operators.ClaimDayOperator().execute(context)
    assert open_state_store(local).get_day(D) is None


def test_claim_puts_the_options_in_the_plan(local, capsys) -> None:
    context = context_for(
        accept_failed_checks=["reconciliation_gap"], override_reason="known", publish_only=True
    )
    plan = operators.ClaimDayOperator().execute(context)
    assert (plan["publish_only"], plan["accept_failed_checks"], plan["override_reason"]) == (
        True,
        ["reconciliation_gap"],
        "known",
    )
    assert open_state_store(local).get_day(D).status is DayStatus.RUNNING
    log = capsys.readouterr().out  # the task logger (structlog) writes to stdout here
    assert "a failure of reconciliation_gap will not fail the run; reason: known" in log


@pytest.mark.parametrize(
    ("publish_only", "branches"),
    [(False, ["ingest", "checks"]), (True, ["checks"])],
)
def test_route_skips_ingest_only_for_publish_only(publish_only: bool, branches: list) -> None:
    route = operators.RouteOperator()
    assert route.task_id == "route" and route.doc_md
    assert route.choose_branch(context_for({"publish_only": publish_only})) == branches


def fake_checks(monkeypatch, results: list[CheckResult]) -> None:
    import wistia_airflow.checks as checks_module

    monkeypatch.setattr(checks_module, "run_checks", lambda settings, start, end: results)


def test_checks_task_lets_an_accepted_failure_through_and_logs_it(
    local, monkeypatch, capsys
) -> None:
    fake_checks(monkeypatch, [OK, GAP])
    plan = {
        "window_start": "2026-03-08",
        "window_end": "2026-03-09",
        "accept_failed_checks": ["reconciliation_gap", "gold_days_present"],
        "override_reason": "media 42 deleted",
    }
    context = context_for(plan)
    out = operators.ChecksOperator().execute(context)
    log = capsys.readouterr().out
    assert [r["check_name"] for r in out] == ["gold_days_present", "reconciliation_gap"]
    pushed = context["ti"].xcoms[("pushed", "overrides")]
    assert [(o["check"], o["failures"], o["by"]) for o in pushed] == [
        ("reconciliation_gap", 3, f"run {RUN}"),
        ("gold_days_present", 0, f"run {RUN}"),
    ]
    assert "check reconciliation_gap FAILED with 3 failure(s)" in log
    assert "OVERRIDDEN by run" in log and "reason: media 42 deleted" in log
    assert "override of check gold_days_present unused: the check passed" in log


def test_checks_task_fails_without_an_override(local, monkeypatch) -> None:
    fake_checks(monkeypatch, [OK, GAP])
    plan = {"window_start": "2026-03-08", "window_end": "2026-03-09"}  # a plan from before
    with pytest.raises(DataCheckFailed, match="reconciliation_gap"):
        operators.ChecksOperator().execute(context_for(plan))


@pytest.mark.parametrize("publish_only", [False, True])
def test_publish_stores_the_overrides_and_publishes_any_run_for_publish_only(
    local, monkeypatch, publish_only: bool
) -> None:
    calls = []

    def fake_publish(settings, start, end, run_id, any_run=False):
        calls.append((start, end, run_id, any_run))
        return {"run_id": "the-failed-run", "manifests": 7, "deleted_files": 0}

    monkeypatch.setattr(operators, "publish_window", fake_publish)
    store = open_state_store(local)
    store.claim_day(D, RUN)
    gap = CheckOverride("reconciliation_gap", 3, GAP.detail, "why", f"run {RUN}")
    results = [{"check_name": "gold_days_present", "failures": 0, "detail": ""}]
    results.append({"check_name": "reconciliation_gap", "failures": 3, "detail": GAP.detail})
    context = context_for({"publish_only": publish_only})
    context["ti"].xcoms.update(
        {
            ("checks", "return_value"): results,
            ("checks", "overrides"): [vars(gap)],
        }
    )
    out = operators.PublishOperator().execute(context)
    assert calls == [(date(2026, 3, 8), D, RUN, publish_only)]
    assert out["counts"] == {"checks_passed": 1, "checks_overridden": 1}
    assert out["stage_run_id"] == "the-failed-run"
    record = store.get_day(D)
    assert record.status is DayStatus.SUCCEEDED and record.overrides == (gap,)
    assert store.get_watermark() == D
