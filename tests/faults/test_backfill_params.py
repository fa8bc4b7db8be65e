"""``make backfill``'s flags for the DAG params of an override and a publish-only rerun."""

from __future__ import annotations

import importlib.util
import time
from datetime import date
from pathlib import Path

import pytest

from wistia_dev.local_runner import DayResult
from wistia_pipeline.config import load_settings
from wistia_pipeline.state import open_state_store

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "backfill.py"


def _backfill():
    spec = importlib.util.spec_from_file_location("backfill_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_override_and_publish_only_flags_become_the_run_params() -> None:
    backfill = _backfill()
    args = backfill.parse_args(
        [
            "--start=2026-03-01",
            "--end=2026-03-01",
            "--publish-only",
            "--accept-check=reconciliation_gap",
            "--override-reason=media deleted in Wistia",
        ]
    )
    assert backfill.run_conf(args) == {
        "publish_only": True,
        "accept_failed_checks": ["reconciliation_gap"],
        "override_reason": "media deleted in Wistia",
    }
    plain = backfill.parse_args(["--start=2026-03-01", "--end=2026-03-01", "--lookback-days=1"])
    assert backfill.run_conf(plain) == {"lookback_days": 1}


def test_an_accepted_check_needs_a_reason(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _backfill().parse_args(
            ["--start=2026-03-01", "--end=2026-03-01", "--accept-check=reconciliation_gap"]
        )
    assert exit_info.value.code == 2  # a usage error
    assert "--override-reason" in capsys.readouterr().err


def test_a_lookback_env_above_the_dags_bound_is_a_usage_error_before_anything_runs(
    tmp_path, monkeypatch, capsys
) -> None:
    """``WISTIA_LOOKBACK_DAYS=100`` was accepted (101 days re-ingested) while the DAG param
    capped it at 30: now one bound, and ``make backfill`` stops before Airflow starts."""
    from wistia_pipeline.config import MAX_LOOKBACK_DAYS

    monkeypatch.setenv("WISTIA_TARGET", "local")  # main() sets it: restored after
    monkeypatch.setenv("WISTIA_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("WISTIA_LOOKBACK_DAYS", str(MAX_LOOKBACK_DAYS + 70))
    code = _backfill().main(["--start", "2026-03-01", "--end", "2026-03-01"])
    assert code == 2  # a usage or configuration error: nothing ran
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"WISTIA_LOOKBACK_DAYS must be <= {MAX_LOOKBACK_DAYS}" in err
    assert not (tmp_path / "airflow").exists()


def test_a_failed_claim_is_a_refusal_only_while_another_run_holds_the_day(tmp_path) -> None:
    """Exit 3 ("refused, held by ...") only for a day RUNNING by another live run; a claim
    that failed on a day another run finished (a wrong token's preflight) is a failed run."""
    settings = load_settings({"WISTIA_TARGET": "local", "WISTIA_STATE_DIR": str(tmp_path)})
    store, backfill = open_state_store(settings), _backfill()
    d = date(2026, 3, 5)
    ours = DayResult(d, "manual__ours", "failed", 0.05, ["claim_day", "ingest"])
    store.claim_day(d, "manual__other", 300)
    refused = backfill.claim_refused(settings, ours)
    assert refused is not None and refused.startswith(f"data day {d} is held by run ")
    assert "'manual__other' (RUNNING, attempt 1, lease until " in refused
    store.mark_succeeded(d, "manual__other", {})
    assert backfill.claim_refused(settings, ours) is None  # finished: nobody holds it
    store.claim_day(d, "manual__crashed", 1)
    time.sleep(1.2)  # the crashed holder's lease lapsed before our attempt: not held
    assert backfill.claim_refused(settings, ours) is None
    store.claim_day(d, "manual__live", 300)  # takes the lapsed day over
    other_failure = DayResult(d, "manual__ours", "failed", 0.05, ["ingest"])
    assert backfill.claim_refused(settings, other_failure) is None  # our claim did not fail
