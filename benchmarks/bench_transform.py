"""Benchmark: silver + gold for one day of events on local Spark vs the same work on DuckDB.

    python benchmarks/bench_transform.py [--events 1000000] [--media 500] [--visitors 50000]

1. Writes bronze for one day directly in the documented layout (envelopes built with
   ``wistia_pipeline.bronze``; 1% of events repeated as a later page would, to exercise de-dup,
   and 0.05% bad records, with non-ASCII e-mail addresses, to exercise rejects): ``events``,
   ``media_by_date`` and a ``medias`` snapshot.
2. Runs the real Glue scripts (silver, then gold) with local ``spark-submit`` (two JVM
   start-ups, as two Glue jobs) and publishes the run; measures wall time and the peak resident
   memory of the process tree (JVM + Python), sampled from ``/proc``.
3. Does the same work with DuckDB in a child process (measured the same way): manifest checks of
   every part, typing, reject reasons with bronze file and line, de-duplication, PII HMAC, the
   silver Parquet tables (events, media_daily_stats, medias, rejects), then, reading that silver
   back as the gold job does, the gold Parquet tables (fact_media_daily, reconciliation).
4. Checks that both sides wrote the same silver events (every column), rejects and gold fact.
5. Repeats 2-4 ``--repeat`` times (default 3), alternating the sides, each time on a fresh
   copy of the same bronze (a first run's work); reports every run and the medians.

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
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
from pyspark.sql.types import DataType, StringType, StructType

from wistia_dev import repo_root
from wistia_pipeline import bronze
from wistia_pipeline.local_spark import cds_archive, cds_directory, run_glue_script
from wistia_pipeline.publishing import (
    gold_uri,
    publish,
    published_files,
    rejects_uri,
    silver_uri,
)
from wistia_pipeline.storage import open_storage
from wistia_pipeline.transforms.schemas import EVENT_RECORD, INGEST_SCHEMA

DAY = dt.date(2026, 3, 1)
RUN_ID = "bench-run"
FETCHED_AT = "2026-03-02T01:00:00Z"
LINES_PER_PART = 100_000
BAD_EVERY = 2000  # every 2000th event has an untypable received_at: 0.05% rejects
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


def _email(i: int) -> str | None:
    return f"Viewer{i % 9973}@Example.com" if i % 5 == 0 else None


def _event_record(
    rng: random.Random, i: int, media_id: str, visitor_keys: list[str]
) -> dict[str, Any]:
    """The i-th event, of ``media_id``: a random time of DAY, visitor and percent viewed."""
    stamp = _DAY_START + dt.timedelta(milliseconds=rng.randrange(86_400_000))
    visitor_key = visitor_keys[rng.randrange(len(visitor_keys))]
    bad = i % BAD_EVERY == 7
    return {
        "received_at": "not a time" if bad else _received_at(stamp, i),
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
        "email": f"zoë.bäcker{i}@exämple.com" if bad else _email(i),
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
            record = _event_record(rng, i, media_id, visitor_keys)
            line = _line("events", record)
            plays[media_id] += record["received_at"] != "not a time"
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
    return {
        "event_lines": events + (events + 99) // 100,
        "parts": parts,
        "load_before": round(os.getloadavg()[0], 2),
    }


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


def measured(cmd_or_fn: Any, *args: Any) -> dict[str, Any]:
    """Run ``cmd_or_fn(*args)`` (it starts child processes); wall time and their peak RSS."""
    started = time.monotonic()
    with TreeMemorySampler() as mem:
        cmd_or_fn(*args)
    return {"wall_s": round(time.monotonic() - started, 2), "peak_rss_mb": mem.peak_bytes >> 20}


# ------------------------------------------------------------------ Spark side


def run_spark_jobs(lake: str, driver_memory: str, key: str) -> dict[str, Any]:
    """The real Glue scripts, silver then gold, on local Spark, then the run's publish."""
    job_args = {
        "start_date": DAY.isoformat(),
        "end_date": DAY.isoformat(),
        "lake_uri": lake,
        "run_id": RUN_ID,
    }
    env = {"WISTIA_PII_HASH_KEY": key, "SPARK_DRIVER_MEMORY": driver_memory}
    scripts = repo_root() / "glue_scripts"
    silver = measured(run_glue_script, scripts / "wistia_silver.py", job_args, env)
    gold = measured(run_glue_script, scripts / "wistia_gold.py", job_args, env)
    publish(open_storage(lake), lake, RUN_ID, DAY, DAY)  # the pipeline's own step, not timed
    return {"silver": silver, "gold": gold}


