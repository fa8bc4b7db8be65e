"""The bronze layer: layout, record envelope, part files, manifests, and run selection.

Layout (docs/architecture.md, binding)::

    <lake>/bronze/wistia/<stream>/dt=YYYY-MM-DD/<run_id>/part-NNNNN.ndjson.gz
    <lake>/bronze/wistia/<stream>/dt=YYYY-MM-DD/<run_id>/_manifest.json

Each line is ``{"_ingest": {...}, "record": <raw Wistia object>}``. A ``(stream, dt, run)`` is
visible only once its ``_manifest.json`` exists; the manifest lists every part with its record
count, size and sha256. Silver reads every complete run of each ``(stream, dt)``
(:func:`select_observed_runs`): a run that lacks a record is no evidence that the record is gone,
so older runs stay observations; it reads only parts whose sha256 and record count match their
manifest (:func:`verified_file_uris`). :func:`select_complete_runs` keeps the latest run only.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from wistia_pipeline.dates import parse_ts
from wistia_pipeline.storage import Storage
from wistia_pipeline.streams import stream_info

MANIFEST_NAME = "_manifest.json"
RECORDS_PER_PART = 50_000
GZIP_LEVEL = 6  # level 9 takes twice as long for ~3 % smaller parts
VERIFY_THREADS = 8  # parts silver reads and checks at once
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_run_id(run_id: str) -> str:
    """The caller's run id made path-safe: ``[A-Za-z0-9._-]``, any other character -> ``_``."""
    if not isinstance(run_id, str) or not run_id.strip():
        raise ValueError("run_id must be a non-empty string")
    safe = _UNSAFE.sub("_", run_id)
    if set(safe) == {"."}:
        raise ValueError(f"run_id {run_id!r} is not usable as a path segment")
    return safe


def stream_uri(lake_uri: str, stream: str) -> str:
    return Storage.join(lake_uri, "bronze", "wistia", stream_info(stream).name)


def partition_uri(lake_uri: str, stream: str, dt: date) -> str:
    return Storage.join(stream_uri(lake_uri, stream), f"dt={dt.isoformat()}")


def run_uri(lake_uri: str, stream: str, dt: date, run_id: str) -> str:
    return Storage.join(partition_uri(lake_uri, stream, dt), safe_run_id(run_id))


@dataclass(frozen=True)
class RunContext:
    """Per-run values that go into every envelope and manifest."""

    run_id: str  # already path-safe
    logical_date: date
    window_start: date
    window_end: date
    api_version: str
    started_at: str  # ISO UTC


def envelope(
    ctx: RunContext,
    stream: str,
    dt: date,
    record: Any,
    *,
    fetched_at: str,
    request_path: str,
    media_id: str | None = None,
) -> dict[str, Any]:
    """One bronze line: ingestion metadata plus the raw record, untouched."""
    meta: dict[str, Any] = {
        "run_id": ctx.run_id,
        "stream": stream,
        "dt": dt.isoformat(),
        "logical_date": ctx.logical_date.isoformat(),
        "window_start": ctx.window_start.isoformat(),
        "window_end": ctx.window_end.isoformat(),
        "fetched_at": fetched_at,
        "api_version": ctx.api_version,
        "request_path": request_path,
    }
    if stream_info(stream).per_media:
        meta["media_id"] = media_id
    return {"_ingest": meta, "record": record}


