"""Issue 11 section 3 end to end (local target, dag.test()): a check that fails for a known
reason, then a rerun of only the checks and publish with a recorded override.

D1 publishes. D2 runs with a check tolerance of 0, so ``reconciliation_gap`` fails on the
settled day D1 (late events not yet released in the simulator trail by_date's plays): the run
fails, D2 is FAILED and the published gold is unchanged. The rerun of D2 with ``publish_only``
and an override of ``reconciliation_gap`` (with a reason) skips ingest, silver and gold, runs
every check on the stage the failed run left, publishes exactly that stage, marks D2
SUCCEEDED with the override recorded, and the day's report says which check and why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from wistia_dev import local_runner
from wistia_pipeline.config import load_settings
from wistia_pipeline.sql import connect_local
from wistia_pipeline.state import DayStatus, open_state_store

pytestmark = pytest.mark.slow

D1, D2 = date(2026, 3, 6), date(2026, 3, 7)
REASON = "late events of 2026-03-06 not yet delivered by Wistia (ticket 1234)"
# One dag.test() run with a run conf (scripts/backfill.py passes only lookback_days / streams).
RUN_WITH_CONF = """
import json, sys
from datetime import date
from wistia_dev import local_runner
dag = local_runner.load_dag(retries=0)
result = local_runner.run_day(dag, date.fromisoformat(sys.argv[1]), json.loads(sys.argv[2]))
print("RESULT " + json.dumps({"run_id": result.run_id, "state": result.state,
                              "failed_tasks": result.failed_tasks}))
"""


def gold(lake: Path, area: str = "published") -> list[tuple]:
    """fact_media_daily rows of [D1, D2] as readers (published) or the checks (staging) see
    them, without the ingestion timestamp, sorted."""
    database = "wistia" if area == "published" else "wistia_staging"
    con = connect_local(str(lake), database, area)
    try:
        empty = con.execute(f"SELECT * FROM {database}.fact_media_daily LIMIT 0")
        cols = [c[0] for c in empty.description if c[0] != "gold_ingested_at"]
        quoted = ", ".join(f'"{c}"' for c in cols)
        return con.execute(
            f"SELECT {quoted} FROM {database}.fact_media_daily "
            f"WHERE dt BETWEEN '{D1}' AND '{D2}' ORDER BY {quoted}"
        ).fetchall()
    finally:
        con.close()


def run_with_conf(home: Path, env: dict[str, str], day: date, conf: dict) -> dict:
    run_env = local_runner.airflow_env(home, {**os.environ, **env})
    proc = subprocess.run(
        [sys.executable, "-c", RUN_WITH_CONF, day.isoformat(), json.dumps(conf)],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, (proc.stdout + proc.stderr)[-8000:]
    return {**json.loads(line[len("RESULT ") :]), "output": proc.stdout + proc.stderr}


def test_failed_check_then_publish_only_rerun_with_an_override(
    simulator_factory, airflow_runner, tmp_path: Path, monkeypatch
) -> None:
    sim = simulator_factory(
        seed=5,
        start_date=date(2026, 3, 1),
        end_date=date(2026, 3, 10),
        media_count=4,
        events_per_day=80,
        visitor_count=40,
        late_event_share=0.2,
    )
    lake = tmp_path / "lake"
    env = {
        "WISTIA_TARGET": "local",
        "WISTIA_STATE_DIR": str(tmp_path / "state"),
        "WISTIA_LAKE_URI": str(lake),
        "WISTIA_API_URL": sim.url,
        "WISTIA_API_TOKEN": sim.token,
        "WISTIA_PII_HASH_KEY": "e2e-override-test-key",
        "WISTIA_LOOKBACK_DAYS": "1",
        "WISTIA_START_DATE": D1.isoformat(),
        "WISTIA_CHECK_TOLERANCE": "1.0",  # D1 publishes despite its unreleased late events
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    store = open_state_store(load_settings())
    first = airflow_runner.backfill(D1, D1, env)
    assert first.returncode == 0, first.output[-8000:]
    published = gold(lake)
    assert published

    # --- D2 with no tolerance: reconciliation_gap fails on the settled day D1 ---------------
    strict = {**env, "WISTIA_CHECK_TOLERANCE": "0"}
    failed = airflow_runner.backfill(D2, D2, strict)
    assert failed.returncode == 1, failed.output[-8000:]
    assert failed.days[0]["failed_tasks"] == ["checks", "publish"]
    record = store.get_day(D2)
    assert record.status is DayStatus.FAILED and record.overrides == ()
    assert record.error.startswith("checks:") and "reconciliation_gap" in record.error
    assert gold(lake) == published  # nothing unchecked reached readers
    assert store.get_watermark() == D1
    staged = gold(lake, "staging")
    assert staged and staged != published  # the failed run's output waits in staging

    # --- rerun only the checks and publish, accepting the understood failure ---------------
    conf = {
        "publish_only": True,
        "accept_failed_checks": ["reconciliation_gap"],
        "override_reason": REASON,
    }
    rerun = run_with_conf(airflow_runner.home, strict, D2, conf)
    assert rerun["state"] == "success", rerun["output"][-8000:]
    for skipped in ("ingest", "silver", "gold"):  # nothing recomputed
        assert airflow_runner.xcom(skipped, rerun["run_id"]) is None
    assert gold(lake) == staged  # exactly the stage the failed run's checks read
    record = store.get_day(D2)
    assert record.status is DayStatus.SUCCEEDED and record.run_id == rerun["run_id"]
    (override,) = record.overrides
    assert (override.check, override.reason) == ("reconciliation_gap", REASON)
    assert override.failures > 0 and rerun["run_id"] in override.by
    assert record.counts["checks_overridden"] == 1
    assert store.get_watermark() == D2
    page = (lake / "reports" / "wistia" / f"dt={D2}" / "index.html").read_text()
    assert "overridden by an operator: reconciliation_gap" in page
    assert REASON in page
