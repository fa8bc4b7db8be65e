"""Fixtures: a clean lake and a lake with one defect per check (see sql_lake.py).

`good_lake`: a clean 3-day window (2024-03-04 Mon .. 2024-03-06 Wed) where every check passes.
`bad_lake`: the same lake with one defect per check (missing day, duplicate key, play_rate > 1,
reconciliation gap, raw email / IP in silver hashed columns).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sql_lake import (
    DAYS,
    build_events,
    build_fact,
    build_recon,
    copy_lake,
    good_visitors,
    write_lake,
)


@pytest.fixture(scope="session")
def _good_lake_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events = build_events()
    fact = build_fact(events)
    root = tmp_path_factory.mktemp("template") / "good_lake"
    return write_lake(root, events, fact, build_recon(fact), good_visitors())


@pytest.fixture(scope="session")
def _bad_lake_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events = build_events()
    fact = build_fact(events)
    recon = build_recon(fact)
    # gold_days_present: no gold (and no reconciliation) rows for the middle day.
    del fact[DAYS[1]]
    del recon[DAYS[1]]
    # gold_unique_dt_media: m1 twice on day 0.
    fact[DAYS[0]].append(dict(fact[DAYS[0]][0]))
    # gold_play_rate_range: day 2 m2 has play_rate > 1.
    fact[DAYS[2]][1]["play_rate"] = 1.5
    # reconciliation_gap: day 2 m1 has 10 events vs 4 plays.
    recon[DAYS[2]][0].update(events_count=10, difference=6)
    # silver_no_raw_pii: a raw email and a raw IP in silver events, a raw email in visitors.
    events[DAYS[0]][0]["email_hash"] = "jane.doe@example.com"
    events[DAYS[2]][0]["ip_hash"] = "203.0.113.7"
    # ... and an identity leaking through a free-text field.
    events[DAYS[0]][1]["org"] = "contact: jane.doe@example.com"
    visitors = good_visitors()
    visitors[0]["email_hash"] = "john@example.org"
    root = tmp_path_factory.mktemp("template") / "bad_lake"
    return write_lake(root, events, fact, recon, visitors)


@pytest.fixture
def good_lake(_good_lake_template: Path, tmp_path: Path) -> Path:
    """A private copy of the clean lake (tests may modify it)."""
    return copy_lake(_good_lake_template, tmp_path / "good_lake")


@pytest.fixture
def bad_lake(_bad_lake_template: Path, tmp_path: Path) -> Path:
    """A private copy of the lake with one defect per check."""
    return copy_lake(_bad_lake_template, tmp_path / "bad_lake")
