"""``make backfill``'s flags for the DAG params of an override and a publish-only rerun."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

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