# ------------------------------------------------------------------ DuckDB side (same work)


def _duck_type(spark_type: DataType) -> Any:
    """A Spark read schema as a ``json_transform`` structure: structs nest, leaves are text."""
    if isinstance(spark_type, StructType):
        return {f.name: _duck_type(f.dataType) for f in spark_type.fields}
    if isinstance(spark_type, StringType):
        return "VARCHAR"
    raise TypeError(f"no DuckDB JSON type for {spark_type}")


# The silver job's own read schemas (tolerant: every leaf a string), so both sides type alike.
_EVENT_RECORD = json.dumps(_duck_type(EVENT_RECORD))
_ENVELOPE = json.dumps({"_ingest": _duck_type(INGEST_SCHEMA), "record": "JSON"})


def _duck_macros(con: duckdb.DuckDBPyConnection, key: str) -> None:
    """HMAC-SHA256 from sha256 (RFC 2104, as the Spark jobs build it) and the tolerant casts."""
    raw = key.encode()
    raw = hashlib.sha256(raw).digest() if len(raw) > 64 else raw
    raw = raw.ljust(64, b"\x00")
    inner, outer = (bytes(b ^ pad for b in raw).hex() for pad in (0x36, 0x5C))
    con.execute(f"CREATE TEMP TABLE pads AS SELECT unhex('{inner}') AS i, unhex('{outer}') AS o")
    con.execute(
        "CREATE MACRO blank_null(v) AS CASE WHEN trim(v) = '' THEN NULL ELSE v END;"
        "CREATE MACRO present(v) AS v IS NOT NULL AND trim(v) <> '';"
        "CREATE MACRO hmac(v) AS CASE WHEN v IS NOT NULL THEN sha256((SELECT o FROM pads) || "
        "  unhex(sha256((SELECT i FROM pads) || encode(v)))) END;"
        "CREATE MACRO to_ts(v) AS CASE WHEN present(v) THEN "
        "  try_cast(trim(v) AS TIMESTAMPTZ) AT TIME ZONE 'UTC' END;"
        "CREATE MACRO to_double(v) AS CASE WHEN present(v) THEN try_cast(trim(v) AS DOUBLE) END;"
        "CREATE MACRO to_bool(v) AS CASE WHEN present(v) THEN try_cast(trim(v) AS BOOLEAN) END;"
        "CREATE MACRO bad(v, t) AS present(v) AND t IS NULL;"
    )


def _duck_lines(con: duckdb.DuckDBPyConnection, name: str, files: list[str]) -> None:
    """``name``: source_file, line (1-based, by insertion order) and the parsed envelope."""
    con.execute(
        f"CREATE TEMP TABLE {name}_text AS SELECT filename AS source_file, column0 AS value "
        "FROM read_csv(?, columns = {'column0': 'VARCHAR'}, delim = ?, quote = '', escape = '', "
        "header = false, filename = true, auto_detect = false)",
        [files, chr(1)],
    )
    con.execute(
        f"CREATE TEMP TABLE {name} AS SELECT source_file, line, "
        f"try(json_transform(value, '{_ENVELOPE}')) AS env FROM (SELECT *, "
        "rowid - min(rowid) OVER (PARTITION BY source_file) + 1 AS line "
        f"FROM {name}_text) WHERE value IS NOT NULL"  # empty lines count, but hold no record
    )


