"""Issue 12's run-level faults on the local target, through ``make backfill``'s script.

One simulated day ``D`` (tiny data), one AIRFLOW_HOME created fresh by the first test, a 30 s
claim lease (``WISTIA_CLAIM_LEASE_SECONDS``, its minimum). The tests share the lake and the run
state and run in file order, each leaving ``D`` published and correct for the next:

1. two backfills of ``D`` started at once on a fresh home: one publishes ``D``, the other is
   refused at once (exit 3) naming the holder's pid; no raw SQLAlchemy error;
2. kill -9 of the runner's process group mid-ingest, mid-silver, mid-gold, mid-checks and
   between checks and publish (one test each): published/ is byte-identical after each, the
   rerun while the lease lives is refused naming the holder run (asked of the store
   in-process: a subprocess's start-up alone can outlast a 30 s lease on a loaded machine),
   each rerun after the lease lapsed takes the day over, and the final gold equals the gold
   before the kills;
3. a bronze part rewritten as valid gzip with a line dropped, and a truncated part: silver
   refuses without spending the DAG's retries, the stored error is one line naming the file and
   what is wrong (its sha256 and record count vs the manifest's; truncated, EOFError), the day
   is FAILED (not stuck), published is unchanged; with the part restored the day publishes the
   same gold again;
4. a wrong token fails the run in under a minute with the DAG's own retries (no --retries).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from e2e.conftest import Backfill, BackfillProcess, start_backfill

from faults.test_bronze_parts import shortened, truncated, what_differs
from wistia_pipeline.config import load_settings
from wistia_pipeline.errors import is_permanent
from wistia_pipeline.sql import run_query_local
from wistia_pipeline.state import DayAlreadyClaimed, DayStatus, RunStateStore, open_state_store
from wistia_simulator.process import free_port, start_simulator, stop_process

pytestmark = pytest.mark.slow

D = date(2026, 3, 6)
LEASE_S = 30
KILL_RUNNER = Path(__file__).with_name("kill_runner.py")
SIM_TOKEN = "faults-sim-token-3b9d"  # the simulator's test credential, not a secret
TABLES = ("fact_media_daily", "dim_media", "reconciliation")
# Columns that differ between two runs over the same data by design (when, by which run).
VOLATILE = re.compile(r"(ingested_at|_run_id|_fetched_at)$")


@dataclass
class Lab:
    tmp: Path
    lake: Path
    home: Path
    env: dict[str, str]
    store: RunStateStore
    runs: int = 0
    first_two: list[BackfillProcess] = field(default_factory=list)
    # published/ (bytes) and the gold rows once D is published: what every later test keeps
    baseline: tuple[dict[str, str], dict[str, list[tuple]]] | None = None

    def start(
        self, *extra: str, kill_at: str | None = None, retries: int | None = 0, **overrides: str
    ) -> BackfillProcess:
        """Start a backfill of D; ``overrides``: environment variables of this run only."""
        self.runs += 1
        env = {**self.env, **overrides}
        if kill_at:
            env["WISTIA_FAULT_KILL_AT"] = kill_at
        script = KILL_RUNNER if kill_at else None
        logs = self.tmp / "logs" / f"{self.runs:02d}-{kill_at or 'run'}"
        return start_backfill(self.home, D, D, env, logs, *extra, retries=retries, script=script)

    def run(self, *extra: str, kill_at: str | None = None, **overrides: str) -> Backfill:
        return self.start(*extra, kill_at=kill_at, **overrides).wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("faults")
    port = free_port()
    sim = start_simulator(
        port,
        SIM_TOKEN,
        *("--seed", "5", "--start-date", "2026-03-03", "--end-date", "2026-03-10"),
        *("--media-count", "3", "--events-per-day", "40", "--visitor-count", "20"),
    )
    env = {
        "WISTIA_TARGET": "local",
        "WISTIA_STATE_DIR": str(tmp / "state"),
        "WISTIA_LAKE_URI": str(tmp / "lake"),
        "WISTIA_API_URL": f"http://127.0.0.1:{port}/modern",
        "WISTIA_API_TOKEN": SIM_TOKEN,
        "WISTIA_PII_HASH_KEY": "faults-test-key",
        "WISTIA_LOOKBACK_DAYS": "1",
        "WISTIA_CLAIM_LEASE_SECONDS": str(LEASE_S),
    }
    store = open_state_store(load_settings(env))
    try:
        yield Lab(tmp, tmp / "lake", tmp / "airflow", env, store)
    finally:
        stop_process(sim)


def published_bytes(lake: Path) -> dict[str, str]:
    """Every file under published/ with its sha256: what readers see, exactly."""
    root = lake / "published"
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def published_rows(lake: Path) -> dict[str, list[tuple]]:
    """The published gold tables' rows (through the SQL layer), minus run-specific columns."""
    rows = {}
    for table in TABLES:
        columns, _ = run_query_local(str(lake), f"SELECT * FROM ${{database}}.{table} LIMIT 0")
        cols = ", ".join(f'"{c}"' for c in columns if not VOLATILE.search(c))
        query = f"SELECT {cols} FROM ${{database}}.{table} ORDER BY {cols}"
        rows[table] = run_query_local(str(lake), query)[1]
    return rows


