"""SQLite run-state store for the local target.

Safe across threads and processes (Airflow runs every task in its own process): each operation
opens its own connection and does its read-check-write inside ``BEGIN IMMEDIATE``, which takes
the database's write lock before reading, so two claimers are serialised and the second one sees
the first one's row. WAL journal mode lets readers proceed while a writer holds the lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from wistia_pipeline.dates import days_between, format_ts, parse_ts
from wistia_pipeline.state.base import (
    AuditEntry,
    CheckOverride,
    Clock,
    DayAlreadyClaimed,
    DayRun,
    DayStatus,
    HolderAlive,
    NotClaimedByRun,
    RunStateStore,
    StateStoreError,
    WatermarkChanged,
    live_holder,
    overrides_from_json,
    overrides_to_json,
    release_error,
)
from wistia_pipeline.state.ingestion import (
    IngestionRecord,
    IngestionRecords,
    IngestionRefused,
    IngestionStatus,
    may_begin,
    record_from_fields,
    summary_from_json,
)

# 2 added audit_log, 3 day_runs.overrides, 4 ingestions; older files are upgraded in place
# (CREATE TABLE IF NOT EXISTS, and the column added when missing).
SCHEMA_VERSION = 4
_KNOWN_VERSIONS = (0, 1, 2, 3, SCHEMA_VERSION)
BUSY_TIMEOUT_SECONDS = 30.0
WATERMARK_NAME = "PIPELINE"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS day_runs (
    day              TEXT PRIMARY KEY,          -- YYYY-MM-DD
    status           TEXT NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED')),
    run_id           TEXT NOT NULL,
    attempt          INTEGER NOT NULL CHECK (attempt >= 1),
    started_at       TEXT NOT NULL,             -- YYYY-MM-DDTHH:MM:SS.sssZ
    finished_at      TEXT,
    counts           TEXT NOT NULL DEFAULT '{}',   -- JSON object of ints
    error            TEXT,
    lease_expires_at TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    overrides        TEXT NOT NULL DEFAULT '[]' -- JSON list of accepted check overrides
);
CREATE TABLE IF NOT EXISTS watermark (
    name          TEXT PRIMARY KEY,
    watermark_day TEXT NOT NULL,                -- YYYY-MM-DD
    run_id        TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    at       TEXT NOT NULL,                     -- YYYY-MM-DDTHH:MM:SS.sssZ
    action   TEXT NOT NULL,                     -- release | repair_watermark
    by       TEXT NOT NULL,
    reason   TEXT NOT NULL,
    day      TEXT NOT NULL,
    previous TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ingestions (         -- state.ingestion: one record per run
    run_id           TEXT PRIMARY KEY,
    status           TEXT NOT NULL
                     CHECK (status IN ('INVOKED', 'RUNNING', 'SUCCEEDED', 'FAILED')),
    invocation_id    TEXT NOT NULL,
    request_key      TEXT NOT NULL,
    attempt          INTEGER NOT NULL CHECK (attempt >= 1),
    invoked_at       TEXT NOT NULL,
    lease_expires_at TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    request_id       TEXT,
    log_group        TEXT,
    summary          TEXT,                      -- JSON object
    error_type       TEXT,
    error            TEXT,
    updated_at       TEXT NOT NULL
);
"""
_ADD_OVERRIDES = "ALTER TABLE day_runs ADD COLUMN overrides TEXT NOT NULL DEFAULT '[]'"

_INGESTION_COLUMNS = (
    "run_id, status, invocation_id, request_key, attempt, invoked_at, lease_expires_at, "
    "started_at, finished_at, request_id, log_group, summary, error_type, error"
)
_COLUMNS = (
    "day, status, run_id, attempt, started_at, finished_at, counts, error, lease_expires_at, "
    "overrides"
)


