"""Inspect and repair the run-state store of the configured target (``WISTIA_TARGET`` etc.).

python -m wistia_pipeline.state days 2026-03-01 2026-03-09   # one JSON line per day
python -m wistia_pipeline.state watermark                    # {"watermark": "2026-03-09"}
python -m wistia_pipeline.state create-table                 # aws target: create the table
python -m wistia_pipeline.state release 2026-03-09 --run-id RUN --reason WHY [--holder-dead]
python -m wistia_pipeline.state repair-watermark 2026-03-07 --expected 2026-03-09 --reason WHY
python -m wistia_pipeline.state audit                        # the recorded interventions

Exit codes: 0 done, 2 usage error, 3 refused (holder alive, not held by that run, watermark
not the expected value): nothing was written.
"""

from __future__ import annotations

import argparse
import getpass
import json
import socket
import sys
from collections.abc import Sequence
from datetime import date

from wistia_pipeline.config import load_settings
from wistia_pipeline.dates import format_ts
from wistia_pipeline.state import (
    DayRun,
    HolderAlive,
    NotClaimedByRun,
    RunStateStore,
    WatermarkChanged,
    create_table,
    open_state_store,
)

EXIT_REFUSED = 3


def day_run_to_json(run: DayRun) -> dict[str, object]:
    return {
        "day": run.day.isoformat(),
        "status": run.status.value,
        "run_id": run.run_id,
        "attempt": run.attempt,
        "started_at": format_ts(run.started_at),
        "finished_at": None if run.finished_at is None else format_ts(run.finished_at),
        "counts": run.counts,
        "error": run.error,
        "lease_expires_at": format_ts(run.lease_expires_at),
    }


def operator_name() -> str:
    """Who runs the command (``user@host``), recorded with every intervention."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wistia_pipeline.state",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    days = sub.add_parser("days", help="records of the days in [START, END]")
    days.add_argument("start", type=date.fromisoformat)
    days.add_argument("end", type=date.fromisoformat)
    sub.add_parser("watermark", help="the last fully published day")
    sub.add_parser("create-table", help="create the DynamoDB table (aws target)")
    sub.add_parser("audit", help="every recorded release and watermark repair")
    release = sub.add_parser("release", help="release a day's RUNNING claim (marks it FAILED)")
    release.add_argument("day", type=date.fromisoformat)
    release.add_argument("--run-id", required=True, help="the holder's run id (see `days`)")
    release.add_argument("--reason", required=True, help="why (recorded)")
    release.add_argument(
        "--holder-dead",
        action="store_true",
        help="release although the lease is live: you know the holder's process is dead",
    )
    repair = sub.add_parser("repair-watermark", help="move the watermark back to DAY")
    repair.add_argument("day", type=date.fromisoformat)
    repair.add_argument(
        "--expected", required=True, type=date.fromisoformat, help="the watermark now"
    )
    repair.add_argument("--reason", required=True, help="why (recorded)")
    for command in (release, repair):
        command.add_argument("--by", default=None, help="who (default: user@host)")
    return parser


def run_command(args: argparse.Namespace, store: RunStateStore) -> None:
    """A store command; prints one JSON object (or line) per result."""
    if args.command == "days":
        for run in store.list_days(args.start, args.end):
            print(json.dumps(day_run_to_json(run), ensure_ascii=False))
    elif args.command == "watermark":
        watermark = store.get_watermark()
        print(json.dumps({"watermark": None if watermark is None else watermark.isoformat()}))
    elif args.command == "audit":
        for entry in store.audit_log():
            row = {**entry.__dict__, "at": format_ts(entry.at), "day": entry.day.isoformat()}
            print(json.dumps(row, ensure_ascii=False))
    elif args.command == "release":
        released = store.release_day(
            args.day,
            args.run_id,
            by=args.by or operator_name(),
            reason=args.reason,
            holder_dead=args.holder_dead,
        )
        print(json.dumps(day_run_to_json(released), ensure_ascii=False))
    else:  # repair-watermark
        store.repair_watermark(
            args.day, expected=args.expected, by=args.by or operator_name(), reason=args.reason
        )
        print(json.dumps({"watermark": args.day.isoformat(), "was": args.expected.isoformat()}))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.command == "create-table":
        if settings.target != "aws":
            parser.error("create-table needs WISTIA_TARGET=aws (SQLite creates itself)")
        import boto3

        table = create_table(boto3.client("dynamodb"), settings.state_table)
        print(json.dumps({"table": table["TableName"], "status": table["TableStatus"]}))
        return 0
    try:
        run_command(args, open_state_store(settings))
    except (HolderAlive, NotClaimedByRun, WatermarkChanged) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except ValueError as exc:  # e.g. a repair that would move the watermark forward
        parser.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
