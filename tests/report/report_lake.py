"""Lakes and run states for the report tests, in the documented layout (tests/sql/sql_lake.py
writes the Parquet).

`account_lake`: 30 days (D - 29 .. D) of an account with six videos, one named with an emoji
and CJK, one with 3 loads and 3 plays (a 100 % play rate below the minimum of loads), a day
without rows in the middle, late-arriving events on D - 1 (the reconciliation gap of a
provisional day), and the run state of every day published but D - 3 (checks failed).
`new_account_lake`: three days of a new account whose last day has loads but no plays.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sql"))

from sql_lake import EVENT_TYPES, FACT_TYPES, RECON_TYPES, digest, publish_as_written

from wistia_pipeline.config import Settings, load_settings
from wistia_pipeline.state.sqlite_store import SQLiteRunStateStore

DAY = date(2026, 3, 30)
FAILED_DAY = DAY - timedelta(days=3)
MISSING_DAY = DAY - timedelta(days=12)
EMOJI_NAME = "Onboarding 🚀 step 1 — 製品紹介 <b>&</b>"
MEDIA = {
    "m_demo": "Product demo 1",
    "m_emoji": EMOJI_NAME,
    "m_webinar": 'Webinar: Q1 roadmap "part 2"',
    "m_story": "Customer story: Müller & Söhne #3",
    "m_tiny": "Teaser (3 loads)",
    "m_quiet": "Release notes ✨",
}


@dataclass
class Lake:
    root: Path
    state_db: Path
    days: list[date]
    fact: dict[date, list[dict]]
    events: dict[date, list[dict]]


def _event(day: date, media: str, i: int, visitor: str, pct: float) -> dict:
    ts = datetime(day.year, day.month, day.day, 1 + i % 22, i % 60, tzinfo=UTC)
    return {
        "event_key": f"{day:%Y%m%d}_{media}_{i}",
        "received_at": ts,
        "media_id": media,
        "media_name": MEDIA.get(media, media),
        "visitor_key": visitor,
        "percent_viewed": pct,
        "ip_hash": digest(f"ip{i}"),
        "_run_id": "run",
        "_fetched_at": ts,
    }


def _day_stats(rng: random.Random, day: date, index: int, last: bool) -> list[tuple]:
    """(media, loads, plays, hours) for one day; growth over the month, D a strong day."""
    boost = 1.0 + index / 40 + (0.3 if last else 0.0)
    out = []
    for media, base in (
        ("m_demo", 60),
        ("m_emoji", 40),
        ("m_webinar", 30),
        ("m_story", 25),
        ("m_quiet", 8),
    ):
        plays = max(0, int(base * boost * rng.uniform(0.7, 1.1)))
        loads = plays + int(plays * rng.uniform(0.2, 1.2)) + rng.randrange(0, 5)
        out.append((media, loads, plays, round(plays * rng.uniform(0.02, 0.2), 3)))
    out.append(("m_tiny", 3, 3, 0.05))
    return out


def write_account_lake(
    root: Path, state_db: Path, day: date = DAY, history: int = 30, no_plays_on_day: bool = False
) -> Lake:
    rng = random.Random(7)
    days = [day - timedelta(days=history - 1 - i) for i in range(history)]
    fact: dict[date, list[dict]] = {}
    events: dict[date, list[dict]] = {}
    recon: dict[date, list[dict]] = {}
    visitors = [f"v{i}" for i in range(120)]
    for index, d in enumerate(days):
        if d == MISSING_DAY and history == 30:
            continue
        stats = _day_stats(rng, d, index, d == day)
        if no_plays_on_day and d == day:
            stats = [(m, loads, 0, 0.0) for m, loads, _p, _h in stats]
        day_events, rows, recon_rows = [], [], []
        for media, loads, plays, hours in stats:
            ev = [
                _event(d, media, i, rng.choice(visitors), round(rng.uniform(0.05, 1.0), 4))
                for i in range(plays)
            ]
            # Late data: on D - 1 some of the day's events have not arrived yet.
            counted = ev[: max(0, plays - 2)] if d == day - timedelta(days=1) else ev
            day_events += counted
            rows.append(
                {
                    "media_id": media,
                    "media_name": MEDIA[media],
                    "loads": loads,
                    "plays": plays,
                    "play_rate": plays / loads if loads else None,
                    "hours_watched": hours,
                    "unique_visitors": len({e["visitor_key"] for e in counted}),
                    "events": len(counted),
                    "avg_percent_viewed": (
                        sum(e["percent_viewed"] for e in counted) / len(counted)
                        if counted
                        else None
                    ),
                    "gold_ingested_at": datetime(d.year, d.month, d.day, 23, tzinfo=UTC),
                }
            )
            recon_rows.append(
                {
                    "media_id": media,
                    "events_count": len(counted),
                    "play_count": plays,
                    "difference": len(counted) - plays,
                }
            )
        fact[d], events[d], recon[d] = rows, day_events, recon_rows
    silver, gold = root / "silver" / "wistia", root / "gold" / "wistia"
    write_partitions(silver / "events", EVENT_TYPES, events)
    write_partitions(gold / "fact_media_daily", FACT_TYPES, fact)
    write_partitions(gold / "reconciliation", RECON_TYPES, recon)
    write_states(state_db, [d for d in days if d in fact], failed={FAILED_DAY})
    publish_as_written(root)
    return Lake(root, state_db, days, fact, events)


def write_partitions(folder: Path, types: dict[str, str], rows: dict[date, list[dict]]) -> None:
    """``folder/dt=YYYY-MM-DD/*.parquet`` with columns typed as ``types`` (one DuckDB COPY: the
    rows go through a JSON lines file, much faster than row inserts)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder.parent / f".{folder.name}.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for d, day_rows in rows.items():
            for row in day_rows:
                record = {k: row.get(k) for k in types} | {"dt": d.isoformat()}
                out.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
    columns = ", ".join(f"'{k}': '{v}'" for k, v in {**types, "dt": "VARCHAR"}.items())
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(
            f"COPY (SELECT * FROM read_json('{source}', format = 'newline_delimited', "
            f"columns = {{{columns}}})) TO '{folder}' "
            "(FORMAT parquet, PARTITION_BY (dt), OVERWRITE_OR_IGNORE true)"
        )
    source.unlink()


def write_states(state_db: Path, days: list[date], failed: set[date] = frozenset()) -> None:
    """Every day published in order (checks_passed=5), the ``failed`` ones FAILED at checks."""
    store = SQLiteRunStateStore(state_db)
    for d in days:
        run_id = f"scheduled__{d}"
        store.claim_day(d, run_id)
        if d in failed:
            store.mark_failed(
                d,
                run_id,
                "checks: DataCheckFailed: 1 of 5 data checks failed for 2026-03-25..2026-03-27: "
                "gold_play_rate_range: play_rate outside [0, 1] for m_demo",
            )
            continue
        store.advance_watermark(d, run_id)
        store.mark_succeeded(d, run_id, {"checks_passed": 5})


def settings_for(lake: Lake, **env: str) -> Settings:
    return load_settings(
        {
            "WISTIA_STATE_DIR": str(lake.root.parent),
            "WISTIA_LAKE_URI": str(lake.root),
            "WISTIA_STATE_DB": str(lake.state_db),
            **env,
        }
    )