def _duck_events(con: duckdb.DuckDBPyConnection) -> None:
    """Typed events with the reject reason of each, in the Spark jobs' order of checks."""
    con.execute(
        "CREATE TEMP TABLE ev_typed AS SELECT source_file, line, coalesce(env._ingest.run_id, "
        "nullif(regexp_extract(source_file, '/dt=[^/]+/([^/]+)/[^/]+$', 1), '')) AS run_id, "
        "to_ts(env._ingest.fetched_at) AS fetched_at, coalesce(try_cast(env._ingest.dt AS "
        "DATE), try_cast(regexp_extract(source_file, '/dt=([0-9-]{10})/', 1) AS DATE)) AS "
        "bronze_dt, nullif(json_type(env.record), 'NULL') AS record_type, "
        f"json_transform(env.record, '{_EVENT_RECORD}') AS r FROM ev_lines"
    )
    con.execute(
        "CREATE TEMP TABLE ev AS SELECT *, to_ts(r.received_at) AS received, "
        "to_double(r.percent_viewed) AS pv, to_double(r.lat) AS lat, to_double(r.lon) AS lon, "
        "to_bool(r.user_agent_details.mobile) AS mobile, "
        "to_bool(r.conversion_data.is_new_lead) AS new_lead FROM ev_typed"
    )
    con.execute(
        "CREATE TEMP TABLE ev_checked AS SELECT *, CAST(received AS DATE) AS dt, CASE "
        "WHEN record_type IS NULL THEN 'unparseable_line' "
        "WHEN record_type <> 'OBJECT' THEN 'record_not_object' "
        "WHEN run_id IS NULL THEN 'missing_run_id' "
        "WHEN NOT present(r.event_key) THEN 'missing_event_key' "
        "WHEN NOT present(r.received_at) THEN 'missing_received_at' "
        "WHEN received IS NULL THEN 'bad_received_at' "
        "WHEN NOT present(r.media_id) THEN 'missing_media_id' "
        "WHEN bad(r.percent_viewed, pv) THEN 'bad_percent_viewed' "
        "WHEN bad(r.lat, lat) THEN 'bad_lat' WHEN bad(r.lon, lon) THEN 'bad_lon' "
        "WHEN bad(r.user_agent_details.mobile, mobile) THEN 'bad_mobile' "
        "WHEN bad(r.conversion_data.is_new_lead, new_lead) THEN 'bad_conversion_is_new_lead' "
        "WHEN CAST(received AS DATE) NOT BETWEEN $1 AND $1 THEN 'received_at_outside_window' "
        "END AS reason FROM ev",
        [DAY],
    )


_SILVER_EVENTS = (
    "r.event_key AS event_key, received AS received_at, r.media_id AS media_id, "
    "r.media_name AS media_name, r.visitor_key AS visitor_key, pv AS percent_viewed, "
    "r.embed_url AS embed_url, hmac(blank_null(trim(r.ip))) AS ip_hash, "
    "hmac(blank_null(lower(trim(r.email)))) AS email_hash, r.org AS org, "
    "r.country AS country, r.region AS region, r.city AS city, lat, lon, "
    "blank_null(r.conversion_type) AS conversion_type, "
    "hmac(blank_null(lower(trim(r.conversion_data.email)))) AS conversion_email_hash, "
    "new_lead AS conversion_is_new_lead, r.user_agent_details.browser AS browser, "
    "r.user_agent_details.browser_version AS browser_version, "
    "r.user_agent_details.platform AS platform, mobile, r.thumbnail.url AS thumbnail_url, "
    "run_id AS _run_id, fetched_at AS _fetched_at, dt"
)


