"""Run wistia_daily through Airflow on the local target over START..END in range runs, in order.

    python scripts/backfill.py --start 2026-01-01 --end 2026-01-31 --ranges [--retries 0]
    python scripts/backfill.py --start ... --end ... --max-range-days 30
    python scripts/backfill.py --start ... --end ...   # one run per day
    python scripts/backfill.py --target aws --start ... --end ...   # on the local AWS

START..END is cut into consecutive ranges of at most ``--max-range-days`` days (``--ranges``:
WISTIA_MAX_RANGE_DAYS, 7, what ``make backfill`` passes; neither: 1, a run per day, what
``make demo`` shows), the runs the DAG's timetable makes when it catches up; each is one
``dag.test()`` run of the real DAG (``wistia_dev.local_runner``) covering ``[D1, D2]``: one
ingestion of ``[D1 - L, D2]``, one silver and gold over it, the checks, one publish. Prints one
JSON line per run (``day`` = D2, ``first_day`` = D1) and a summary line; by default it stops at
the first run that does not succeed (later runs would re-publish partitions of its window).

Exit codes:
  0  every day succeeded
  1  a day's run failed (see its failed_tasks and the task logs)
  2  usage error (bad arguments or configuration): nothing ran
  3  refused or busy: a day has not ended in UTC, another runner holds the day (in this
     AIRFLOW_HOME), the day's Airflow run is not this runner's, or the run-state store
     refused the claim (another live run holds the day or an overlapping window); the
     line on stderr names the holder. Nothing was written for that day.

A permanent error (wrong token, missing configuration, refused claim, corrupt bronze, too many
rejects) fails its task at once whatever --retries says; --retries 0 also stops transient
errors from being retried.
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from wistia_dev import local_runner
from wistia_pipeline.config import (
    MAX_RANGE_DAYS,
    ConfigError,
    ensure_local_pii_key,
    load_settings,
)
from wistia_pipeline.dates import DayNotFinished, days_between, require_finished_day, split_range

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--start", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    parser.add_argument("--end", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    parser.add_argument(
        "--airflow-home",
        type=Path,
        default=None,
        help="AIRFLOW_HOME (default: $AIRFLOW_HOME, else <WISTIA_STATE_DIR>/airflow)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=None,
        help="override every task's retries for transient errors (e.g. 0)",
    )
    parser.add_argument("--lookback-days", type=int, default=None, help="param lookback_days")
    parser.add_argument(
        "--max-range-days",
        type=int,
        default=None,
        help=f"days per run (1..{MAX_RANGE_DAYS}; default 1: a run per day)",
    )
    parser.add_argument(
        "--ranges",
        action="store_true",
        help="runs of WISTIA_MAX_RANGE_DAYS days (the DAG's catchup runs; make backfill)",
    )
    parser.add_argument("--streams", default=None, help="param streams, comma-separated")
    parser.add_argument(
        "--keep-going", action="store_true", help="run the remaining days after a failure"
    )
    parser.add_argument(
        "--publish-only",
        action="store_true",
        help="param publish_only: only the checks and publish, on the stage a failed run left",
    )
    parser.add_argument(
        "--accept-check",
        action="append",
        default=[],
        metavar="NAME",
        help="param accept_failed_checks (repeatable): publish although this check fails",
    )
    parser.add_argument(
        "--override-reason", default=None, help="param override_reason (required with the above)"
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
    if args.accept_check and not (args.override_reason or "").strip():
        parser.error("--accept-check needs --override-reason (the override is recorded)")
    if args.start > args.end:
        parser.error(f"--start {args.start} is after --end {args.end}")
    if args.max_range_days is not None and not 1 <= args.max_range_days <= MAX_RANGE_DAYS:
        parser.error(f"--max-range-days must be in 1..{MAX_RANGE_DAYS}, got {args.max_range_days}")
    if args.retries is not None and args.retries < 0:
        parser.error(f"--retries must be >= 0, got {args.retries}")
    return args


def claim_refused(settings: object, result: local_runner.DayResult) -> str | None:
    """Why the store refused ``result``'s claim (the holder), or None if it was not refused.

    The claim fails at once (no retries) when another live run holds the day; the run-state
    record then names that run, RUNNING with a lease that was live during this run's attempt.
    A day another run finished (SUCCEEDED/FAILED) or whose holder's lease had lapsed was not
    refused: the claim failed for another reason (a preflight, the configuration), a failed run.
    """
    if "claim_day" not in result.failed_tasks:
        return None
    from wistia_pipeline.state import DayStatus, open_state_store

    attempted_at = datetime.now(UTC) - timedelta(seconds=result.duration_s)
    store = open_state_store(settings)  # type: ignore[arg-type]
    for record in store.list_days(result.first_day or result.day, result.day):
        live = record.status is DayStatus.RUNNING and record.lease_expires_at > attempted_at
        if live and record.run_id != result.run_id:
            return (
                f"data day {record.day} is held by run {record.run_id!r} "
                f"({record.status.value}, attempt {record.attempt}, lease until "
                f"{record.lease_expires_at.isoformat()})"
            )
    return None  # the claim failed for another reason (e.g. configuration)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.target == "aws":
        from wistia_dev import awsdemo

        return awsdemo.backfill_main(args.start, args.end)
    if args.target == "local":
        os.environ["WISTIA_TARGET"] = "local"
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"backfill: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return run_range(args, settings)


def prepare_airflow(args: argparse.Namespace, settings: Any) -> tuple[Path, Any]:
    """The environment, metadata DB and DAG of the runs: ``(AIRFLOW_HOME, dag)``."""
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
    return home, local_runner.load_dag(retries=args.retries)


def run_conf(args: argparse.Namespace) -> dict[str, object]:
    """The DAG params of every run of the range (the DAG validates them at claim time)."""
    conf: dict[str, object] = {}
    if args.lookback_days is not None:
        conf["lookback_days"] = args.lookback_days
    if args.streams:
        conf["streams"] = [s.strip() for s in args.streams.split(",") if s.strip()]
    if args.publish_only:
        conf["publish_only"] = True
    if args.accept_check:
        conf["accept_failed_checks"] = list(args.accept_check)
    if args.override_reason is not None:
        conf["override_reason"] = args.override_reason
    return conf


def run_line(result: local_runner.DayResult, first: date) -> dict[str, object]:
    """The JSON line of one run: ``day`` is its last data day D2, ``first_day`` D1."""
    return {
        "day": result.day.isoformat(),
        "first_day": first.isoformat(),
        "days": len(days_between(first, result.day)),
        "run_id": result.run_id,
        "state": result.state,
        "duration_s": result.duration_s,
        "failed_tasks": result.failed_tasks,
    }


def run_range(args: argparse.Namespace, settings: Any) -> int:
    """Set up Airflow and run the days of ``args``; the exit code."""
    try:  # the whole range up front: refuse before running any of its days
        require_finished_day(args.end)
    except DayNotFinished as exc:
        print(f"backfill: refused: {exc}", file=sys.stderr, flush=True)
        return EXIT_REFUSED
    home, dag = prepare_airflow(args, settings)
    conf = run_conf(args)
    max_days = args.max_range_days or (settings.max_range_days if args.ranges else 1)

    results = []
    refused: str | None = None
    for first, day in split_range(args.start, args.end, max_days):
        try:
            result = local_runner.run_day(
                dag, day, conf, mark_success_pattern=args.mark_success, first_day=first
            )
        except (local_runner.RunnerBusy, DayNotFinished) as exc:
            refused = str(exc)
            break
        results.append(result)
        print(json.dumps(run_line(result, first)), flush=True)
        refused = claim_refused(settings, result)
        if refused or (not result.ok and not args.keep_going):
            break
    failed = [
        d.isoformat()
        for r in results
        if not r.ok
        for d in days_between(r.first_day or r.day, r.day)
    ]
    if refused:
        print(f"backfill: refused: {refused}", file=sys.stderr, flush=True)
    print(
        json.dumps(
            {
                "backfill": f"{args.start}..{args.end}",
                "runs": len(results),
                "max_range_days": max_days,
                "failed_days": failed,
                "refused": refused,
                "lake_uri": settings.lake_uri,
                "airflow_home": str(home),
            }
        ),
        flush=True,
    )
    if refused:
        return EXIT_REFUSED
    if failed or len(results) < len(split_range(args.start, args.end, max_days)):
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
