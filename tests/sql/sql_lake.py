"""Builders of small lakes in exactly the documented layout (docs/architecture.md), written
with DuckDB. Fixtures using them are in this folder's conftest.py.

`good_lake`: a clean 3-day window (2024-03-04 Mon .. 2024-03-06 Wed) where every check passes.
`bad_lake`: the same lake with one defect per check (missing day, duplicate key, play_rate > 1,
reconciliation gap, raw email / IP in silver hashed columns).
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from wistia_pipeline.publishing import PUBLISHED, STAGING, adopt_unversioned
from wistia_pipeline.storage import LocalStorage

DAYS = [date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)]
START, END = DAYS[0], DAYS[-1]


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


EVENT_TYPES = {
    "event_key": "VARCHAR",
    "received_at": "TIMESTAMPTZ",
    "media_id": "VARCHAR",
    "media_name": "VARCHAR",
    "visitor_key": "VARCHAR",
    "percent_viewed": "DOUBLE",
    "embed_url": "VARCHAR",
    "ip_hash": "VARCHAR",
    "email_hash": "VARCHAR",
    "org": "VARCHAR",
    "country": "VARCHAR",
    "region": "VARCHAR",
    "city": "VARCHAR",
    "lat": "DOUBLE",
    "lon": "DOUBLE",
    "conversion_type": "VARCHAR",
    "conversion_email_hash": "VARCHAR",
    "conversion_is_new_lead": "BOOLEAN",
    "browser": "VARCHAR",
    "browser_version": "VARCHAR",
    "platform": "VARCHAR",
    "mobile": "BOOLEAN",
    "thumbnail_url": "VARCHAR",
    "_run_id": "VARCHAR",
    "_fetched_at": "TIMESTAMPTZ",
}

FACT_TYPES = {
    "media_id": "VARCHAR",
    "media_name": "VARCHAR",
    "loads": "BIGINT",
    "plays": "BIGINT",
    "play_rate": "DOUBLE",
    "hours_watched": "DOUBLE",
    "unique_visitors": "BIGINT",
    "events": "BIGINT",
    "avg_percent_viewed": "DOUBLE",
    "analytics_unique_visitors": "BIGINT",
    "analytics_play_rate": "DOUBLE",
    "analytics_engagement_rate": "DOUBLE",
    "gold_ingested_at": "TIMESTAMPTZ",
}

RECON_TYPES = {
    "media_id": "VARCHAR",
    "events_count": "BIGINT",
    "play_count": "BIGINT",
    "difference": "BIGINT",
}

VISITOR_TYPES = {
    "visitor_key": "VARCHAR",
    "last_active_at": "TIMESTAMPTZ",
    "email_hash": "VARCHAR",
    "name_hash": "VARCHAR",
}


def write_rows(folder: Path, types: dict[str, str], rows: list[dict]) -> None:
    """One Parquet file (``part-NNNNN.parquet``) in ``folder`` with columns typed as ``types``."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"part-{len(list(folder.glob('*.parquet'))):05d}.parquet"
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE TABLE t (" + ", ".join(f'"{k}" {v}' for k, v in types.items()) + ")")
        if rows:
            con.executemany(
                f"INSERT INTO t VALUES ({', '.join('?' for _ in types)})",
                [[r.get(k) for k in types] for r in rows],
            )
        con.execute(f"COPY t TO '{target}' (FORMAT parquet)")


def event(key: str, day: date, hour: int, media: str, visitor: str, pct: float, **extra) -> dict:
    row = {
        "event_key": key,
        "received_at": datetime(day.year, day.month, day.day, hour, 30, tzinfo=UTC),
        "media_id": media,
        "media_name": f"Video {media}",
        "visitor_key": visitor,
        "percent_viewed": pct,
        "ip_hash": digest("ip" + key),
        "email_hash": digest("mail" + visitor),
        "country": "US" if media == "m1" else "DE",
        "_run_id": "run1",
        "_fetched_at": datetime(2024, 3, 7, tzinfo=UTC),
    }
    row.update(extra)
    return row


# (media, loads, plays) per day; events per (day, media) = plays so reconciliation matches.
STATS = {
    DAYS[0]: [("m1", 3, 1), ("m2", 4, 3), ("m3", 0, 0)],
    DAYS[1]: [("m1", 2, 2), ("m2", 5, 1)],
    DAYS[2]: [("m1", 10, 4), ("m2", 8, 2)],
}
# visitor per event: v1 watches m1 on every day, so weekly distinct viewers of m1 stay small.
VISITORS = ["v1", "v2", "v3", "v4"]


