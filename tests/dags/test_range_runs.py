"""Runs covering data days [D1, D2]: the run info, the plan, the claim (and its wait), publish
and mark_failed over the range, with a real SQLite run-state store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from wistia_airflow import operators, runtime
from wistia_airflow.plan import build_plan
from wistia_pipeline import pipeline
from wistia_pipeline.config import load_settings
from wistia_pipeline.state import DayStatus, open_state_store

D1, D2 = date(2026, 3, 1), date(2026, 3, 5)
RUN = "backfill__2026-03-01"


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class FakeTI:
    def __init__(self, xcoms: dict | None = None) -> None:
        self.xcoms = dict(xcoms or {})

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.xcoms.get((task_ids, key))

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[("pushed", key)] = value


def context_for(first: date = D1, last: date = D2, run_id: str = RUN, **xcoms: Any) -> dict:
    return {
        "ti": FakeTI(xcoms),
        "run_id": run_id,
        "data_interval_start": midnight(first),
        "data_interval_end": midnight(last) + timedelta(days=1),
        "params": {"lookback_days": 2},
    }


@pytest.fixture
def local(tmp_path, monkeypatch) -> Any:
    settings = load_settings(
        {
            "WISTIA_TARGET": "local",
            "WISTIA_LAKE_URI": str(tmp_path / "lake"),
            "WISTIA_STATE_DIR": str(tmp_path / "state"),
            "WISTIA_CLAIM_POKE_SECONDS": "30",
            "WISTIA_CLAIM_WAIT_SECONDS": "600",
        }
    )
    monkeypatch.setattr(runtime, "settings", lambda: settings)
    return settings


def test_run_info_of_a_range_interval() -> None:
    info = runtime.run_info(context_for(), 2)
    assert (info.first, info.day, len(info.days)) == (D1, D2, 5)
    assert info.window == (date(2026, 2, 27), D2)
    daily = runtime.run_info(context_for(D2, D2), 2)
    assert (daily.first_day, daily.days, daily.window) == (None, [D2], (date(2026, 3, 3), D2))
    with pytest.raises(ValueError, match="at most 40"):
        runtime.run_info(context_for(D1, D1 + timedelta(days=40)), 2)


def test_plan_and_lambda_payload_carry_the_range(local) -> None:
    plan = build_plan(runtime.run_info(context_for(), 2), 0, local)
    assert (plan["first_day"], plan["day"], plan["days"]) == ("2026-03-01", "2026-03-05", 5)
    assert (plan["window_start"], plan["window_end"]) == ("2026-02-27", "2026-03-05")
    assert plan["lambda_payload"]["range_start"] == "2026-03-01"
    assert plan["lambda_payload"]["logical_date"] == "2026-03-05"
    assert plan["glue"]["silver"]["script_args"]["--start_date"] == "2026-02-27"
    daily = build_plan(runtime.run_info(context_for(D2, D2), 2), 0, local)
    assert "range_start" not in daily["lambda_payload"]  # the daily payload is unchanged


def test_claim_claims_every_day_of_the_range(local) -> None:
    plan = operators.ClaimDayOperator().execute(context_for())
    store = open_state_store(local)
    held = store.list_days(D1 - timedelta(days=3), D2 + timedelta(days=3))
    assert [r.day for r in held] == [D1 + timedelta(days=n) for n in range(5)]
    assert {(r.status, r.run_id) for r in held} == {(DayStatus.RUNNING, RUN)}
    assert plan["attempt"] == 1


def test_the_preflight_runs_first_and_a_failing_one_claims_nothing(
    local, preflight_calls, monkeypatch
) -> None:
    from wistia_pipeline.preflight import PreflightError

    operators.ClaimDayOperator().execute(context_for())
    assert [(c["day"], c["run_id"], c["token"]) for c in preflight_calls] == [(D2, RUN, True)]

    def refuse(*args: Any, **kwargs: Any) -> dict:
        raise PreflightError("preflight: Wistia token check failed: 401")

    monkeypatch.setattr("wistia_pipeline.preflight.preflight", refuse)
    later = D2 + timedelta(days=10)
    with pytest.raises(PreflightError):
        operators.ClaimDayOperator().execute(context_for(later, later, "other"))
    assert open_state_store(local).get_day(later) is None  # nothing claimed


def test_an_overlapping_live_run_makes_the_claim_wait_then_it_claims(local) -> None:
    store = open_state_store(local)
    store.claim_day(D2 + timedelta(days=2), "next-range", lease_seconds=600)  # in the guard band
    claim = operators.ClaimDayOperator()
    with pytest.raises(BaseException) as deferred:
        claim.execute(context_for())
    assert type(deferred.value).__name__ == "TaskDeferred"
    assert deferred.value.method_name == "execute_after_wait"
    assert deferred.value.trigger.moment > datetime.now(UTC)  # woken after the poke interval
    since = deferred.value.kwargs["waiting_since"]
    assert store.get_day(D1) is None  # nothing claimed while waiting
    store.mark_succeeded(D2 + timedelta(days=2), "next-range", {})
    plan = claim.execute_after_wait(context_for(), event=None, waiting_since=since)
    assert plan["first_day"] == D1.isoformat()
    assert store.get_day(D1).run_id == RUN


def test_the_wait_is_bounded(local) -> None:
    open_state_store(local).claim_day(D1 - timedelta(days=1), "prev", lease_seconds=3600)
    long_ago = (datetime.now(UTC) - timedelta(seconds=601)).isoformat()
    with pytest.raises(operators.OverlappingRunLive, match="after waiting"):
        operators.ClaimDayOperator().execute_after_wait(context_for(), waiting_since=long_ago)


def test_publish_marks_every_day_and_moves_the_watermark_to_d2(local, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(
        operators,
        "publish_window",
        lambda s, start, end, run_id, any_run=False: calls.append((start, end))
        or {"run_id": run_id, "manifests": 3},
    )
    store = open_state_store(local)
    store.claim_range(D1, D2, RUN)
    context = context_for()
    context["ti"] = FakeTI({("claim_day", "return_value"): {"publish_only": False}})
    out = operators.PublishOperator().execute(context)
    assert calls == [(date(2026, 2, 27), D2)]
    assert out["first_day"] == D1.isoformat() and store.get_watermark() == D2
    assert {r.status for r in store.list_days(D1, D2)} == {DayStatus.SUCCEEDED}


def test_a_failed_range_run_leaves_no_day_succeeded(local) -> None:
    store = open_state_store(local)
    store.claim_range(D1, D2, RUN)
    ti_xcoms = {("silver", "error"): "boom"}
    context = context_for()
    context["ti"] = FakeTI(ti_xcoms)
    out = operators.MarkFailedOperator().execute(context)
    assert out["days"] == [(D1 + timedelta(days=n)).isoformat() for n in range(5)]
    records = store.list_days(D1, D2)
    assert {r.status for r in records} == {DayStatus.FAILED}
    assert all(r.error == "silver: boom" for r in records)
    assert store.get_watermark() is None


def test_heartbeat_renews_every_day_of_the_range(local) -> None:
    store = open_state_store(local)
    store.claim_range(D1, D2, RUN, lease_seconds=60)
    beat = operators.ClaimHeartbeat(store, [D1, D2 - timedelta(days=1), D2], RUN, 3600)
    beat.renew()
    leases = {r.day: r.lease_expires_at for r in store.list_days(D1, D2)}
    # renewed (the days listed) vs not (D1 + 1 is not in this heartbeat's list)
    assert leases[D1] - leases[D1 + timedelta(days=1)] > timedelta(seconds=3000)
    assert leases[D2] - leases[D1 + timedelta(days=1)] > timedelta(seconds=3000)


def test_overlap_rule_for_ranges() -> None:
    class R:
        def __init__(self, day: date) -> None:
            self.day, self.status, self.run_id = day, "RUNNING", "other"
            self.lease_expires_at = datetime.now(UTC) + timedelta(hours=1)

    around = [R(D1 - timedelta(days=n)) for n in (1, 2, 3)] + [R(D2 + timedelta(days=2))]
    found = pipeline.conflicting_runs(D2, 2, RUN, around, datetime.now(UTC), first_day=D1)
    assert sorted(r.day for r in found) == [
        D1 - timedelta(days=2),
        D1 - timedelta(days=1),
        D2 + timedelta(days=2),
    ]