def write_parts(
    storage: Storage,
    lake_uri: str,
    stream: str,
    dt: date,
    run_id: str,
    lines: Sequence[dict[str, Any]],
    records_per_part: int = RECORDS_PER_PART,
) -> list[dict[str, Any]]:
    """Write ``lines`` as gzip NDJSON parts; return the manifest's ``files`` entries."""
    if records_per_part < 1:
        raise ValueError("records_per_part must be >= 1")
    base = run_uri(lake_uri, stream, dt, run_id)
    files: list[dict[str, Any]] = []
    for index, start in enumerate(range(0, len(lines), records_per_part)):
        chunk = lines[start : start + records_per_part]
        raw = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in chunk)
        data = gzip.compress(raw.encode("utf-8"), compresslevel=GZIP_LEVEL, mtime=0)
        name = f"part-{index:05d}.ndjson.gz"
        storage.write_bytes(Storage.join(base, name), data)
        files.append(
            {
                "name": name,
                "records": len(chunk),
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    return files


@dataclass
class PendingManifest:
    """A manifest whose parts are written; it becomes visible when :func:`write_manifest` runs."""

    stream: str
    dt: date
    files: list[dict[str, Any]]
    stream_pages: int
    stream_requests: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def record_count(self) -> int:
        return sum(f["records"] for f in self.files)


def build_manifest(ctx: RunContext, pending: PendingManifest, completed_at: str) -> dict[str, Any]:
    return {
        "stream": pending.stream,
        "dt": pending.dt.isoformat(),
        "run_id": ctx.run_id,
        "logical_date": ctx.logical_date.isoformat(),
        "window_start": ctx.window_start.isoformat(),
        "window_end": ctx.window_end.isoformat(),
        "api_version": ctx.api_version,
        "started_at": ctx.started_at,
        "completed_at": completed_at,
        "record_count": pending.record_count,
        "files": pending.files,
        "stream_pages": pending.stream_pages,
        "stream_requests": pending.stream_requests,
        "status": "complete",
        **pending.extra,
    }


def write_manifest(
    storage: Storage, lake_uri: str, ctx: RunContext, pending: PendingManifest, completed_at: str
) -> str:
    """Write the manifest (call only after all parts of the run are written); return its URI."""
    uri = Storage.join(run_uri(lake_uri, pending.stream, pending.dt, ctx.run_id), MANIFEST_NAME)
    body = json.dumps(build_manifest(ctx, pending, completed_at), indent=2, ensure_ascii=False)
    storage.write_bytes(uri, body.encode("utf-8"))
    return uri


@dataclass(frozen=True)
class BronzeRun:
    """One complete run of one ``(stream, dt)``."""

    dt: date
    run_id: str
    manifest: dict[str, Any]
    file_uris: list[str]

    @property
    def parts(self) -> list[tuple[str, dict[str, Any]]]:
        """``(uri, manifest entry)`` of each part file, in manifest order."""
        return list(zip(self.file_uris, self.manifest.get("files", []), strict=True))


def _completed_key(manifest: dict[str, Any], run_id: str) -> tuple[datetime, str]:
    raw = manifest.get("completed_at")
    if not isinstance(raw, str):
        raise ValueError(f"bronze manifest of run {run_id!r} has no completed_at")
    return parse_ts(raw), run_id


def _partition_runs(storage: Storage, lake_uri: str, stream: str, dt: date) -> list[BronzeRun]:
    """Every complete run of one ``(stream, dt)``, oldest first (``completed_at``, run_id)."""
    prefix = partition_uri(lake_uri, stream, dt)
    keyed: list[tuple[tuple[datetime, str], BronzeRun]] = []
    for uri in storage.list(prefix):
        rel = uri[len(prefix) :].strip("/")
        run_id, _, name = rel.partition("/")
        if name != MANIFEST_NAME:
            continue
        manifest = json.loads(storage.read_bytes(uri))
        if manifest.get("status") != "complete":
            continue
        if manifest.get("stream") != stream or manifest.get("dt") != dt.isoformat():
            raise ValueError(f"bronze manifest {uri} does not describe {stream} dt={dt}")
        base = uri[: -len(MANIFEST_NAME)].rstrip("/")
        files = [Storage.join(base, f["name"]) for f in manifest.get("files", [])]
        run = BronzeRun(dt=dt, run_id=run_id, manifest=manifest, file_uris=files)
        keyed.append((_completed_key(manifest, run_id), run))
    return [run for _, run in sorted(keyed, key=lambda item: item[0])]


def select_observed_runs(
    storage: Storage, lake_uri: str, stream: str, dates: Iterable[date]
) -> list[BronzeRun]:
    """Every complete run per ``(stream, dt)``: what silver reads.

    Sorted by ``dt``, then ``completed_at``, then run_id. Runs without a manifest are
    invisible; dates without any complete run are left out.
    """
    return [
        run for dt in sorted(set(dates)) for run in _partition_runs(storage, lake_uri, stream, dt)
    ]


def select_complete_runs(
    storage: Storage, lake_uri: str, stream: str, dates: Iterable[date]
) -> list[BronzeRun]:
    """Per ``(stream, dt)`` the complete run with the greatest ``completed_at`` (tie: run_id).

    Runs without a manifest are invisible; dates without any complete run are left out.
    The result is sorted by ``dt``.
    """
    latest: dict[date, BronzeRun] = {}
    for run in select_observed_runs(storage, lake_uri, stream, dates):
        latest[run.dt] = run  # oldest first, so the last one per dt wins
    return list(latest.values())


class BronzePartMismatch(ValueError):
    """A bronze part's bytes or record count differ from what its run's manifest says."""


def verified_text(uri: str, data: bytes, entry: dict[str, Any]) -> bytes:
    """The decompressed NDJSON of part ``uri`` once ``data`` matches its manifest ``entry``.

    Checks the sha256 (a changed part), that the part is whole gzip, and its record count (a
    manifest that does not describe its own part). Any failure raises
    :class:`BronzePartMismatch`, one line naming the file and what differs (expected vs
    actual), e.g. a truncated part: ``bronze part <uri>: truncated: ...``.
    """
    actual = hashlib.sha256(data).hexdigest()
    sha_differs = actual != entry["sha256"]
    try:
        text = gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:  # BadGzipFile is an OSError
        sha = f"; sha256 {actual} != manifest {entry['sha256']}" if sha_differs else ""
        raise BronzePartMismatch(
            f"bronze part {uri}: {_unreadable(exc)}; {_sizes(data, entry)}{sha}"
        ) from exc
    records = _record_count(text)
    count = f"{records} records != manifest {entry['records']}"
    if sha_differs:
        same = records == entry["records"]
        detail = f"same {records} records" if same else count
        raise BronzePartMismatch(
            f"bronze part {uri}: sha256 {actual} != manifest {entry['sha256']} ({detail})"
        )
    if records != entry["records"]:
        raise BronzePartMismatch(f"bronze part {uri}: {count}")
    return text


def _record_count(text: bytes) -> int:
    """The non-empty lines of ``text``, split as ``bytes.splitlines`` does (``\n``, ``\r\n``
    or ``\r``). Without a ``\r`` or an empty line that is the count of ``\n``, plus a last
    line without one: the common case, counted without building a million line objects."""
    if b"\r" in text or b"\n\n" in text or text.startswith(b"\n"):
        return sum(1 for line in text.splitlines() if line)
    return text.count(b"\n") + (0 if not text or text.endswith(b"\n") else 1)


def _unreadable(exc: BaseException) -> str:
    """Why gzip could not read a part: cut short, or not gzip at all."""
    if isinstance(exc, EOFError):  # "Compressed file ended before the end-of-stream marker..."
        return f"truncated: the gzip stream ends early (EOFError: {exc})"
    return f"not readable as gzip ({type(exc).__name__}: {exc})"


def _sizes(data: bytes, entry: dict[str, Any]) -> str:
    expected = entry.get("bytes")
    return f"{len(data)} bytes" + (f", manifest {expected}" if expected is not None else "")


def verified_file_uris(storage: Storage, runs: Sequence[BronzeRun]) -> list[str]:
    """The part URIs of ``runs``, each part first read and checked by :func:`verified_text`.

    Silver hands these to Spark, so it reads only parts whose bytes the manifest vouches for.
    Parts are checked in a few threads: reads wait on storage, hashing and gunzip free the GIL.
    """

    def check(part: tuple[str, dict[str, Any]]) -> None:
        uri, entry = part
        verified_text(uri, storage.read_bytes(uri), entry)

    parts = [part for run in runs for part in run.parts]
    with ThreadPoolExecutor(max_workers=VERIFY_THREADS) as pool:
        list(pool.map(check, parts))  # list() re-raises the first failure
    return [uri for uri, _ in parts]


def read_run_lines(storage: Storage, run: BronzeRun) -> Iterator[dict[str, Any]]:
    """The envelope lines of a run, each part checked by :func:`verified_text` first."""
    for uri, entry in run.parts:
        for line in verified_text(uri, storage.read_bytes(uri), entry).splitlines():
            if line:
                yield json.loads(line)
