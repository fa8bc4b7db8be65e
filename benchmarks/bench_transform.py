"""Benchmark: silver + gold for one day of 1,000,000 events on local Spark vs DuckDB.

    python benchmarks/bench_transform.py [--events 1000000] [--media 500] [--visitors 50000]

1. Writes bronze for one day directly in the documented layout (envelopes built with
   ``wistia_pipeline.bronze``; 1% of events repeated as a later page would, to exercise de-dup):
   ``events``, ``media_by_date`` and a ``medias`` snapshot.
2. Runs the real Glue scripts (silver, then gold) with local ``spark-submit`` and measures wall
   time, events/s and the peak resident memory of the Spark process tree (JVM + Python),
   sampled from ``/proc``.
3. Computes the same gold figures with DuckDB directly from the bronze files (the single-machine
   reference) and checks that both agree per media.

Prints one JSON object. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import os
import random
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import duckdb

from wistia_dev import repo_root
from wistia_pipeline import bronze
from wistia_pipeline.local_spark import run_glue_script
from wistia_pipeline.storage import open_storage

DAY = dt.date(2026, 3, 1)
RUN_ID = "bench-run"
FETCHED_AT = "2026-03-02T01:00:00Z"
LINES_PER_PART = 100_000
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_DAY_START = dt.datetime(DAY.year, DAY.month, DAY.day)


# ------------------------------------------------------------------ bronze generation


def _ctx() -> bronze.RunContext:
    return bronze.RunContext(RUN_ID, DAY, DAY, DAY, "2026-03", FETCHED_AT)


def _write_part(lake: str, stream: str, index: int, lines: list[str]) -> dict[str, Any]:
    data = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=1, mtime=0)
    name = f"part-{index:05d}.ndjson.gz"
    uri = bronze.run_uri(lake, stream, DAY, RUN_ID) + "/" + name
    open_storage(lake).write_bytes(uri, data)
    sha = hashlib.sha256(data).hexdigest()
    return {"name": name, "records": len(lines), "bytes": len(data), "sha256": sha}


def _finish(lake: str, stream: str, files: list[dict[str, Any]]) -> None:
    pending = bronze.PendingManifest(stream, DAY, files, 1, 1)
    bronze.write_manifest(open_storage(lake), lake, _ctx(), pending, FETCHED_AT)


def _line(stream: str, record: dict[str, Any], media_id: str | None = None) -> str:
    env = bronze.envelope(
        _ctx(), stream, DAY, record, fetched_at=FETCHED_AT, request_path="/bench", media_id=media_id
    )
    return json.dumps(env, separators=(",", ":"))


class _PartWriter:
    """One stream's lines, written as parts of about ``LINES_PER_PART`` lines and a manifest."""

    def __init__(self, lake: str, stream: str) -> None:
        self.lake, self.stream = lake, stream
        self.files: list[dict[str, Any]] = []
        self._lines: list[str] = []

    def add(self, *lines: str) -> None:
        """Add lines; a part is cut only after all of them (a repeat stays in its page's part)."""
        self._lines.extend(lines)
        if len(self._lines) >= LINES_PER_PART:
            self._flush()

    def _flush(self) -> None:
        self.files.append(_write_part(self.lake, self.stream, len(self.files), self._lines))
        self._lines = []

    def finish(self) -> None:
        if self._lines:
            self._flush()
        _finish(self.lake, self.stream, self.files)


