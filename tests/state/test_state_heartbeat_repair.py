"""The heartbeat (renew_claim), release_day and repair_watermark, on both backends."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.state.test_state_cli import run_cli
from wistia_pipeline.state import (
    DayAlreadyClaimed,
    DayStatus,
    HolderAlive,
    NotClaimedByRun,
    WatermarkChanged,
)
from wistia_pipeline.state.sqlite_store import SQLiteRunStateStore

D = date(2026, 3, 9)
LEASE = 300


def test_renewal_moves_the_lease_and_keeps_the_day(make_store, clock):
    holder, other = make_store(clock), make_store(clock)
    claimed = holder.claim_day(D, "run-a", lease_seconds=LEASE)
    clock.advance(200)
    renewed = holder.renew_claim(D, "run-a", lease_seconds=LEASE)
    assert renewed.lease_expires_at == clock.now + timedelta(seconds=LEASE)
    assert renewed.lease_expires_at > claimed.lease_expires_at
    assert (renewed.attempt, renewed.started_at) == (claimed.attempt, claimed.started_at)
    assert holder.get_day(D) == renewed
    # Past the first lease, but renewed: the live run keeps its day.
    clock.advance(200)
    with pytest.raises(DayAlreadyClaimed, match="run-a"):
        other.claim_day(D, "run-b", lease_seconds=LEASE)


def test_expired_lease_is_taken_over_and_the_old_run_cannot_renew(make_store, clock):
    crashed, rerun = make_store(clock), make_store(clock)
    crashed.claim_day(D, "run-a", lease_seconds=LEASE)
    clock.advance(LEASE + 1)  # no heartbeat: the process died
    taken = rerun.claim_day(D, "run-b", lease_seconds=LEASE)
    assert (taken.run_id, taken.attempt) == ("run-b", 2)
    with pytest.raises(NotClaimedByRun):
        crashed.renew_claim(D, "run-a", lease_seconds=LEASE)


def test_renew_needs_a_running_claim(store):
    with pytest.raises(NotClaimedByRun):
        store.renew_claim(D, "run-a")
    store.claim_day(D, "run-a")
    store.mark_succeeded(D, "run-a", {})
    with pytest.raises(NotClaimedByRun):
        store.renew_claim(D, "run-a")


def test_release_refuses_a_live_holder_then_records_who_and_why(store, clock):
    store.claim_day(D, "run-a", lease_seconds=LEASE)
    with pytest.raises(HolderAlive, match="run-a"):
        store.release_day(D, "run-a", by="ops@host", reason="stuck")
    assert store.get_day(D).status is DayStatus.RUNNING
    with pytest.raises(NotClaimedByRun):
        store.release_day(D, "run-x", by="ops@host", reason="wrong run", holder_dead=True)
    clock.advance(LEASE + 1)
    released = store.release_day(D, "run-a", by="ops@host", reason="worker killed")
    assert released.status is DayStatus.FAILED
    assert released.error.startswith("released by ops@host at ")
    assert "worker killed" in released.error and "'run-a'" in released.error
    assert store.get_day(D) == released
    (entry,) = store.audit_log()
    assert (entry.action, entry.by, entry.reason, entry.day, entry.previous) == (
        "release",
        "ops@host",
        "worker killed",
        D,
        "run-a",
    )
    assert entry.at == clock.now
    assert store.claim_day(D, "run-b").attempt == 2  # the day is free again


def test_release_of_a_known_dead_holder(store):
    store.claim_day(D, "run-a", lease_seconds=LEASE)
    released = store.release_day(D, "run-a", by="ops", reason="kill -9", holder_dead=True)
    assert "holder declared dead" in released.error


def test_repair_moves_the_watermark_back_explicitly(store, clock):
    store.advance_watermark(D, "run-a")
    with pytest.raises(ValueError, match="back"):
        store.repair_watermark(D + timedelta(days=1), expected=D, by="ops", reason="x")
    with pytest.raises(WatermarkChanged):
        store.repair_watermark(
            D - timedelta(days=5), expected=D - timedelta(days=1), by="ops", reason="x"
        )
    assert store.get_watermark() == D
    store.repair_watermark(D - timedelta(days=2), expected=D, by="ops", reason="future day")
    assert store.get_watermark() == D - timedelta(days=2)
    (entry,) = store.audit_log()
    assert (entry.action, entry.previous, entry.reason) == (
        "repair_watermark",
        D.isoformat(),
        "future day",
    )
    assert store.advance_watermark(D - timedelta(days=1), "run-b") is True  # forward again


def test_cli_release_and_repair(tmp_path):
    path = tmp_path / "s.sqlite"
    env = {"WISTIA_TARGET": "local", "WISTIA_STATE_DB": str(path)}
    store = SQLiteRunStateStore(path)
    store.claim_day(D, "run-a", lease_seconds=3600)
    store.advance_watermark(D, "run-a")

    out = run_cli("release", D.isoformat(), "--run-id", "run-a", "--reason", "r", env=env)
    assert out.returncode == 3 and "refused" in out.stderr  # live holder
    out = run_cli(
        "release",
        D.isoformat(),
        "--run-id",
        "run-a",
        "--reason",
        "dead",
        "--holder-dead",
        "--by",
        "me",
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert store.get_day(D).status is DayStatus.FAILED
    out = run_cli(
        "repair-watermark", "2026-03-01", "--expected", D.isoformat(), "--reason", "r", env=env
    )
    assert out.returncode == 0, out.stderr
    assert store.get_watermark() == date(2026, 3, 1)
    out = run_cli(
        "repair-watermark", "2026-03-05", "--expected", "2026-03-01", "--reason", "r", env=env
    )
    assert out.returncode == 2  # forward: a usage error, nothing written
    lines = run_cli("audit", env=env).stdout.splitlines()
    assert [line.split('"action": ')[1].split('"')[1] for line in lines] == [
        "release",
        "repair_watermark",
    ]
