"""Benchmark: the visitors stream and its silver input as the visitor history grows
(``make bench-visitors``); prints JSON.

One simulated account per scale (1x, 10x, 100x ``--historical-visitors``: visitors last active
before the data range, listed by ``/stats/visitors`` but in no event) with the same daily
activity. For each scale, against an in-process simulator:

- after (measured): one daily run of ``events`` + ``visitors`` (lookback ``--lookback``), the
  visitors stream's requests as the simulator counted them, its mode and active visitors;
- before (measured up to ``--measure-before-up-to`` visitors, else computed with
  ``ingest.list_requests``): the full listing the stream paged every day;
- silver input of the current ``visitors`` table. Before: every ``visitors_snapshots``
  partition, i.e. ``--history-days`` daily full listings, plus the window's bronze. After: the
  published ``visitors`` table, the window's published snapshot partitions and bronze (the
  run's active visitors per day). Rows follow from the measured counts; bytes are those rows
  times the bytes per row measured on this run's own records: bronze as ingestion wrote it
  (gzip NDJSON), silver as Parquet (snappy) of the silver columns.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import tempfile
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb

from wistia_pipeline import bronze
from wistia_pipeline.client import WistiaClient
from wistia_pipeline.config import load_settings
from wistia_pipeline.ingest import ingest_day, list_requests
from wistia_pipeline.storage import open_storage
from wistia_pipeline.transforms.schemas import VISITOR_COLUMNS
from wistia_simulator.cli import config_flags, start_in_thread
from wistia_simulator.dataset import Dataset, DatasetConfig

SAMPLE_ROWS = 20_000  # rows the Parquet bytes per row are measured on
TOKEN = secrets.token_hex(12)  # a throwaway credential shared with the in-process simulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--day", type=date.fromisoformat, default=date(2026, 3, 20))
    p.add_argument("--lookback", type=int, default=2)
    p.add_argument("--historical-visitors", type=int, default=60_000, help="the 1x history")
    p.add_argument("--scales", default="1,10,100")
    p.add_argument("--events-per-day", type=int, default=300)
    p.add_argument("--visitor-count", type=int, default=1500, help="the active visitor pool")
    p.add_argument("--history-days", type=int, default=90, help="daily snapshots before")
    p.add_argument("--measure-before-up-to", type=int, default=300_000)
    p.add_argument("--seed", type=int, default=5)
    return p.parse_args(argv)


def dataset_config(args: argparse.Namespace, scale: int) -> DatasetConfig:
    return DatasetConfig(
        seed=args.seed,
        end_date=args.day,
        media_count=10,
        events_per_day=args.events_per_day,
        visitor_count=args.visitor_count,
        historical_visitors=args.historical_visitors * scale,
    )


def run_stream(
    base: str, lake: str, day: date, lookback: int, streams: list[str], max_pages: int | None
) -> dict:
    """One ingestion into ``lake``: the visitors stream's requests, mode and records, the
    bronze bytes it wrote and a sample of its bronze lines."""
    settings = load_settings(
        {"WISTIA_API_URL": f"{base}/modern", "WISTIA_API_TOKEN": TOKEN, "WISTIA_LAKE_URI": lake,
         "WISTIA_RATE_LIMIT_PER_MINUTE": "1000000", "WISTIA_MAX_WORKERS": "8"}
    )  # fmt: skip
    run_id = "-".join(streams)
    with WistiaClient.from_settings(settings) as client:
        summary = ingest_day(
            settings, day, lookback, streams, run_id, client, visitors_max_pages=max_pages
        )
    storage = open_storage(lake)
    (run,) = [r for r in bronze.select_observed_runs(storage, lake, "visitors", [day])
              if r.run_id == run_id]  # fmt: skip
    files = run.manifest["files"]
    visitors = summary["streams"]["visitors"]
    return {
        "requests": visitors["requests"],
        "records": visitors["records"],
        "mode": visitors.get("mode"),
        "truncated": visitors.get("truncated"),
        "active_visitors": visitors.get("active_visitors"),
        "bronze_bytes": sum(f["bytes"] for f in files),
        "sample": list(islice(bronze.read_run_lines(storage, run), SAMPLE_ROWS)),
    }


def silver_row(line: dict) -> tuple:
    """A bronze line as the silver row's columns (identity hashed, as silver stores it)."""
    rec = line["record"]
    ident, agent = rec.get("visitor_identity") or {}, rec.get("user_agent_details") or {}
    org = ident.get("org") or {}

    def digest(value: str | None) -> str | None:
        return hashlib.sha256(value.encode()).hexdigest() if value else None

    return (
        rec["visitor_key"], rec.get("created_at"), rec.get("last_active_at"),
        rec.get("last_event_key"), rec.get("load_count"), rec.get("play_count"),
        digest(ident.get("name")), digest(ident.get("email")), org.get("name"), org.get("title"),
        agent.get("browser"), agent.get("browser_version"), agent.get("platform"),
        agent.get("mobile"), line["_ingest"]["run_id"], line["_ingest"]["fetched_at"],
    )  # fmt: skip