def _received_at(stamp: dt.datetime, i: int) -> str:
    """Every 12th event without millis, as the API sometimes sends them."""
    if i % 12 == 0:
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _event_record(
    rng: random.Random, i: int, media_id: str, visitor_keys: list[str]
) -> dict[str, Any]:
    """The i-th event, of ``media_id``: a random time of DAY, visitor and percent viewed."""
    stamp = _DAY_START + dt.timedelta(milliseconds=rng.randrange(86_400_000))
    visitor_key = visitor_keys[rng.randrange(len(visitor_keys))]
    return {
        "received_at": _received_at(stamp, i),
        "event_key": f"1760721_{i:012d}",
        "visitor_key": visitor_key,
        "embed_url": f"https://example.com/watch/{media_id}",
        "percent_viewed": round(rng.random(), 4),
        "ip": f"203.0.{i % 250}.{(i // 250) % 250}",
        "org": "Example Org",
        "country": "US",
        "region": "CA",
        "city": "San Francisco",
        "lat": 37.77,
        "lon": -122.42,
        "email": f"viewer{i % 9973}@example.com" if i % 5 == 0 else None,
        "media_id": media_id,
        "media_name": f"Media {media_id}",
        "media_url": f"https://home.wistia.com/medias/{media_id}",
        "thumbnail": {"url": f"https://embed.example/{media_id}.jpg", "width": 200},
        "conversion_type": (i % 4) if i % 50 == 0 else "",
        "conversion_data": {},
        "user_agent_details": {
            "browser": "Chrome",
            "browser_version": "120.0",
            "platform": "Windows",
            "mobile": i % 3 == 0,
        },
    }


def _write_events(
    lake: str, rng: random.Random, events: int, media_ids: list[str], visitor_keys: list[str]
) -> tuple[dict[str, int], int]:
    """The events stream (media drawn Zipf-like, 1 % repeated); plays per media, part count."""
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(media_ids))]
    plays = dict.fromkeys(media_ids, 0)
    writer = _PartWriter(lake, "events")
    batch = 50_000
    for written in range(0, events, batch):
        picks = rng.choices(media_ids, weights=weights, k=min(batch, events - written))
        for i, media_id in enumerate(picks, start=written):
            line = _line("events", _event_record(rng, i, media_id, visitor_keys))
            plays[media_id] += 1
            # every 100th event repeated, as a page boundary would
            writer.add(*([line, line] if i % 100 == 0 else [line]))
    writer.finish()
    return plays, len(writer.files)


def _media_record(k: int, media_id: str) -> dict[str, Any]:
    return {
        "id": k + 1,
        "hashed_id": media_id,
        "name": f"Media {media_id}",
        "type": "Video",
        "archived": False,
        "created": "2026-01-01T00:00:00Z",
        "updated": "2026-02-01T00:00:00Z",
        "duration": 120.0,
        "status": "ready",
        "thumbnail": {"url": "https://embed.example/t.jpg"},
        "folder": None,
    }


def _write_media_streams(
    lake: str, rng: random.Random, media_ids: list[str], plays: dict[str, int]
) -> None:
    """``media_by_date`` (plays from the events, loads drawn) and a ``medias`` snapshot."""
    stats_lines = []
    media_lines = []
    for k, media_id in enumerate(media_ids):
        p = plays[media_id]
        stats = {
            "date": DAY.isoformat(),
            "load_count": p + rng.randrange(0, p + 3) if p else rng.randrange(0, 3),
            "play_count": p,
            "hours_watched": round(p * 0.01, 6),
        }
        stats_lines.append(_line("media_by_date", stats, media_id=media_id))
        media_lines.append(_line("medias", _media_record(k, media_id)))
    _finish(lake, "media_by_date", [_write_part(lake, "media_by_date", 0, stats_lines)])
    _finish(lake, "medias", [_write_part(lake, "medias", 0, media_lines)])


