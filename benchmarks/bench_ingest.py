"""Benchmark: ingestion of one large simulated day (``make bench-ingest``); prints JSON.

Starts the Wistia simulator (500 media, ~50,000 events a day, 100 ms latency) with a rate limit
scaled so that the design-minimum number of requests takes about ``--target-seconds`` at the
limit, ingests one day (lookback 0, all streams) into a temporary local lake, and reports:

- requests made (the simulator's own count) vs the design minimum, and the client's retries;
- achieved request rate vs the limit (goal: >= 90 %);
- wall time, split into the request phase and the bronze writing that follows it;
- the same day fetched by a naive sequential client (the same endpoints and requests, one at a
  time, no threads), capped at ``--naive-cap-s``; when capped, its full time is projected from
  its measured request rate and the JSON says so.

``--workers`` defaults to 16: under this load a request takes ~0.2-0.3 s end to end (100 ms
simulated latency plus both processes sharing the CPU), so 8 workers carry only ~35 requests/s,
below the ~45/s limit used here (the production default of 8 is ample for Wistia's 10/s).

The logical date is the first day from ``--search-from`` whose event count is at least
``--min-events`` (the simulator draws each day's count around ``--events-per-day``).
"""

from __future__ import annotations

import argparse
import json
import math
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import requests

from wistia_pipeline.client import WistiaClient
from wistia_pipeline.config import load_settings
from wistia_pipeline.ingest import (
    ALL_STREAMS,
    design_minimum_requests,
    events_request_days,
    ingest_day,
)
from wistia_simulator.cli import config_flags
from wistia_simulator.dataset import Dataset, DatasetConfig

TOKEN = secrets.token_hex(12)  # a throwaway credential shared with the simulator child


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pick_day(args: argparse.Namespace) -> tuple[date, Dataset]:
    """First day >= search_from with at least min_events events; its dataset (data D-1..D+1)."""
    day = args.search_from
    for _ in range(60):
        config = DatasetConfig(
            seed=args.seed,
            start_date=day - timedelta(days=1),
            end_date=day + timedelta(days=1),
            media_count=args.media_count,
            events_per_day=args.events_per_day,
            visitor_count=args.visitor_count,
        )
        dataset = Dataset(config)
        if len(dataset.events(day, day)) >= args.min_events:
            return day, dataset
        day += timedelta(days=1)
    raise SystemExit(f"no day with >= {args.min_events} events; raise --events-per-day")