def build_events() -> dict[date, list[dict]]:
    events: dict[date, list[dict]] = {}
    for day, stats in STATS.items():
        rows = []
        for media, _loads, plays in stats:
            for i in range(plays):
                key = f"{day:%Y%m%d}_{media}_{i}"
                rows.append(event(key, day, 1 + i, media, VISITORS[i % len(VISITORS)], 0.25 * i))
        events[day] = rows
    return events


def build_fact(events: dict[date, list[dict]]) -> dict[date, list[dict]]:
    fact: dict[date, list[dict]] = {}
    for day, stats in STATS.items():
        rows = []
        for media, loads, plays in stats:
            ev = [e for e in events[day] if e["media_id"] == media]
            rows.append(
                {
                    "media_id": media,
                    "media_name": f"Video {media}",
                    "loads": loads,
                    "plays": plays,
                    "play_rate": plays / loads if loads else None,
                    "hours_watched": 0.5 * plays,
                    "unique_visitors": len({e["visitor_key"] for e in ev}),
                    "events": len(ev),
                    "avg_percent_viewed": (
                        sum(e["percent_viewed"] for e in ev) / len(ev) if ev else None
                    ),
                    "gold_ingested_at": datetime(2024, 3, 7, tzinfo=UTC),
                }
            )
        fact[day] = rows
    return fact


def build_recon(fact: dict[date, list[dict]]) -> dict[date, list[dict]]:
    return {
        day: [
            {
                "media_id": r["media_id"],
                "events_count": r["events"],
                "play_count": r["plays"],
                "difference": r["events"] - r["plays"],
            }
            for r in rows
        ]
        for day, rows in fact.items()
    }


def write_lake(
    root: Path,
    events: dict[date, list[dict]],
    fact: dict[date, list[dict]],
    recon: dict[date, list[dict]],
    visitors: list[dict],
) -> Path:
    silver, gold = root / "silver" / "wistia", root / "gold" / "wistia"
    for day, rows in events.items():
        write_rows(silver / "events" / f"dt={day}", EVENT_TYPES, rows)
    for day, rows in fact.items():
        write_rows(gold / "fact_media_daily" / f"dt={day}", FACT_TYPES, rows)
    for day, rows in recon.items():
        write_rows(gold / "reconciliation" / f"dt={day}", RECON_TYPES, rows)
    write_rows(silver / "visitors", VISITOR_TYPES, visitors)
    # Spark leftovers that Athena ignores: a marker and an unreadable temp "parquet" file.
    (gold / "fact_media_daily" / "_SUCCESS").write_text("")
    junk = gold / "fact_media_daily" / "_temporary" / "0"
    junk.mkdir(parents=True)
    (junk / "part-00000.parquet").write_bytes(b"not parquet")
    publish_as_written(root)
    return root


def copy_lake(source: Path, target: Path) -> Path:
    """A private copy of a lake: its data copied, then published again (manifests hold
    absolute paths, so copied manifests would point at the source's files)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(PUBLISHED, STAGING))
    publish_as_written(target)
    return target


def publish_as_written(root: Path) -> None:
    """Publish the Parquet written under ``root`` and stage the same (what the checks read):
    a lake as a finished run leaves it. Rebuilt from the data each time (files added since)."""
    for area in (PUBLISHED, STAGING):
        shutil.rmtree(root / area, ignore_errors=True)
    adopt_unversioned(LocalStorage(), str(root))
    shutil.copytree(root / PUBLISHED, root / STAGING, dirs_exist_ok=True)


def good_visitors() -> list[dict]:
    return [
        {"visitor_key": v, "email_hash": digest("mail" + v), "name_hash": digest("n" + v)}
        for v in VISITORS
    ]


SNAPSHOT_TYPES = {
    **VISITOR_TYPES,
    "org_name": "VARCHAR",
    "org_title": "VARCHAR",
}


def write_visitor_snapshots(root: Path, snapshots: dict[date, list[dict]]) -> Path:
    """Add ``silver/wistia/visitors_snapshots/dt=D`` partitions (typed as
    :data:`SNAPSHOT_TYPES`) to a lake and publish and stage them as written."""
    for day, rows in snapshots.items():
        write_rows(
            root / "silver" / "wistia" / "visitors_snapshots" / f"dt={day}", SNAPSHOT_TYPES, rows
        )
    publish_as_written(root)
    return root
