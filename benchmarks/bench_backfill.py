"""Benchmark: history from an empty lake in range runs vs daily runs (``make bench-backfill``).

Starts the Wistia simulator, then runs ``scripts/backfill.py`` (the local target: ``dag.test()``
of the real DAG, in-process ingestion, local Spark, DuckDB checks) over ``--days`` days twice,
each into its own empty lake and state: once in range runs of ``--max-range-days`` days (default
the whole span: one run) and once as one run per day (``--daily-days`` of them, default the same
days; fewer when 30 daily runs take too long). Prints JSON: wall time and API requests of each
(the simulator's own count), the design minimum of requests those days need (the
``bench-ingest`` counting: ``design_minimum_requests`` over the padded window of the span) and
the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench_ingest import TOKEN, admin, start_simulator

from wistia_pipeline.ingest import design_minimum_requests, events_request_days
from wistia_simulator.dataset import Dataset, DatasetConfig

REPO = Path(__file__).resolve().parents[1]
LOOKBACK = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--daily-days", type=int, default=None, help="default: --days")
    parser.add_argument("--max-range-days", type=int, default=None, help="default: --days")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 3, 31))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--media-count", type=int, default=20)
    parser.add_argument("--events-per-day", type=int, default=400)
    parser.add_argument("--visitor-count", type=int, default=300)
    return parser.parse_args(argv)


def minimum_requests(dataset: Dataset, first: date, last: date) -> int:
    """The fewest requests the design needs for ``[first, last]`` with lookback L, fetched once."""
    days = events_request_days(last, LOOKBACK, first)
    per_day = [len(dataset.events(d, d)) for d in days]
    active = len({row.visitor for row in dataset.events(first - timedelta(days=LOOKBACK), last)})
    minimum = design_minimum_requests(
        len(dataset.medias()), len(dataset.visitors()), per_day, active_visitors=active
    )
    return sum(minimum.values())


def run_backfill(
    base: str, first: date, last: date, max_range_days: int, work: Path
) -> dict[str, Any]:
    """``scripts/backfill.py`` over ``[first, last]`` into an empty lake; wall time, requests."""
    env = {
        **os.environ,
        "WISTIA_TARGET": "local",
        "WISTIA_API_URL": f"{base}/modern",
        "WISTIA_API_TOKEN": TOKEN,
        "WISTIA_STATE_DIR": str(work / "state"),
        "WISTIA_LAKE_URI": str(work / "lake"),
        "WISTIA_LOOKBACK_DAYS": str(LOOKBACK),
        "WISTIA_PII_HASH_KEY": "bench-backfill-key",
        "AIRFLOW_HOME": str(work / "airflow"),
    }
    before = admin(base, "GET", "requests")["total"]
    started = time.monotonic()
    cmd = [sys.executable, str(REPO / "scripts" / "backfill.py"), "--start", str(first),
           "--end", str(last), "--max-range-days", str(max_range_days), "--retries", "0"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(
            f"backfill failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    runs = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith('{"day"')]
    return {
        "days": (last - first).days + 1,
        "runs": len(runs),
        "wall_s": round(wall, 1),
        "run_s": [r["duration_s"] for r in runs],
        "requests": admin(base, "GET", "requests")["total"] - before,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    first = args.end - timedelta(days=args.days - 1)
    daily_days = args.daily_days or args.days
    config = DatasetConfig(
        seed=args.seed,
        start_date=first - timedelta(days=LOOKBACK + 2),
        end_date=args.end + timedelta(days=1),
        media_count=args.media_count,
        events_per_day=args.events_per_day,
        visitor_count=args.visitor_count,
    )
    dataset = Dataset(config)
    proc, base = start_simulator(config, latency_ms=0, rate_limit=0)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
            ranged = run_backfill(
                base, first, args.end, args.max_range_days or args.days, Path(tmp) / "r"
            )
            daily_first = args.end - timedelta(days=daily_days - 1)
            daily = run_backfill(base, daily_first, args.end, 1, Path(tmp) / "d")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    minimum = minimum_requests(dataset, first, args.end)
    per_day_daily = daily["wall_s"] / daily["days"]
    print(json.dumps({
        "simulated_days": args.days,
        "data": {"media": args.media_count, "events_per_day": args.events_per_day,
                 "visitors": args.visitor_count, "lookback_days": LOOKBACK},
        "range_runs": {**ranged, "minimum_requests": minimum,
                       "requests_over_minimum_pct": round(100 * (ranged["requests"] / minimum - 1), 2)},
        "daily_runs": daily,
        "daily_wall_s_projected_for_all_days": round(per_day_daily * args.days, 1),
        "speedup_wall": round(per_day_daily * args.days / ranged["wall_s"], 2),
        "requests_ratio_daily_per_day_vs_range": round(
            daily["requests"] / daily["days"] * args.days / ranged["requests"], 2),
        "load_average": os.getloadavg(),
    }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