def _enable_wal(conn: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode=WAL`` (persistent in the file, a no-op once set).

    Switching modes can answer "database is locked" at once, without the busy handler, while
    other processes open the same new file: retry until the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class SQLiteRunStateStore(RunStateStore, IngestionRecords):
    """:class:`RunStateStore` in one SQLite file (created with its schema on first use)."""

    def __init__(self, path: str | Path, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._init_schema()

    def __repr__(self) -> str:
        return f"SQLiteRunStateStore({str(self.path)!r})"

    # --- connection handling ------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; we issue BEGIN IMMEDIATE ourselves.
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the database lock from its first read to COMMIT."""
        with contextlib.closing(self._connect()) as conn, _immediate(conn):
            yield conn

    def _read(self) -> contextlib.closing[sqlite3.Connection]:
        return contextlib.closing(self._connect())

    def _init_schema(self) -> None:
        with self._read() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in _KNOWN_VERSIONS:
                raise StateStoreError(
                    f"{self.path}: state schema version {version}, this code knows {SCHEMA_VERSION}"
                )
            _enable_wal(conn)
            with _immediate(conn):  # statement by statement: executescript() would COMMIT
                for statement in _split_sql(_SCHEMA):
                    conn.execute(statement)
                columns = {r["name"] for r in conn.execute("PRAGMA table_info(day_runs)")}
                if "overrides" not in columns:  # a version 1 or 2 file
                    conn.execute(_ADD_OVERRIDES)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # --- operations (arguments checked by RunStateStore) --------------------------------

    def _claim(self, day: date, run_id: str, now: datetime, lease: datetime) -> DayRun:
        with self._write() as conn:
            current = _fetch(conn, day)
            if (
                current is not None
                and current.status is DayStatus.RUNNING
                and current.run_id != run_id
                and current.lease_expires_at >= now
            ):
                raise DayAlreadyClaimed(day, current)
            claimed = DayRun(
                day=day,
                status=DayStatus.RUNNING,
                run_id=run_id,
                attempt=(current.attempt if current else 0) + 1,
                started_at=now,
                finished_at=None,
                counts={},
                error=None,
                lease_expires_at=lease,
            )
            conn.execute(
                f"INSERT OR REPLACE INTO day_runs ({_COLUMNS}, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*_to_row(claimed), format_ts(now)),
            )
        return claimed

    def _claim_range(
        self,
        first: date,
        last: date,
        guard_first: date,
        guard_last: date,
        run_id: str,
        now: datetime,
        lease: datetime,
    ) -> list[DayRun]:
        # One BEGIN IMMEDIATE: the guard band is read and every day written under the database
        # lock, so a refusal writes nothing and two range claims are serialised.
        with self._write() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM day_runs WHERE day BETWEEN ? AND ? ORDER BY day",
                (guard_first.isoformat(), guard_last.isoformat()),
            ).fetchall()
            current = {run.day: run for run in map(_from_row, rows)}
            for held in current.values():
                if live_holder(held, run_id, now):
                    raise DayAlreadyClaimed(held.day, held)
            claimed = [
                DayRun(
                    day=day,
                    status=DayStatus.RUNNING,
                    run_id=run_id,
                    attempt=(current[day].attempt if day in current else 0) + 1,
                    started_at=now,
                    finished_at=None,
                    counts={},
                    error=None,
                    lease_expires_at=lease,
                )
                for day in days_between(first, last)
            ]
            conn.executemany(
                f"INSERT OR REPLACE INTO day_runs ({_COLUMNS}, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*_to_row(run), format_ts(now)) for run in claimed],
            )
        return claimed

    def _succeed(
        self,
        day: date,
        run_id: str,
        now: datetime,
        counts: dict[str, int],
        overrides: tuple[CheckOverride, ...],
    ) -> DayRun:
        return self._finish(day, run_id, now, DayStatus.SUCCEEDED, counts, None, overrides)

    def _fail(self, day: date, run_id: str, now: datetime, error: str) -> DayRun:
        return self._finish(day, run_id, now, DayStatus.FAILED, None, error)

    def _finish(
        self,
        day: date,
        run_id: str,
        now: datetime,
        status: DayStatus,
        counts: dict[str, int] | None,
        error: str | None,
        overrides: tuple[CheckOverride, ...] | None = None,
    ) -> DayRun:
        """RUNNING by ``run_id`` -> ``status``; ``counts`` / ``overrides`` None keep the
        claim's."""
        with self._write() as conn:
            current = _fetch(conn, day)
            if (
                current is None
                or current.status is not DayStatus.RUNNING
                or current.run_id != run_id
            ):
                raise NotClaimedByRun(day, run_id, current)
            finished = dataclasses.replace(
                current,
                status=status,
                finished_at=now,
                counts=current.counts if counts is None else counts,
                error=error,
                overrides=current.overrides if overrides is None else overrides,
            )
            conn.execute(
                "UPDATE day_runs SET status = ?, finished_at = ?, counts = ?, error = ?, "
                "overrides = ?, updated_at = ? WHERE day = ? AND status = 'RUNNING' "
                "AND run_id = ?",
                (
                    status.value,
                    format_ts(now),
                    json.dumps(finished.counts, sort_keys=True),
                    error,
                    overrides_to_json(finished.overrides),
                    format_ts(now),
                    day.isoformat(),
                    run_id,
                ),
            )
        return finished

    def _get_day(self, day: date) -> DayRun | None:
        with self._read() as conn:
            return _fetch(conn, day)

    def _list_days(self, start: date, end: date) -> list[DayRun]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM day_runs WHERE day BETWEEN ? AND ? ORDER BY day",
                (start.isoformat(), end.isoformat()),
            ).fetchall()
        return [_from_row(row) for row in rows]

    def _advance_watermark(self, day: date, run_id: str, now: datetime) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO watermark (name, watermark_day, run_id, updated_at) "
                "VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET watermark_day = excluded.watermark_day, "
                "run_id = excluded.run_id, updated_at = excluded.updated_at "
                "WHERE watermark.watermark_day < excluded.watermark_day",
                (WATERMARK_NAME, day.isoformat(), run_id, format_ts(now)),
            )
            return cursor.rowcount == 1

    def _renew(self, day: date, run_id: str, now: datetime, lease: datetime) -> DayRun:
        with self._write() as conn:
            current = _fetch(conn, day)
            if current is None or not _held_by(current, run_id):
                raise NotClaimedByRun(day, run_id, current)
            conn.execute(
                "UPDATE day_runs SET lease_expires_at = ?, updated_at = ? WHERE day = ?",
                (format_ts(lease), format_ts(now), day.isoformat()),
            )
        return dataclasses.replace(current, lease_expires_at=lease)

    def _release(
        self, day: date, run_id: str, now: datetime, entry: AuditEntry, holder_dead: bool
    ) -> DayRun:
        with self._write() as conn:
            current = _fetch(conn, day)
            if current is None or not _held_by(current, run_id):
                raise NotClaimedByRun(day, run_id, current)
            if current.lease_expires_at >= now and not holder_dead:
                raise HolderAlive(current)
            error = release_error(entry, current, holder_dead)
            conn.execute(
                "UPDATE day_runs SET status = 'FAILED', finished_at = ?, error = ?, "
                "updated_at = ? WHERE day = ?",
                (format_ts(now), error, format_ts(now), day.isoformat()),
            )
            _insert_audit(conn, entry)
        return dataclasses.replace(current, status=DayStatus.FAILED, finished_at=now, error=error)

    def _repair_watermark(self, day: date, expected: date, entry: AuditEntry) -> None:
        with self._write() as conn:
            row = conn.execute(
                "SELECT watermark_day FROM watermark WHERE name = ?", (WATERMARK_NAME,)
            ).fetchone()
            current = None if row is None else date.fromisoformat(row["watermark_day"])
            if current != expected:
                raise WatermarkChanged(expected, current)
            conn.execute(
                "UPDATE watermark SET watermark_day = ?, run_id = ?, updated_at = ? WHERE name = ?",
                (day.isoformat(), f"repair by {entry.by}", format_ts(entry.at), WATERMARK_NAME),
            )
            _insert_audit(conn, entry)

    def audit_log(self) -> list[AuditEntry]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT at, action, by, reason, day, previous FROM audit_log ORDER BY rowid"
            ).fetchall()
        return [
            AuditEntry(
                at=parse_ts(r["at"]),
                action=r["action"],
                by=r["by"],
                reason=r["reason"],
                day=date.fromisoformat(r["day"]),
                previous=r["previous"],
            )
            for r in rows
        ]

    # --- the ingestion record (state.ingestion) -------------------------------------------

    def _get_ingestion(self, run_id: str) -> IngestionRecord | None:
        with self._read() as conn:
            return _fetch_ingestion(conn, run_id)

    def _begin_ingestion(
        self, run_id: str, invocation_id: str, key: str, now: datetime, lease: datetime
    ) -> IngestionRecord:
        with self._write() as conn:
            current = _fetch_ingestion(conn, run_id)
            if not may_begin(current, key, now):
                raise IngestionRefused(run_id, "begin", current)
            record = IngestionRecord(
                run_id=run_id,
                status=IngestionStatus.INVOKED,
                invocation_id=invocation_id,
                request_key=key,
                attempt=(current.attempt if current else 0) + 1,
                invoked_at=now,
                lease_expires_at=lease,
            )
            conn.execute(
                f"INSERT OR REPLACE INTO ingestions ({_INGESTION_COLUMNS}, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*_ingestion_row(record), format_ts(now)),
            )
        return record

    def _start_ingestion(
        self,
        run_id: str,
        invocation_id: str,
        now: datetime,
        request_id: str,
        log_group: str,
        lease: datetime,
    ) -> IngestionRecord:
        return self._change_ingestion(
            run_id,
            invocation_id,
            "start",
            (IngestionStatus.INVOKED,),
            now,
            status=IngestionStatus.RUNNING,
            started_at=now,
            request_id=request_id,
            log_group=log_group,
            lease_expires_at=lease,
        )

    def _renew_ingestion(
        self, run_id: str, invocation_id: str, now: datetime, lease: datetime
    ) -> None:
        self._change_ingestion(
            run_id, invocation_id, "renew", (IngestionStatus.RUNNING,), now, lease_expires_at=lease
        )

    def _succeed_ingestion(
        self, run_id: str, invocation_id: str, now: datetime, summary: str
    ) -> IngestionRecord:
        return self._change_ingestion(
            run_id,
            invocation_id,
            "succeed",
            (IngestionStatus.RUNNING,),
            now,
            status=IngestionStatus.SUCCEEDED,
            finished_at=now,
            summary=summary_from_json(summary),
        )

    def _fail_ingestion(
        self,
        run_id: str,
        invocation_id: str,
        now: datetime,
        error_type: str,
        error: str,
        lapsed_only: bool,
    ) -> IngestionRecord:
        return self._change_ingestion(
            run_id,
            invocation_id,
            "fail",
            (IngestionStatus.INVOKED, IngestionStatus.RUNNING),
            now,
            lapsed_only=lapsed_only,
            status=IngestionStatus.FAILED,
            finished_at=now,
            error_type=error_type,
            error=error,
        )

    def _change_ingestion(
        self,
        run_id: str,
        invocation_id: str,
        action: str,
        allowed: tuple[IngestionStatus, ...],
        now: datetime,
        lapsed_only: bool = False,
        **changes: object,
    ) -> IngestionRecord:
        """Read-check-write under the database lock: the record must be in ``allowed`` by
        ``invocation_id`` (and lapsed with ``lapsed_only``)."""
        with self._write() as conn:
            current = _fetch_ingestion(conn, run_id)
            if (
                current is None
                or current.invocation_id != invocation_id
                or current.status not in allowed
                or (lapsed_only and not current.lapsed(now))
            ):
                raise IngestionRefused(run_id, action, current)
            record = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
            conn.execute(
                f"INSERT OR REPLACE INTO ingestions ({_INGESTION_COLUMNS}, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*_ingestion_row(record), format_ts(now)),
            )
        return record

    def get_watermark(self) -> date | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT watermark_day FROM watermark WHERE name = ?", (WATERMARK_NAME,)
            ).fetchone()
        return None if row is None else date.fromisoformat(row["watermark_day"])


