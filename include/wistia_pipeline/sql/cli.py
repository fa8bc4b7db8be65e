"""Run a project query locally on DuckDB over the lake and print a table.

    python -m wistia_pipeline.sql.cli --list
    python -m wistia_pipeline.sql.cli top_media_by_play_rate --start-date 2024-01-01
    python -m wistia_pipeline.sql.cli checks/gold_unique_dt_media
    python -m wistia_pipeline.sql.cli my_query.sql
    python -m wistia_pipeline.sql.cli "SELECT dt, SUM(plays) FROM ${database}.fact_media_daily GROUP BY 1"
    python -m wistia_pipeline.sql.cli --checks --start-date 2024-01-01 --end-date 2024-01-03

(``make query Q=...`` runs this; without Q it lists the queries.) The window defaults to the
last ``WISTIA_LOOKBACK_DAYS`` days up to today (UTC); the lake to ``WISTIA_LAKE_URI``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date

from .. import dates
from ..config import load_settings
from .checks import DataCheckFailed
from .loader import KINDS, list_queries
from .local import run_checks_local, run_query_local

MAX_CELL = 60


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date YYYY-MM-DD: {text!r}") from None


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."


def format_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: header, separator, one line per row, then the row count."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    out = [line, "-+-".join("-" * w for w in widths)]
    for row in cells:
        out.append(
            " | ".join(
                v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(row, widths, strict=True)
            )
        )
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wistia_pipeline.sql.cli",
        description="Run an Athena query of the project locally (DuckDB over the local lake).",
    )
    parser.add_argument(
        "query", nargs="?", help="query name (see --list), kind/name, a .sql file or SQL text"
    )
    parser.add_argument("--list", action="store_true", help="list the available queries")
    parser.add_argument("--checks", action="store_true", help="run every data check")
    parser.add_argument("--lake-uri", help="lake root (default: WISTIA_LAKE_URI / state dir)")
    parser.add_argument("--start-date", type=_date, help="window start (default: end - lookback)")
    parser.add_argument("--end-date", type=_date, help="window end, inclusive (default: today UTC)")
    parser.add_argument("--database", default="wistia", help="schema name (default: wistia)")
    parser.add_argument("--tolerance", type=float, default=0.0, help="reconciliation tolerance")
    parser.add_argument("--top-n", type=int, default=10, help="rows per day for top-N queries")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list or (not args.query and not args.checks):
        for kind in KINDS:
            print(f"{kind}:")
            for name in list_queries(kind):
                print(f"  {kind}/{name}")
        return 0
    settings = load_settings()
    lake_uri = args.lake_uri or settings.lake_uri
    end = args.end_date or dates.utcnow().date()
    start = args.start_date or dates.window(end, settings.lookback_days)[0]
    if start > end:
        parser.error(f"--start-date {start} is after --end-date {end}")
    try:
        if args.checks:
            results = run_checks_local(lake_uri, start, end, args.tolerance, args.database)
            print(
                format_table(
                    ["check_name", "failures", "detail", "passed"],
                    [(r.check_name, r.failures, r.detail, r.passed) for r in results],
                )
            )
            return 0 if all(r.passed for r in results) else 1
        columns, rows = run_query_local(
            lake_uri,
            args.query,
            start_date=start,
            end_date=end,
            database=args.database,
            tolerance=args.tolerance,
            top_n=args.top_n,
        )
    except (ValueError, LookupError, TypeError, DataCheckFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(columns, rows) if columns else "(statement ran; no result set)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
