"""SQLite backend specifics: several OS processes race on one file; schema handling."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import date

import pytest

from wistia_pipeline.config import load_settings
from wistia_pipeline.state import (
    DayAlreadyClaimed,
    NotClaimedByRun,
    StateStoreError,
    open_state_store,
)
from wistia_pipeline.state.sqlite_store import SQLiteRunStateStore

D = date(2026, 3, 9)

# Each child opens the store (racing on schema creation of a fresh file too), reports "ready",
# waits for "go" on stdin, then claims the day and advances the watermark to its own day.
CHILD = """
import json, sys
from datetime import date, timedelta
from wistia_pipeline.state import DayAlreadyClaimed
from wistia_pipeline.state.sqlite_store import SQLiteRunStateStore
path, run_id, offset = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = SQLiteRunStateStore(path)
print("ready", flush=True)
sys.stdin.readline()
try:
    won = store.claim_day(date(2026, 3, 9), run_id).run_id == run_id
except DayAlreadyClaimed:
    won = False
moved = store.advance_watermark(date(2026, 3, 1) + timedelta(days=offset), run_id)
print(json.dumps({"run_id": run_id, "won": won, "moved": moved}), flush=True)
"""


def test_concurrent_claims_from_processes_have_exactly_one_winner(tmp_path):
    path = tmp_path / "fresh" / "state.sqlite"  # not created yet: schema creation races too
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), f"proc-{i}", str(i)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    winners = [r["run_id"] for r in results if r["won"]]
    assert len(winners) == 1
    store = SQLiteRunStateStore(path)
    day = store.get_day(D)
    assert (day.run_id, day.attempt) == (winners[0], 1)
    assert store.get_watermark() == date(2026, 3, 6)
    assert results[5]["moved"] is True


def test_factory_opens_sqlite_at_settings_state_db(tmp_path):
    settings = load_settings({"WISTIA_TARGET": "local", "WISTIA_STATE_DIR": str(tmp_path / "st")})
    store = open_state_store(settings)
    assert isinstance(store, SQLiteRunStateStore)
    assert store.path == tmp_path / "st" / "state.sqlite"
    store.claim_day(D, "run-a")
    assert store.path.exists()
    # another store on the same settings (another Airflow task process) sees the claim
    assert open_state_store(settings).get_day(D).run_id == "run-a"


def test_schema_is_wal_and_versioned(tmp_path):
    store = SQLiteRunStateStore(tmp_path / "s.sqlite")
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"day_runs", "watermark", "audit_log", "ingestions"}
    SQLiteRunStateStore(store.path)  # reopening an existing file is fine


def test_a_version_1_file_is_upgraded_in_place(tmp_path):
    path = tmp_path / "s.sqlite"
    with sqlite3.connect(path) as conn:  # what version 1 created (no audit_log)
        conn.execute(
            "CREATE TABLE watermark (name TEXT PRIMARY KEY, watermark_day TEXT NOT NULL, "
            "run_id TEXT NOT NULL, updated_at TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO watermark VALUES ('PIPELINE', '2026-03-09', 'r', 'x')")
        conn.execute("PRAGMA user_version = 1")
    store = SQLiteRunStateStore(path)
    assert store.get_watermark() == D
    assert store.audit_log() == []


def test_a_version_2_file_gets_the_overrides_column_and_keeps_its_days(tmp_path):
    path = tmp_path / "s.sqlite"
    with sqlite3.connect(path) as conn:  # version 2's day_runs: no overrides column
        conn.execute(
            "CREATE TABLE day_runs (day TEXT PRIMARY KEY, status TEXT NOT NULL, run_id TEXT "
            "NOT NULL, attempt INTEGER NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, "
            "counts TEXT NOT NULL DEFAULT '{}', error TEXT, lease_expires_at TEXT NOT NULL, "
            "updated_at TEXT NOT NULL)"
        )
        conn.execute(
            "INSERT INTO day_runs VALUES ('2026-03-09', 'SUCCEEDED', 'r', 1, "
            "'2026-03-10T01:00:00.000Z', '2026-03-10T01:05:00.000Z', '{}', NULL, "
            "'2026-03-10T01:10:00.000Z', '2026-03-10T01:05:00.000Z')"
        )
        conn.execute("PRAGMA user_version = 2")
    store = SQLiteRunStateStore(path)
    assert store.get_day(D).overrides == ()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
    SQLiteRunStateStore(path)  # a second open finds the column and adds nothing


def test_unknown_schema_version_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 7")
    with pytest.raises(StateStoreError, match="schema version 7"):
        SQLiteRunStateStore(path)


def test_rejected_write_rolls_back_and_releases_the_lock(tmp_path):
    store = SQLiteRunStateStore(tmp_path / "s.sqlite")
    store.claim_day(D, "run-a")
    # both rejections happen inside BEGIN IMMEDIATE; each must roll back and unlock
    with pytest.raises(NotClaimedByRun):
        store.mark_failed(D, "run-b", "x")
    with pytest.raises(DayAlreadyClaimed):
        store.claim_day(D, "run-b")
    other = SQLiteRunStateStore(store.path)
    with sqlite3.connect(store.path, timeout=0) as conn:
        conn.execute("BEGIN IMMEDIATE")  # would raise "database is locked" if a lock leaked
        conn.execute("ROLLBACK")
    assert other.mark_succeeded(D, "run-a", {"events": 3}).counts == {"events": 3}
