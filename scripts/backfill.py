"""Run wistia_daily through Airflow on the local target for each day of START..END, in order.

    python scripts/backfill.py --start 2026-01-01 --end 2026-01-03 [--retries 0] [--keep-going]
    python scripts/backfill.py --target aws --start ... --end ...   # on the local AWS

Every day is one ``dag.test()`` run of the real DAG (``wistia_dev.local_runner``). Prints one
JSON line per day and a summary line; exits 1 if any day's run failed (by default it stops at the
first failure: later days would re-publish partitions of the failed day's window).
WISTIA_START_DATE (the DAG's start date) is set to START when it is unset or later: Airflow gives
a run whose logical date is before the start date no tasks at all (it "succeeds" doing nothing).

``--target aws`` (``make backfill TARGET=aws``) is another flow (``wistia_dev.awsdemo``): the
range from WISTIA_API_URL with WISTIA_API_TOKEN through the DAG on the aws target and through the
Step Functions twin, on the local AWS (the one at AWS_ENDPOINT_URL, else one started for it),
deployed as ENV=local / ENV=local-twin. Without ``--target`` the runs use WISTIA_TARGET as set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from wistia_dev import local_runner
from wistia_pipeline.config import ensure_local_pii_key, load_settings
from wistia_pipeline.dates import days_between


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    parser.add_argument("--end", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    parser.add_argument(
        "--airflow-home",
        type=Path,
        default=None,
        help="AIRFLOW_HOME (default: $AIRFLOW_HOME, else <WISTIA_STATE_DIR>/airflow)",
    )
    parser.add_argument(
        "--retries", type=int, default=None, help="override every task's retries (e.g. 0)"
    )
    parser.add_argument("--lookback-days", type=int, default=None, help="param lookback_days")
    parser.add_argument("--streams", default=None, help="param streams, comma-separated")
    parser.add_argument(
        "--keep-going", action="store_true", help="run the remaining days after a failure"
    )
    parser.add_argument(
        "--mark-success",
        default=None,
        metavar="REGEX",
        help="task ids marked successful without running (e.g. '^(ingest|silver|gold)$')",
    )
    parser.add_argument(
        "--target",
        choices=("local", "aws"),
        default=None,
        help="aws: deploy to the local AWS and run the DAG and the twin there",
    )
    args = parser.parse_args(argv)
    if args.start > args.end:
        parser.error(f"--start {args.start} is after --end {args.end}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.target == "aws":
        from wistia_dev import awsdemo

        return awsdemo.backfill_main(args.start, args.end)
    if args.target == "local":
        os.environ["WISTIA_TARGET"] = "local"
    settings = load_settings()
    home = args.airflow_home or Path(
        os.environ.get("AIRFLOW_HOME") or settings.state_dir / "airflow"
    )
    if settings.target == "local" and not settings.pii_hash_key and not settings.pii_secret_id:
        # The local default key: generated once under the state dir, never hard-coded.
        os.environ["WISTIA_PII_HASH_KEY"] = ensure_local_pii_key(settings.state_dir)
    # A run before the DAG's start date would have no tasks: start at START at the latest.
    current = os.environ.get("WISTIA_START_DATE", "").strip()
    if not current or current > args.start.isoformat():
        os.environ["WISTIA_START_DATE"] = args.start.isoformat()
    # Airflow reads its configuration when first imported: set the environment before that.
    os.environ.update(local_runner.airflow_env(home.resolve()))
    local_runner.ensure_metadata_db(home.resolve())
    dag = local_runner.load_dag(retries=args.retries)

    conf: dict[str, object] = {}
    if args.lookback_days is not None:
        conf["lookback_days"] = args.lookback_days
    if args.streams:
        conf["streams"] = [s.strip() for s in args.streams.split(",") if s.strip()]

    results = []
    for day in days_between(args.start, args.end):
        result = local_runner.run_day(dag, day, conf, mark_success_pattern=args.mark_success)
        results.append(result)
        print(
            json.dumps(
                {
                    "day": day.isoformat(),
                    "run_id": result.run_id,
                    "state": result.state,
                    "duration_s": result.duration_s,
                    "failed_tasks": result.failed_tasks,
                }
            ),
            flush=True,
        )
        if not result.ok and not args.keep_going:
            break
    failed = [r.day.isoformat() for r in results if not r.ok]
    print(
        json.dumps(
            {
                "backfill": f"{args.start}..{args.end}",
                "runs": len(results),
                "failed_days": failed,
                "lake_uri": settings.lake_uri,
                "airflow_home": str(home),
            }
        ),
        flush=True,
    )
    return 1 if failed or len(results) < len(days_between(args.start, args.end)) else 0


if __name__ == "__main__":
    sys.exit(main())
