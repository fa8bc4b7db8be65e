"""scripts/backfill.py argument handling (the runs themselves are in the end-to-end tests)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from wistia_dev import local_runner
from wistia_pipeline.dates import days_between

REPO = Path(__file__).resolve().parents[2]


def test_rejects_reversed_range() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "backfill.py"),
            "--start",
            "2026-01-02",
            "--end",
            "2026-01-01",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "after --end" in proc.stderr


def test_day_to_logical_date() -> None:
    # dag.test() infers the last complete day before the logical date as the data interval.
    assert local_runner.logical_date_for(date(2026, 2, 28)).isoformat() == (
        "2026-03-01T00:00:00+00:00"
    )
    assert days_between(date(2026, 2, 27), date(2026, 3, 1)) == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
    ]
