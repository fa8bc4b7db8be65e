"""Fixtures of the report tests: lakes with run states (report_lake.py), settings, a browser."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from report_lake import DAY, Lake, write_account_lake
from sql_lake import copy_lake


@pytest.fixture(scope="session")
def _account_template(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("account")
    return write_account_lake(root / "lake", root / "state.sqlite")


@pytest.fixture
def account(_account_template: Lake, tmp_path: Path) -> Lake:
    """A private copy of the 30-day account lake and its run state."""
    root = copy_lake(_account_template.root, tmp_path / "lake")
    state_db = tmp_path / "state.sqlite"
    shutil.copyfile(_account_template.state_db, state_db)
    t = _account_template
    return Lake(root, state_db, t.days, t.fact, t.events)


@pytest.fixture
def new_account(tmp_path: Path) -> Lake:
    """Three days of a new account; the last day has loads but no plays."""
    return write_account_lake(
        tmp_path / "new_lake", tmp_path / "new_state.sqlite", DAY, history=3, no_plays_on_day=True
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright (tests/browser_support.py)."""
    from browser_support import launch_chromium

    with launch_chromium() as chromium:
        yield chromium