def wait_for_lease_to_lapse(store: RunStateStore, day: date) -> None:
    expires = store.get_day(day).lease_expires_at
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 1.0)


def test_two_runs_at_once_one_publishes_the_other_is_refused(lab: Lab) -> None:
    # Both start on a fresh AIRFLOW_HOME: both migrate the metadata DB, both want the day.
    lab.first_two = [lab.start(), lab.start()]
    while any(p.poll() is None for p in lab.first_two):
        time.sleep(0.2)
    results = [p.wait() for p in lab.first_two]
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 3], "\n\n".join(r.output[-4000:] for r in results)
    winner, loser = sorted(zip(results, lab.first_two), key=lambda rp: rp[0].returncode)
    refusal = [x for x in loser[0].output.splitlines() if x.startswith("backfill: refused")]
    assert len(refusal) == 1, loser[0].output[-4000:]
    assert f"data day {D}" in refusal[0] and f'"pid": {winner[1].pid}' in refusal[0]
    assert loser[1].seconds < winner[1].seconds  # refused, not queued behind the winner
    for result, _ in (winner, loser):
        assert "UNIQUE constraint" not in result.output and "IntegrityError" not in result.output
    record = lab.store.get_day(D)
    assert (record.status, record.run_id) == (DayStatus.SUCCEEDED, winner[0].days[0]["run_id"])
    assert lab.store.get_watermark() == D
    assert published_rows(lab.lake)["fact_media_daily"]  # something real was published
    lab.baseline = (published_bytes(lab.lake), published_rows(lab.lake))


def kill_and_check(lab: Lab, step: str, before: dict[str, str], *extra: str) -> None:
    """Kill a run of D at ``step``; nothing it did reaches readers and the day waits for it."""
    killed = lab.run(*extra, kill_at=step)
    assert killed.returncode == -9, killed.output[-4000:]
    assert "kill_runner: kill -9 of process group" in killed.output
    assert published_bytes(lab.lake) == before, f"killed at {step}: published/ changed"
    record = lab.store.get_day(D)
    assert record.status is DayStatus.RUNNING and record.lease_expires_at > datetime.now(UTC)
    assert lab.store.get_watermark() == D


def refuse_a_second_claim(lab: Lab) -> str:
    """Claim D as another run while the crashed run's lease lives (the store's rule, which the
    claim task applies), and the line ``make backfill`` prints (exit 3) for such a refusal."""
    from scripts import backfill
    from wistia_dev.local_runner import DayResult

    with pytest.raises(DayAlreadyClaimed) as refused:
        lab.store.claim_day(D, "manual__second", LEASE_S)
    assert is_permanent(refused.value)  # no retries with backoff for it
    result = DayResult(D, "manual__second", "failed", 1.0, ["claim_day"])
    return backfill.claim_refused(load_settings(lab.env), result) or ""


# In this order: the killed-at-checks run staged a complete window, so the publish-only
# rerun reaches the point between checks and publish in seconds instead of a full run's minute.
KILLS = [
    ("ingest", ()),
    ("silver", ()),
    ("gold", ()),
    ("checks", ()),
    ("publish", ("--publish-only",)),
]