@contextlib.contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any error): the write lock is taken
    before the first read, so two writers are serialised."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _held_by(current: DayRun | None, run_id: str) -> bool:
    return current is not None and current.status is DayStatus.RUNNING and current.run_id == run_id


def _insert_audit(conn: sqlite3.Connection, entry: AuditEntry) -> None:
    conn.execute(
        "INSERT INTO audit_log (at, action, by, reason, day, previous) VALUES (?, ?, ?, ?, ?, ?)",
        (
            format_ts(entry.at),
            entry.action,
            entry.by,
            entry.reason,
            entry.day.isoformat(),
            entry.previous,
        ),
    )


def _split_sql(script: str) -> list[str]:
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


def _fetch(conn: sqlite3.Connection, day: date) -> DayRun | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM day_runs WHERE day = ?", (day.isoformat(),)
    ).fetchone()
    return None if row is None else _from_row(row)


def _to_row(run: DayRun) -> tuple[object, ...]:
    return (
        run.day.isoformat(),
        run.status.value,
        run.run_id,
        run.attempt,
        format_ts(run.started_at),
        None if run.finished_at is None else format_ts(run.finished_at),
        json.dumps(run.counts, sort_keys=True),
        run.error,
        format_ts(run.lease_expires_at),
        overrides_to_json(run.overrides),
    )