def parquet_bytes_per_row(lines: list[dict], work: Path) -> float:
    """Bytes per row of these visitors as one silver Parquet file (snappy, DuckDB writer)."""
    types = ["VARCHAR", "TIMESTAMP", "TIMESTAMP", "VARCHAR", "BIGINT", "BIGINT", "VARCHAR",
             "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "BOOLEAN",
             "VARCHAR", "TIMESTAMP"]  # fmt: skip
    rows = work / "visitors.ndjson"
    with rows.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(dict(zip(VISITOR_COLUMNS, silver_row(line), strict=True))) + "\n")
    columns = ", ".join(f"'{c}': '{t}'" for c, t in zip(VISITOR_COLUMNS, types, strict=True))
    target = work / "visitors.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_json('{rows}', format = 'newline_delimited', "
        f"columns = {{{columns}}})) TO '{target}' (FORMAT parquet, COMPRESSION snappy)"
    )
    return target.stat().st_size / max(1, len(lines))


def bytes_per_row(run: dict, work: Path) -> dict[str, float]:
    """Bytes per row of a run's visitors: in bronze as written, in silver Parquet."""
    return {
        "parquet": parquet_bytes_per_row(run["sample"], work),
        "bronze": run["bronze_bytes"] / max(1, run["records"]),
    }


def silver_input(sources: dict[str, tuple[int, dict[str, float]]]) -> dict[str, Any]:
    """Rows and bytes by source: ``(rows, bytes per row by kind)``, bronze or Parquet."""
    detail = {
        name: {"rows": n, "bytes": round(n * per_row["bronze" if name == "bronze" else "parquet"])}
        for name, (n, per_row) in sources.items()
    }
    return {
        "rows": sum(d["rows"] for d in detail.values()),
        "bytes": sum(d["bytes"] for d in detail.values()),
        "by_source": detail,
    }


def measure_scale(args: argparse.Namespace, scale: int, work: Path) -> dict[str, Any]:
    """Both ingestions of one scale and the silver input they imply."""
    config = dataset_config(args, scale)
    listed = len(Dataset(config).visitor_listing())
    server, _thread = start_in_thread(
        ["--port", "0", "--token", TOKEN, "--rate-limit", "0", *config_flags(config)]
    )
    base = f"http://127.0.0.1:{server.server_address[1]}"
    # beyond --measure-before-up-to the listing is paged only for a sample of its rows
    cap = None if listed <= args.measure_before_up_to else SAMPLE_ROWS // 100
    try:
        after = run_stream(
            base, str(work / f"after-{scale}"), args.day, args.lookback,
            ["events", "visitors"], None,
        )  # fmt: skip
        before = run_stream(
            base, str(work / f"before-{scale}"), args.day, args.lookback, ["visitors"], cap
        )
    finally:
        server.shutdown()
        server.server_close()
    window = args.lookback + 1
    listing_row, active_row = bytes_per_row(before, work), bytes_per_row(after, work)
    # the published table holds every visitor; the window's partitions and bronze the visitors
    # each run fetched (here: this run's)
    active = after["records"]
    return {
        "scale": scale,
        "listed_visitors": listed,
        "active_visitors_in_window": after["active_visitors"],
        "requests_per_daily_run": {
            "before": list_requests(listed) if before["truncated"] else before["requests"],
            "before_measured": not before["truncated"],
            "after": after["requests"],
            "after_mode": after["mode"],
        },
        "silver_visitors_input": {
            "before": silver_input(
                {
                    "visitors_snapshots": (args.history_days * listed, listing_row),
                    "bronze": (window * listed, listing_row),
                },
            ),
            "after": silver_input(
                {
                    "visitors_published": (listed, listing_row),
                    "visitors_snapshots": (window * active, active_row),
                    "bronze": (window * active, active_row),
                },
            ),
            "bytes_per_row": {"listed": _rounded(listing_row), "active": _rounded(active_row)},
        },
    }


def _rounded(per_row: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 1) for k, v in per_row.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scales = [int(s) for s in args.scales.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-visitors-") as tmp:
        results = [measure_scale(args, s, Path(tmp)) for s in scales]
    print(
        json.dumps(
            {
                "config": {
                    "day": args.day.isoformat(),
                    "lookback_days": args.lookback,
                    "events_per_day": args.events_per_day,
                    "historical_visitors_1x": args.historical_visitors,
                    "history_days_before": args.history_days,
                },
                "scales": results,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
