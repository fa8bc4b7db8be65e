"""`python -m wistia_pipeline.state` on both targets, as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import boto3

from wistia_pipeline.state.dynamodb import DynamoDBRunStateStore
from wistia_pipeline.state.sqlite_store import SQLiteRunStateStore


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wistia_pipeline.state", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_lists_days_and_watermark_from_sqlite(tmp_path):
    env = {"WISTIA_TARGET": "local", "WISTIA_STATE_DB": str(tmp_path / "s.sqlite")}
    store = SQLiteRunStateStore(tmp_path / "s.sqlite")
    store.claim_day(date(2026, 3, 2), "run-2")
    store.claim_day(date(2026, 3, 1), "run-1")
    store.mark_failed(date(2026, 3, 1), "run-1", "Ärger")
    store.advance_watermark(date(2026, 2, 28), "run-0")

    out = run_cli("days", "2026-03-01", "2026-03-05", env=env)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["day"], r["status"], r["run_id"]) for r in rows] == [
        ("2026-03-01", "FAILED", "run-1"),
        ("2026-03-02", "RUNNING", "run-2"),
    ]
    assert rows[0]["error"] == "Ärger"
    assert rows[1]["finished_at"] is None

    out = run_cli("watermark", env=env)
    assert json.loads(out.stdout) == {"watermark": "2026-02-28"}
    assert run_cli("create-table", env=env).returncode == 2  # local target: usage error


def test_cli_creates_the_table_and_reads_dynamodb(aws_env):
    env = {"WISTIA_TARGET": "aws", "WISTIA_STATE_TABLE": "cli-state"}
    out = run_cli("create-table", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"table": "cli-state", "status": "ACTIVE"}
    DynamoDBRunStateStore("cli-state", client=boto3.client("dynamodb")).advance_watermark(
        date(2026, 3, 9), "run-9"
    )
    assert json.loads(run_cli("watermark", env=env).stdout) == {"watermark": "2026-03-09"}