def generate_bronze(lake: str, events: int, media: int, visitors: int, seed: int) -> dict:
    """Bronze for DAY in the documented layout, deterministic by ``seed``."""
    rng = random.Random(seed)
    media_ids = [f"m{rng.getrandbits(40):010x}" for _ in range(media)]
    visitor_keys = [f"v_{rng.getrandbits(64):016x}" for _ in range(visitors)]
    plays, parts = _write_events(lake, rng, events, media_ids, visitor_keys)
    _write_media_streams(lake, rng, media_ids, plays)
    return {"event_lines": events + (events + 99) // 100, "parts": parts}


# ------------------------------------------------------------------ measuring


class TreeMemorySampler:
    """Peak summed RSS of this process's descendants (the spark-submit JVM and Python)."""

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _children(self) -> dict[int, list[int]]:
        tree: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # the process went away while we looked
            tree.setdefault(ppid, []).append(int(entry))
        return tree

    def _sample(self) -> int:
        tree = self._children()
        todo, total = list(tree.get(os.getpid(), [])), 0
        while todo:
            pid = todo.pop()
            todo.extend(tree.get(pid, []))
            try:
                with open(f"/proc/{pid}/statm") as fh:
                    total += int(fh.read().split()[1]) * PAGE_SIZE
            except (OSError, IndexError, ValueError):
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._sample())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> TreeMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_job(script: Path, args: dict[str, str], env: dict[str, str]) -> dict[str, float]:
    started = time.monotonic()
    with TreeMemorySampler() as mem:
        run_glue_script(script, args, env)
    return {"wall_s": round(time.monotonic() - started, 2), "peak_rss_mb": mem.peak_bytes >> 20}


# ------------------------------------------------------------------ DuckDB reference


def duckdb_gold(lake: str) -> tuple[dict[str, tuple], float]:
    """Gold per media from bronze with DuckDB: de-dup by event_key, UTC day of received_at."""
    storage = open_storage(lake)
    started = time.monotonic()
    ev = bronze.select_complete_runs(storage, lake, "events", [DAY])[0].file_uris
    st = bronze.select_complete_runs(storage, lake, "media_by_date", [DAY])[0].file_uris
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    cols = "{'_ingest': 'STRUCT(fetched_at VARCHAR, media_id VARCHAR)', 'record': 'JSON'}"
    sql = f"""
    WITH raw AS (
      SELECT record->>'event_key' AS event_key, record->>'media_id' AS media_id,
             record->>'visitor_key' AS visitor_key,
             TRY_CAST(record->>'percent_viewed' AS DOUBLE) AS percent_viewed,
             CAST(TRY_CAST(record->>'received_at' AS TIMESTAMPTZ) AS DATE) AS dt,
             _ingest.fetched_at AS fetched_at
      FROM read_json({ev!r}, columns = {cols}, format = 'newline_delimited')
    ), events AS (
      SELECT * FROM raw WHERE event_key IS NOT NULL
      QUALIFY row_number() OVER (PARTITION BY event_key ORDER BY fetched_at DESC) = 1
    ), per_media AS (
      SELECT media_id, dt, count(*) AS events, count(DISTINCT visitor_key) AS unique_visitors,
             avg(percent_viewed) AS avg_percent_viewed
      FROM events GROUP BY media_id, dt
    ), stats AS (
      SELECT _ingest.media_id AS media_id, CAST(record->>'date' AS DATE) AS dt,
             CAST(record->>'load_count' AS BIGINT) AS loads,
             CAST(record->>'play_count' AS BIGINT) AS plays
      FROM read_json({st!r}, columns = {cols}, format = 'newline_delimited')
    )
    SELECT coalesce(s.media_id, p.media_id), s.loads, s.plays,
           CASE WHEN s.loads > 0 THEN s.plays / s.loads END,
           coalesce(p.events, 0), coalesce(p.unique_visitors, 0), p.avg_percent_viewed
    FROM stats s FULL OUTER JOIN per_media p ON s.media_id = p.media_id AND s.dt = p.dt
    """
    rows = con.execute(sql).fetchall()
    elapsed = time.monotonic() - started
    return {r[0]: tuple(r[1:]) for r in rows}, elapsed