def _duck_silver(con: duckdb.DuckDBPyConnection, out: str) -> None:
    """The silver tables of the day as Parquet: events, rejects, media_daily_stats, medias."""
    con.execute(
        f"COPY (SELECT {_SILVER_EVENTS} FROM ev_checked WHERE reason IS NULL QUALIFY "
        "row_number() OVER (PARTITION BY r.event_key ORDER BY fetched_at DESC NULLS LAST, "
        "run_id DESC NULLS LAST) = 1 ORDER BY media_id, received_at) "
        f"TO '{out}/silver/events' (FORMAT parquet, PARTITION_BY (dt))"
    )
    con.execute(
        "COPY (SELECT reason, source_file, line, run_id AS _run_id, "
        "hmac(blank_null(trim(r.ip))) AS ip_hash, "
        "hmac(blank_null(lower(trim(r.email)))) AS email_hash, bronze_dt AS dt "
        "FROM ev_checked WHERE reason IS NOT NULL ORDER BY reason, source_file, line) "
        f"TO '{out}/silver/rejects_events' (FORMAT parquet, PARTITION_BY (dt))"
    )
    con.execute(
        "COPY (SELECT env._ingest.media_id AS media_id, "
        "CAST(env.record->>'load_count' AS BIGINT) AS load_count, "
        "CAST(env.record->>'play_count' AS BIGINT) AS play_count, "
        "CAST(env.record->>'hours_watched' AS DOUBLE) AS hours_watched, "
        "env._ingest.run_id AS _run_id, to_ts(env._ingest.fetched_at) AS _fetched_at, "
        "CAST(env.record->>'date' AS DATE) AS dt FROM stats_lines QUALIFY row_number() OVER "
        "(PARTITION BY media_id, dt ORDER BY _fetched_at DESC, _run_id DESC) = 1) "
        f"TO '{out}/silver/media_daily_stats' (FORMAT parquet, PARTITION_BY (dt))"
    )
    con.execute(
        "COPY (SELECT env.record->>'hashed_id' AS media_id, env.record->>'name' AS name, "
        "to_ts(env.record->>'updated') AS updated FROM medias_lines QUALIFY row_number() OVER "
        "(PARTITION BY media_id ORDER BY updated DESC NULLS LAST) = 1) "
        f"TO '{out}/silver/medias.parquet' (FORMAT parquet)"
    )


def _duck_gold(con: duckdb.DuckDBPyConnection, out: str) -> None:
    """Gold from the silver Parquet just written, as the gold job reads silver."""
    con.execute(
        "CREATE TEMP TABLE fact AS WITH per_event AS (SELECT media_id, dt, count(*) AS events, "
        "count(DISTINCT visitor_key) AS unique_visitors, avg(percent_viewed) AS avg_pv, "
        "max_by(media_name, (received_at, event_key)) AS event_name, "
        "max(_fetched_at) AS fetched FROM read_parquet(?, hive_partitioning = true) "
        "GROUP BY ALL), stats AS (SELECT * FROM read_parquet(?, hive_partitioning = true)) "
        "SELECT coalesce(s.media_id, e.media_id) AS media_id, "
        "coalesce(m.name, e.event_name) AS media_name, s.load_count AS loads, "
        "s.play_count AS plays, CASE WHEN s.load_count > 0 THEN "
        "s.play_count / s.load_count END AS play_rate, s.hours_watched, "
        "coalesce(e.unique_visitors, 0) AS unique_visitors, coalesce(e.events, 0) AS events, "
        "e.avg_pv AS avg_percent_viewed, greatest(s._fetched_at, e.fetched) AS "
        "gold_ingested_at, coalesce(s.dt, e.dt) AS dt FROM stats s "
        "FULL JOIN per_event e ON s.media_id = e.media_id AND s.dt = e.dt "
        "LEFT JOIN read_parquet(?) m ON m.media_id = coalesce(s.media_id, e.media_id)",
        [
            f"{out}/silver/events/*/*.parquet",
            f"{out}/silver/media_daily_stats/*/*.parquet",
            f"{out}/silver/medias.parquet",
        ],
    )
    con.execute(f"COPY fact TO '{out}/gold/fact_media_daily' (FORMAT parquet, PARTITION_BY (dt))")
    con.execute(
        "COPY (SELECT media_id, events AS events_count, coalesce(plays, 0) AS play_count, "
        "events - coalesce(plays, 0) AS difference, dt FROM fact) "
        f"TO '{out}/gold/reconciliation' (FORMAT parquet, PARTITION_BY (dt))"
    )


