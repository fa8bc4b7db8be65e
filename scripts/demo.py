"""`make demo`: the Wistia simulator -> wistia_daily for the last 3 days through Airflow (local
target) -> the gold summary (top media by play rate per day) -> stops the simulator.

Safe to re-run: every day is re-processed idempotently (partition overwrite) and the run state
records each rerun. WISTIA_START_DATE (where the DAG's catchup starts), when unset, becomes the
demo's first day: the DAG the runs register in Airflow's metadata DB then never asks a later
``make airflow`` to catch up from an older date. Uses WISTIA_STATE_DIR (default .state/) for the lake, the run-state SQLite
file, the Airflow home and the logs; generates the local PII hash key there once.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from wistia_dev import repo_root
from wistia_pipeline.config import ensure_local_pii_key, load_settings
from wistia_simulator.process import free_port, start_simulator, stop_process

DAYS = 3
TOP_N = 5


def run_backfill(start: date, end: date, log_path: Path) -> int:
    """scripts/backfill.py in a child process; its JSON progress lines are echoed here."""
    cmd = [
        sys.executable,
        str(repo_root() / "scripts" / "backfill.py"),
        "--start",
        start.isoformat(),
        "--end",
        end.isoformat(),
    ]
    with log_path.open("a") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if line.startswith("{"):
                print("  " + line.rstrip(), flush=True)
        return proc.wait()


def print_summary(lake_uri: str, start: date, end: date) -> None:
    from wistia_pipeline.sql import run_query_local

    columns, rows = run_query_local(
        lake_uri, "top_media_by_play_rate", start_date=start, end_date=end, top_n=TOP_N
    )
    print(
        f"\nTop {TOP_N} media by play rate per day (examples/top_media_by_play_rate.sql "
        "on DuckDB over the local gold table):"
    )
    header = " | ".join(f"{c:>12}" if c != "media_name" else f"{c:<32}" for c in columns)
    current = None
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        if record["dt"] != current:
            current = record["dt"]
            print(f"\n{current}\n{header}")
        cells = []
        for col, value in record.items():
            if col == "media_name":
                cells.append(f"{str(value)[:32]:<32}")
            elif isinstance(value, float):
                cells.append(f"{value:>12.4f}")
            else:
                cells.append(f"{value!s:>12}")
        print(" | ".join(cells))
    if not rows:
        print("  (no rows)")


def demo_days(today: date | None = None) -> tuple[date, date]:
    """The demo's first and last data day: the ``DAYS`` days ending yesterday (UTC)."""
    yesterday = (today or datetime.now(UTC).date()) - timedelta(days=1)
    return yesterday - timedelta(days=DAYS - 1), yesterday


def catchup_env(first_day: date, env: dict[str, str] | None = None) -> dict[str, str]:
    """``WISTIA_START_DATE`` for the runs: the caller's, else the demo's first day."""
    env = os.environ if env is None else env
    return {"WISTIA_START_DATE": env.get("WISTIA_START_DATE") or first_day.isoformat()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--target",
        choices=("local", "aws"),
        default="local",
        help="aws: the same days on the local AWS, the DAG and the Step Functions twin",
    )
    if parser.parse_args(argv).target == "aws":
        from wistia_dev import awsdemo

        return awsdemo.demo_main(*demo_days())
    settings = load_settings()
    state_dir = settings.state_dir
    logs = state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_path = logs / f"demo-{stamp}.log"

    if not os.environ.get("WISTIA_PII_HASH_KEY"):
        os.environ["WISTIA_PII_HASH_KEY"] = ensure_local_pii_key(state_dir)
    token = secrets.token_hex(16)  # the simulator's credential for this demo only
    port = free_port()
    start, yesterday = demo_days()

    print(f"Starting the Wistia simulator on 127.0.0.1:{port} ...", flush=True)
    sim = start_simulator(
        port,
        token,
        *("--seed", "42", "--start-date", (yesterday - timedelta(days=29)).isoformat()),
        *("--end-date", yesterday.isoformat()),
        log_path=logs / f"simulator-{stamp}.log",
    )
    try:
        os.environ.update(
            {
                "WISTIA_TARGET": "local",
                "WISTIA_API_URL": f"http://127.0.0.1:{port}/modern",
                "WISTIA_API_TOKEN": token,
                **catchup_env(start),
            }
        )
        print(
            f"Running wistia_daily through Airflow for {start} .. {yesterday} "
            f"(one dag.test() run per day; full log: {log_path}) ...",
            flush=True,
        )
        code = run_backfill(start, yesterday, log_path)
        if code != 0:
            print(f"\nA run failed (exit {code}); see {log_path}", file=sys.stderr)
            return code
        print_summary(settings.lake_uri, start, yesterday)
    finally:
        stop_process(sim)
        print("\nSimulator stopped.")

    home = Path(os.environ.get("AIRFLOW_HOME") or state_dir / "airflow")
    print(f"Lake:            {settings.lake_uri}")
    print(f"Run state:       {settings.state_db}")
    print(f"Airflow home:    {home} (task logs are in the demo log)")
    print(f"Logs:            {log_path}")
    print("Query the lake:  make query Q=top_media_by_play_rate")
    from wistia_pipeline.report import report_uri  # the wistia_daily report task wrote it

    latest = report_uri(settings.lake_uri, "latest")
    print(f"Daily report:    {latest if Path(latest).is_file() else 'none (make report)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
