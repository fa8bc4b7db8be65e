"""``make report [DAY=YYYY-MM-DD]``: render the daily report of one data day and print its path.

    python -m wistia_pipeline.report [--day YYYY-MM-DD] [--lookback-days L]

Without ``--day``: the watermark (the last published day), else the newest gold day. Uses the
same settings as the pipeline (``WISTIA_TARGET``, ``WISTIA_LAKE_URI``, ``WISTIA_STATE_DIR``):
locally DuckDB over the lake and the SQLite run state. Exit 1 when there is nothing to report.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from wistia_pipeline.config import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    parser.add_argument("--lookback-days", type=int, default=None, help="L (default: settings)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    from wistia_pipeline.report import generate_report, latest_gold_day, report_link
    from wistia_pipeline.state import open_state_store

    settings = load_settings()
    store = open_state_store(settings)
    day = args.day or store.get_watermark() or latest_gold_day(settings.lake_uri)
    if day is None:
        print(
            f"nothing to report: no published day and no gold in {settings.lake_uri} "
            "(run make demo or make backfill first)",
            file=sys.stderr,
        )
        return 1
    result = generate_report(settings, day, lookback_days=args.lookback_days, store=store)
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        print(f"Report of {day} ({result.status}, {result.html_bytes:,} bytes):")
        print(report_link(settings, result.report_uri))
        if result.latest_uri:
            print(f"latest: {report_link(settings, result.latest_uri)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