def spark_gold(lake: str) -> dict[str, tuple]:
    path = f"{lake}/gold/wistia/fact_media_daily/dt={DAY.isoformat()}/*.parquet"
    rows = (
        duckdb.connect()
        .execute(
            "SELECT media_id, loads, plays, play_rate, events, unique_visitors, avg_percent_viewed "
            f"FROM read_parquet('{path}')"
        )
        .fetchall()
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def compare(spark: dict[str, tuple], ref: dict[str, tuple]) -> list[str]:
    problems = []
    for media_id in sorted(set(spark) | set(ref)):
        a, b = spark.get(media_id), ref.get(media_id)
        if a is None or b is None:
            problems.append(f"{media_id}: only in {'duckdb' if a is None else 'spark'}")
            continue
        exact_a, exact_b = (a[0], a[1], a[3], a[4]), (b[0], b[1], b[3], b[4])
        close = all(
            (x is None and y is None) or (x is not None and y is not None and abs(x - y) < 1e-9)
            for x, y in ((a[2], b[2]), (a[5], b[5]))
        )
        if exact_a != exact_b or not close:
            problems.append(f"{media_id}: spark {a} != duckdb {b}")
    return problems


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--media", type=int, default=500)
    parser.add_argument("--visitors", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the generated lake")
    return parser.parse_args(argv)


def run_spark_jobs(lake: str, driver_memory: str) -> dict[str, Any]:
    """The real Glue scripts, silver then gold, on local Spark: wall time and peak memory."""
    job_args = {"start_date": DAY.isoformat(), "end_date": DAY.isoformat(), "lake_uri": lake}
    # A random per-run key: the benchmark needs one, and none may be hard-coded.
    env = {"WISTIA_PII_HASH_KEY": secrets.token_hex(32), "SPARK_DRIVER_MEMORY": driver_memory}
    scripts = repo_root() / "glue_scripts"
    silver = run_job(scripts / "wistia_silver.py", job_args, env)
    gold = run_job(scripts / "wistia_gold.py", job_args, env)
    return {"silver": silver, "gold": gold}


def spark_summary(jobs: dict[str, Any], events: int, driver_memory: str) -> dict[str, Any]:
    silver, gold = jobs["silver"], jobs["gold"]
    total = silver["wall_s"] + gold["wall_s"]
    return {
        "master": "local[*]",
        "driver_memory": driver_memory,
        "silver": silver,
        "gold": gold,
        "total_wall_s": round(total, 2),
        "events_per_s": round(events / total),
        "peak_rss_mb": max(silver["peak_rss_mb"], gold["peak_rss_mb"]),
        "includes_jvm_startup": True,
    }


def run_benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Generate bronze in ``workdir``, run Spark and DuckDB on it; the benchmark's JSON."""
    lake = str(workdir / "lake")
    started = time.monotonic()
    generated = generate_bronze(lake, args.events, args.media, args.visitors, args.seed)
    gen_s = time.monotonic() - started
    bronze_bytes = sum(p.stat().st_size for p in (workdir / "lake").rglob("*.gz"))
    jobs = run_spark_jobs(lake, args.driver_memory)
    ref, duck_s = duckdb_gold(lake)
    problems = compare(spark_gold(lake), ref)
    return {
        "benchmark": "bench-transform",
        "day": DAY.isoformat(),
        "events": args.events,
        "bronze_event_lines": generated["event_lines"],
        "bronze_parts": generated["parts"],
        "bronze_mb": round(bronze_bytes / 2**20, 1),
        "media": args.media,
        "generate_s": round(gen_s, 1),
        "cpu_count": os.cpu_count(),
        "spark": spark_summary(jobs, args.events, args.driver_memory),
        "duckdb": {"wall_s": round(duck_s, 2), "events_per_s": round(args.events / duck_s)},
        "gold_rows": len(ref),
        "agree": not problems,
        "mismatches": problems[:10],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-transform-"))
    try:
        result = run_benchmark(args, workdir)
        print(json.dumps(result, indent=2))
        return 0 if result["agree"] else 1
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