def duckdb_side(lake: str, out: str, key: str) -> None:
    """Bronze -> silver -> gold Parquet with DuckDB, parts checked against their manifests."""
    storage = open_storage(lake)
    files = {
        stream: bronze.verified_file_uris(
            storage, bronze.select_observed_runs(storage, lake, stream, [DAY])
        )
        for stream in ("events", "media_by_date", "medias")
    }
    for area in ("silver", "gold"):
        Path(out, area).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _duck_macros(con, key)
    for name, stream in (
        ("ev_lines", "events"),
        ("stats_lines", "media_by_date"),
        ("medias_lines", "medias"),
    ):
        _duck_lines(con, name, files[stream])
    _duck_events(con)
    _duck_silver(con, out)
    _duck_gold(con, out)


# ------------------------------------------------------------------ comparing the outputs

_EVENT_COLUMNS = (
    "event_key, received_at, media_id, media_name, visitor_key, percent_viewed, embed_url, "
    "ip_hash, email_hash, org, country, region, city, lat, lon, conversion_type, "
    "conversion_email_hash, conversion_is_new_lead, browser, browser_version, platform, "
    "mobile, thumbnail_url, _run_id, _fetched_at, CAST(dt AS DATE) AS dt"
)
# avg_percent_viewed is a float sum in another order on each side: compared with a tolerance.
_FACT_COLUMNS = (
    "media_id, media_name, loads, plays, play_rate, hours_watched, unique_visitors, events, "
    "gold_ingested_at, CAST(dt AS DATE) AS dt"
)
_REJECT_COLUMNS = "reason, source_file, line, _run_id, ip_hash, email_hash, CAST(dt AS DATE)"


def _differences(con: duckdb.DuckDBPyConnection, cols: str, spark: str, duck: str) -> int:
    """Rows in one side and not the other (as multisets)."""
    a, b = f"SELECT {cols} FROM {spark}", f"SELECT {cols} FROM {duck}"
    sql = f"SELECT (SELECT count(*) FROM ({a} EXCEPT ALL {b})) + (SELECT count(*) FROM ({b} EXCEPT ALL {a}))"
    return int(con.execute(sql).fetchone()[0])


def compare_outputs(lake: str, out: str) -> dict[str, Any]:
    """Spark's published tables vs DuckDB's: row counts and differing rows per table."""
    storage = open_storage(lake)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")

    def spark_table(uri: str) -> str:
        listed = ", ".join(f"'{f}'" for f in published_files(storage, lake, uri))
        return f"read_parquet([{listed}], hive_partitioning = true)"

    pairs = {
        "silver_events": (_EVENT_COLUMNS, silver_uri(lake, "events"), "silver/events/*/*"),
        "rejects": (_REJECT_COLUMNS, rejects_uri(lake, "events"), "silver/rejects_events/*/*"),
        "gold_fact": (
            _FACT_COLUMNS,
            gold_uri(lake, "fact_media_daily"),
            "gold/fact_media_daily/*/*",
        ),
    }
    result: dict[str, Any] = {}
    for name, (cols, spark_uri, duck_glob) in pairs.items():
        spark = spark_table(spark_uri)
        duck = f"read_parquet('{out}/{duck_glob}.parquet', hive_partitioning = true)"
        rows = con.execute(f"SELECT count(*) FROM {spark}").fetchone()[0]
        result[name] = {"rows": rows, "differing_rows": _differences(con, cols, spark, duck)}
        if name == "gold_fact":
            worst = con.execute(
                f"SELECT coalesce(max(abs(a.avg_percent_viewed - b.avg_percent_viewed)), 0) "
                f"FROM {spark} a JOIN {duck} b USING (media_id, dt)"
            ).fetchone()[0]
            result[name]["differing_rows"] += int(worst > 1e-9)
    return result


