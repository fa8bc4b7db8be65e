"""Inspect the run-state store of the configured target (``WISTIA_TARGET`` etc.).

python -m wistia_pipeline.state days 2026-03-01 2026-03-09   # one JSON line per day
python -m wistia_pipeline.state watermark                    # {"watermark": "2026-03-09"}
python -m wistia_pipeline.state create-table                 # aws target: create the table
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date

from wistia_pipeline.config import load_settings
from wistia_pipeline.dates import format_ts
from wistia_pipeline.state import DayRun, create_table, open_state_store


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wistia_pipeline.state", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    days = sub.add_parser("days", help="records of the days in [START, END]")
    days.add_argument("start", type=date.fromisoformat)
    days.add_argument("end", type=date.fromisoformat)
    sub.add_parser("watermark", help="the last fully published day")
    sub.add_parser("create-table", help="create the DynamoDB table (aws target)")
    args = parser.parse_args(argv)

    settings = load_settings()
    if args.command == "create-table":
        if settings.target != "aws":
            parser.error("create-table needs WISTIA_TARGET=aws (SQLite creates itself)")
        import boto3

        table = create_table(boto3.client("dynamodb"), settings.state_table)
        print(json.dumps({"table": table["TableName"], "status": table["TableStatus"]}))
        return 0
    store = open_state_store(settings)
    if args.command == "days":
        for run in store.list_days(args.start, args.end):
            print(json.dumps(day_run_to_json(run), ensure_ascii=False))
    else:
        watermark = store.get_watermark()
        print(json.dumps({"watermark": None if watermark is None else watermark.isoformat()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