def _from_row(row: sqlite3.Row) -> DayRun:
    return DayRun(
        day=date.fromisoformat(row["day"]),
        status=DayStatus(row["status"]),
        run_id=row["run_id"],
        attempt=int(row["attempt"]),
        started_at=parse_ts(row["started_at"]),
        finished_at=None if row["finished_at"] is None else parse_ts(row["finished_at"]),
        counts={str(k): int(v) for k, v in json.loads(row["counts"]).items()},
        error=row["error"],
        lease_expires_at=parse_ts(row["lease_expires_at"]),
        overrides=overrides_from_json(row["overrides"]),
    )


def _fetch_ingestion(conn: sqlite3.Connection, run_id: str) -> IngestionRecord | None:
    row = conn.execute(
        f"SELECT {_INGESTION_COLUMNS} FROM ingestions WHERE run_id = ?", (run_id,)
    ).fetchone()
    return None if row is None else record_from_fields(lambda name: row[name])


def _ingestion_row(record: IngestionRecord) -> tuple[object, ...]:
    def ts(value: datetime | None) -> str | None:
        return None if value is None else format_ts(value)

    return (
        record.run_id,
        record.status.value,
        record.invocation_id,
        record.request_key,
        record.attempt,
        format_ts(record.invoked_at),
        format_ts(record.lease_expires_at),
        ts(record.started_at),
        ts(record.finished_at),
        record.request_id,
        record.log_group,
        None if record.summary is None else json.dumps(record.summary, sort_keys=True),
        record.error_type,
        record.error,
    )