# ------------------------------------------------------------------ the run


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--media", type=int, default=500)
    parser.add_argument("--visitors", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; medians")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the generated lake")
    parser.add_argument("--duckdb-side", nargs=2, metavar=("LAKE", "OUT"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_duckdb_child(lake: str, out: str, key: str) -> None:
    """The DuckDB side in its own process, so its start-up and memory are measured alike."""
    env = {**os.environ, "WISTIA_PII_HASH_KEY": key}
    cmd = [sys.executable, __file__, "--duckdb-side", lake, out]
    subprocess.run(cmd, env=env, check=True)


def spark_summary(runs: list[dict[str, Any]], events: int, driver_memory: str) -> dict[str, Any]:
    """The Spark side over ``runs`` (one dict of silver and gold per repetition): the median
    total and each run's figures."""
    totals = [round(r["silver"]["wall_s"] + r["gold"]["wall_s"], 2) for r in runs]
    total = round(statistics.median(totals), 2)
    return {
        "master": "local[*]",
        "cores": os.cpu_count(),
        "driver_memory": driver_memory,
        "silver_wall_s": [r["silver"]["wall_s"] for r in runs],
        "gold_wall_s": [r["gold"]["wall_s"] for r in runs],
        "total_wall_s": totals,
        "median_total_wall_s": total,
        "events_per_s": round(events / total),
        "peak_rss_mb": max(max(r["silver"]["peak_rss_mb"], r["gold"]["peak_rss_mb"]) for r in runs),
        "includes_jvm_startup": True,
    }


def _fresh_lake(workdir: Path, generated: Path, rep: int) -> str:
    """A lake holding only the generated bronze: each repetition does a first run's work."""
    lake = workdir / f"lake-{rep}"
    shutil.copytree(generated / "bronze", lake / "bronze")
    return str(lake)


def run_benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Generate bronze in ``workdir``, then ``args.repeat`` times Spark and DuckDB on a fresh
    copy of it, alternating (so a busy spell hits both sides alike); the benchmark's JSON."""
    generated = workdir / "generated"
    key = secrets.token_hex(32)  # a random per-run key: none may be hard-coded
    started = time.monotonic()
    info = generate_bronze(str(generated), args.events, args.media, args.visitors, args.seed)
    gen_s = time.monotonic() - started
    bronze_bytes = sum(p.stat().st_size for p in generated.rglob("*.gz"))
    spark_runs, duck_runs, compared = [], [], {}
    archive_dir = cds_directory(os.environ)
    archived = archive_dir is not None and cds_archive(archive_dir).is_file()
    for rep in range(args.repeat):
        lake, out = _fresh_lake(workdir, generated, rep), str(workdir / f"duckdb-{rep}")
        spark_runs.append(run_spark_jobs(lake, args.driver_memory, key))
        duck_runs.append(measured(run_duckdb_child, lake, out, key))
        compared = compare_outputs(lake, out)
        if not all(t["differing_rows"] == 0 and t["rows"] > 0 for t in compared.values()):
            break  # no timing of a wrong result
    spark = spark_summary(spark_runs, args.events, args.driver_memory)
    duck_s = round(statistics.median(d["wall_s"] for d in duck_runs), 2)
    return {
        "benchmark": "bench-transform",
        "day": DAY.isoformat(),
        "events": args.events,
        "bronze_event_lines": info["event_lines"],
        "bronze_parts": info["parts"],
        "bronze_mb": round(bronze_bytes / 2**20, 1),
        "media": args.media,
        "generate_s": round(gen_s, 1),
        "repetitions": len(spark_runs),
        "load_avg_1m_before_after": [info["load_before"], round(os.getloadavg()[0], 2)],
        "spark": spark,
        "duckdb": {
            "wall_s": [d["wall_s"] for d in duck_runs],
            "median_wall_s": duck_s,
            "peak_rss_mb": max(d["peak_rss_mb"] for d in duck_runs),
            "events_per_s": round(args.events / duck_s),
            "threads": "all",
        },
        # Local runner's JVM class archive: absent before -> the first Spark run dumped it.
        "spark_class_archive": "off"
        if archive_dir is None
        else ("reused" if archived else "dumped by run 1"),
        "spark_over_duckdb": round(spark["median_total_wall_s"] / duck_s, 2),
        "compared": compared,
        "agree": all(t["differing_rows"] == 0 and t["rows"] > 0 for t in compared.values()),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.duckdb_side:
        duckdb_side(*args.duckdb_side, os.environ["WISTIA_PII_HASH_KEY"])
        return 0
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