def start_simulator(
    config: DatasetConfig, latency_ms: int, rate_limit: int
) -> tuple[subprocess.Popen, str]:
    """A simulator child serving ``config``; returns it and its base URL once it is healthy."""
    port = _free_port()
    cmd = [
        sys.executable, "-m", "wistia_simulator", "--port", str(port), "--token", TOKEN,
        *config_flags(config), "--latency-ms", str(latency_ms), "--rate-limit", str(rate_limit),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"simulator exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if requests.get(f"{base}/_admin/health", timeout=1).ok:
                return proc, base
        except requests.RequestException:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("simulator did not come up within 60 s")


def admin(base: str, method: str, path: str) -> dict:
    resp = requests.request(method, f"{base}/_admin/{path}", timeout=60)
    resp.raise_for_status()
    return resp.json()


def warm_up(base: str, day: date) -> None:
    """Make the simulator generate and cache the data (not part of the measured run)."""
    for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
        admin(base, "GET", f"dataset?kind=media_by_date&start_date={d}&end_date={d}")
    admin(base, "GET", "dataset?kind=visitors")


def naive_sequential(
    base: str, day: date, media_ids: list[str], cap_s: float, rate_limit: int
) -> dict[str, Any]:
    """The same requests, one at a time, no threads; stops at the time cap."""
    client = WistiaClient(f"{base}/modern", TOKEN, rate_limit_per_minute=rate_limit, max_workers=1)
    start = time.monotonic()
    window = {"start_date": day.isoformat(), "end_date": day.isoformat()}
    capped = False

    def over() -> bool:
        return time.monotonic() - start > cap_s

    def drain(path: str, params: dict) -> None:
        nonlocal capped
        for _ in client.iter_pages(path, params, should_stop=over):
            pass
        capped = capped or over()

    try:
        drain("/medias", {})
        for media_id in media_ids:
            if over():
                capped = True
                break
            client.get(f"/stats/medias/{media_id}/by_date", window)
        for d in events_request_days(day, 0):
            if not capped:
                drain("/stats/events", {"start_date": d.isoformat(), "end_date": d.isoformat()})
        if not capped:
            drain("/stats/visitors", {})
        for media_id in media_ids:
            if capped or over():
                capped = True
                break
            client.get(
                f"/analytics/medias/{media_id}/timeseries", {**window, "granularity": "daily"}
            )
    finally:
        client.close()
    elapsed = time.monotonic() - start
    return {"requests_made": client.stats.requests, "wall_time_s": round(elapsed, 2),
            "capped": capped}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """The day to ingest and what it takes: the design minimum and the rate limit for it."""

    day: date
    config: DatasetConfig
    events_per_day: dict[date, int]  # events on each day the events stream requests
    visitors: int
    minimum: dict[str, int]  # design-minimum requests per stream
    rate_limit: int
    media_ids: list[str]

    @property
    def minimum_total(self) -> int:
        return sum(self.minimum.values())


@dataclass(frozen=True)
class Measured:
    """What the runs against the simulator observed."""

    summary: dict[str, Any]  # ingest_day's summary
    wall_s: float
    retries: int
    counts: dict[str, Any]  # the simulator's request counts for the ingestion
    naive: dict[str, Any]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--media-count", type=int, default=500)
    parser.add_argument("--events-per-day", type=int, default=50_000)
    parser.add_argument("--min-events", type=int, default=50_000)
    parser.add_argument("--visitor-count", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--target-seconds", type=float, default=60.0)
    parser.add_argument("--naive-cap-s", type=float, default=45.0)
    parser.add_argument("--search-from", type=date.fromisoformat, default=date(2026, 3, 1))
    return parser.parse_args(argv)


def plan_run(args: argparse.Namespace) -> Plan:
    """Pick the day; the rate limit makes the design minimum take about ``--target-seconds``."""
    day, dataset = pick_day(args)
    events_per_day = {d: len(dataset.events(d, d)) for d in events_request_days(day, 0)}
    visitors = len(dataset.visitors())
    active = len({row.visitor for row in dataset.events(day, day)})  # lookback 0: [D, D]
    minimum = design_minimum_requests(
        len(dataset.medias()), visitors, list(events_per_day.values()), active_visitors=active
    )
    return Plan(
        day=day,
        config=dataset.config,
        events_per_day=events_per_day,
        visitors=visitors,
        minimum=minimum,
        rate_limit=math.ceil(sum(minimum.values()) * 60 / args.target_seconds),
        media_ids=[m["hashed_id"] for m in dataset.medias()],
    )


def timed_ingest(base: str, plan: Plan, workers: int) -> tuple[dict[str, Any], float, int]:
    """Ingest the day (all streams) into a temporary lake: summary, wall time, client retries."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as lake:
        settings = load_settings(
            {
                "WISTIA_API_URL": f"{base}/modern",
                "WISTIA_API_TOKEN": TOKEN,
                "WISTIA_LAKE_URI": lake,
                "WISTIA_RATE_LIMIT_PER_MINUTE": str(plan.rate_limit),
                "WISTIA_MAX_WORKERS": str(workers),
            }
        )
        with WistiaClient.from_settings(settings) as client:
            started = time.monotonic()
            summary = ingest_day(settings, plan.day, 0, list(ALL_STREAMS), "bench", client)
            return summary, time.monotonic() - started, client.stats.retries


def measure(args: argparse.Namespace, plan: Plan) -> Measured:
    """The ingestion, then the naive sequential client, against one simulator child."""
    proc, base = start_simulator(plan.config, args.latency_ms, plan.rate_limit)
    try:
        warm_up(base, plan.day)
        admin(base, "POST", "reset-requests")
        summary, wall, retries = timed_ingest(base, plan, args.workers)
        counts = admin(base, "GET", "requests")
        time.sleep(max(0.0, 60.0 * 10 / plan.rate_limit))  # let the server's bucket refill a bit
        admin(base, "POST", "reset-requests")
        naive = naive_sequential(base, plan.day, plan.media_ids, args.naive_cap_s, plan.rate_limit)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return Measured(summary, wall, retries, counts, naive)


def project_naive(naive: dict[str, Any], minimum_total: int, cap_s: float) -> float | None:
    """Add the naive client's rate and projected full wall time to ``naive``; return the latter."""
    naive_rate = naive["requests_made"] / naive["wall_time_s"] * 60 if naive["wall_time_s"] else 0
    projected = minimum_total / naive_rate * 60 if naive_rate else None
    naive.update(
        rate_per_minute=round(naive_rate, 1),
        projected_wall_time_s=round(projected, 1) if projected else None,
        note=(
            f"capped at {cap_s:.0f} s; projected_wall_time_s extrapolates the full "
            f"{minimum_total} requests at the measured rate"
            if naive["capped"]
            else "ran to completion"
        ),
    )
    return projected


def report(args: argparse.Namespace, plan: Plan, run: Measured) -> dict[str, Any]:
    """The benchmark's JSON: requests vs the design minimum, achieved rate, naive comparison."""
    made, minimum_total = run.counts["total"], plan.minimum_total
    wall, rate_limit, fetch_s = run.wall_s, plan.rate_limit, run.summary["fetch_s"]
    achieved = made / fetch_s * 60
    naive_projected = project_naive(run.naive, minimum_total, args.naive_cap_s)
    return {
        "config": {
            "logical_date": plan.day.isoformat(),
            "lookback_days": 0,
            "media_count": args.media_count,
            "events_on_day": plan.events_per_day[plan.day],
            "events_per_request_day": {d.isoformat(): n for d, n in plan.events_per_day.items()},
            "visitors": plan.visitors,
            "latency_ms": args.latency_ms,
            "workers": args.workers,
            "rate_limit_per_minute": rate_limit,
        },
        "requests_made": made,
        "requests_minimum": minimum_total,
        "requests_minimum_by_stream": plan.minimum,
        "requests_beyond_minimum": made - minimum_total,
        "client_retries": run.retries,
        "beyond_minimum_are_all_retries": made - minimum_total == run.retries,
        "status_counts": run.counts["by_status"],
        "wall_time_s": round(wall, 2),
        "fetch_s": fetch_s,
        "bronze_write_s": run.summary["write_s"],
        "achieved_rate_per_minute": round(achieved, 1),
        "achieved_rate_basis": "requests / fetch_s (the request phase; bronze writing follows it)",
        "achieved_vs_limit": round(achieved / rate_limit, 3),
        "achieved_vs_limit_over_wall_time": round(made / wall * 60 / rate_limit, 3),
        "goal_rate_met": achieved / rate_limit >= 0.9,
        "records": {n: s["records"] for n, s in run.summary["streams"].items()},
        "naive_sequential": run.naive,
        "speedup_vs_naive": round(naive_projected / wall, 1) if naive_projected else None,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = plan_run(args)
    print(json.dumps(report(args, plan, measure(args, plan)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