@pytest.mark.parametrize(("step", "extra"), KILLS, ids=[step for step, _ in KILLS])
def test_kill_9_at_a_step_changes_nothing_published_and_the_day_waits(
    lab: Lab, step: str, extra: tuple[str, ...]
) -> None:
    """One kill per test (each a full run on a loaded machine: several would outlast the
    per-test timeout); each kill's run takes the day over from the previous kill's."""
    assert lab.baseline, "runs after test_two_runs_at_once_one_publishes_the_other_is_refused"
    if lab.store.get_day(D).status is DayStatus.RUNNING:  # killed by the previous test
        wait_for_lease_to_lapse(lab.store, D)
    kill_and_check(lab, step, lab.baseline[0], *extra)
    if step == "ingest":
        holder = lab.store.get_day(D).run_id
        assert f"data day {D} is held by run {holder!r}" in refuse_a_second_claim(lab)
        assert lab.store.get_day(D).run_id == holder  # the refused claim wrote nothing


def test_after_the_kills_the_rerun_takes_the_day_over_with_the_same_gold(lab: Lab) -> None:
    assert lab.store.get_day(D).status is DayStatus.RUNNING  # the last kill's, lease lapsing
    wait_for_lease_to_lapse(lab.store, D)
    final = lab.run()
    assert final.returncode == 0, final.output[-8000:]
    record = lab.store.get_day(D)
    assert (record.status, record.run_id) == (DayStatus.SUCCEEDED, final.days[0]["run_id"])
    assert published_rows(lab.lake) == lab.baseline[1]  # the same gold as before the crashes
    assert lab.store.get_watermark() == D


def a_bronze_part(lake: Path) -> tuple[Path, dict]:
    """A part of D's events from the latest complete bronze run, and its manifest entry."""
    manifests = sorted(
        (lake / "bronze" / "wistia" / "events" / f"dt={D}").glob("*/_manifest.json"),
        key=lambda p: json.loads(p.read_text())["completed_at"],
    )
    manifest = json.loads(manifests[-1].read_text())
    entry = next(f for f in manifest["files"] if f["records"] >= 2)
    return manifests[-1].parent / entry["name"], entry


@pytest.mark.parametrize("corrupt", [shortened, truncated], ids=["shortened", "truncated"])
def test_corrupt_bronze_fails_silver_naming_the_file(lab: Lab, corrupt) -> None:
    part, entry = a_bronze_part(lab.lake)
    original = part.read_bytes()
    before = published_bytes(lab.lake)
    part.write_bytes(corrupt(original))
    try:
        failed = lab.run(retries=None)  # the DAG's own retries: none may be spent on this
    finally:
        part.write_bytes(original)
    assert failed.returncode == 1, failed.output[-4000:]
    failed_tasks = failed.days[0]["failed_tasks"]  # sorted, with the upstream_failed ones
    assert "silver" in failed_tasks and "ingest" not in failed_tasks, failed.days[0]
    record = lab.store.get_day(D)
    assert record.status is DayStatus.FAILED  # not stuck RUNNING: the next run may go at once
    # One line: the step, the root cause naming the file and what is wrong with it.
    assert "\n" not in record.error and record.error.startswith("silver:"), record.error
    detail = what_differs(corrupt, original, entry)
    assert f"BronzePartMismatch: bronze part {part}: {detail}" in record.error, record.error
    assert "failing without retries" in record.error, record.error
    assert published_bytes(lab.lake) == before


def test_the_day_publishes_again_once_the_part_is_restored(lab: Lab) -> None:
    rows = published_rows(lab.lake)
    rerun = lab.run()
    assert rerun.returncode == 0, rerun.output[-8000:]
    assert lab.store.get_day(D).status is DayStatus.SUCCEEDED
    assert published_rows(lab.lake) == rows


def test_a_wrong_token_fails_in_under_a_minute_despite_retries(lab: Lab) -> None:
    before = published_bytes(lab.lake)
    published_by = lab.store.get_day(D).run_id
    result = lab.run(retries=None, WISTIA_API_TOKEN="not-the-token")
    assert result.returncode == 1, result.output[-4000:]
    day = result.days[0]
    assert day["duration_s"] < 60, day  # the DAG's retries (with backoff) were not used
    record = lab.store.get_day(D)
    if "claim_day" in day["failed_tasks"]:  # the preflight refused: nothing was claimed
        assert (record.status, record.run_id) == (DayStatus.SUCCEEDED, published_by)
    else:  # no preflight: the claim went through and ingest's first request failed
        assert "ingest" in day["failed_tasks"], day
        assert record.status is DayStatus.FAILED and "WistiaAuthError" in record.error
    assert "not-the-token" not in (record.error or "")
    assert published_bytes(lab.lake) == before
