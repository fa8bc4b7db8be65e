"""The two bronze corruptions of issue 12, at the function silver calls before Spark reads:
a part rewritten as valid gzip with a line dropped, and a part cut short (a truncated ``.gz``).
Both are refused naming the file, whichever part of the run is bad; the good parts alone never
pass for the run. (End to end through the DAG: ``test_crash_recovery.py``.)"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from wistia_pipeline import bronze
from wistia_pipeline.storage import open_storage

D = date(2026, 3, 5)


def landed_run(lake: str, records: int, per_part: int) -> bronze.BronzeRun:
    """A complete run of the events stream for ``D``, as ingestion writes it."""
    storage = open_storage(lake)
    ctx = bronze.RunContext(
        run_id="r1",
        logical_date=D,
        window_start=D,
        window_end=D,
        api_version="test",
        started_at="2026-03-06T00:00:00Z",
    )
    lines = [
        {"_ingest": {"run_id": "r1"}, "record": {"event_key": f"e{i}"}} for i in range(records)
    ]
    files = bronze.write_parts(storage, lake, "events", D, "r1", lines, records_per_part=per_part)
    pending = bronze.PendingManifest("events", D, files, stream_pages=1, stream_requests=1)
    bronze.write_manifest(storage, lake, ctx, pending, "2026-03-06T00:00:01Z")
    (run,) = bronze.select_complete_runs(storage, lake, "events", [D])
    return run


def shortened(data: bytes) -> bytes:
    """Valid gzip with the last line dropped (the same bytes each call: no gzip timestamp)."""
    lines = gzip.decompress(data).splitlines(keepends=True)
    return gzip.compress(b"".join(lines[:-1]), mtime=0)


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def what_differs(corrupt: Callable[[bytes], bytes], original: bytes, entry: dict) -> str:
    """The message's expected detail: expected (manifest) vs actual, computed here."""
    bad = corrupt(original)
    actual = hashlib.sha256(bad).hexdigest()
    if corrupt is truncated:
        return (
            "truncated: the gzip stream ends early (EOFError: Compressed file ended before the "
            f"end-of-stream marker was reached); {len(bad)} bytes, manifest {entry['bytes']}; "
            f"sha256 {actual} != manifest {entry['sha256']}"
        )
    return (
        f"sha256 {actual} != manifest {entry['sha256']} "
        f"({entry['records'] - 1} records != manifest {entry['records']})"
    )


@pytest.mark.parametrize("corrupt", [shortened, truncated], ids=["shortened", "truncated"])
@pytest.mark.parametrize("bad_part", [0, 2])
def test_a_corrupted_part_is_refused_naming_the_file(
    tmp_path: Path, corrupt: Callable[[bytes], bytes], bad_part: int
) -> None:
    run = landed_run(str(tmp_path / "lake"), records=12, per_part=4)
    assert len(run.file_uris) == 3
    uri, entry = run.parts[bad_part]
    part = Path(uri)
    original = part.read_bytes()
    part.write_bytes(corrupt(original))
    storage = open_storage(str(tmp_path / "lake"))
    with pytest.raises(bronze.BronzePartMismatch) as failure:
        bronze.verified_file_uris(storage, [run])
    assert str(failure.value) == f"bronze part {part}: {what_differs(corrupt, original, entry)}"
    with pytest.raises(bronze.BronzePartMismatch, match=re.escape(str(failure.value))):
        list(bronze.read_run_lines(storage, run))


def test_a_part_that_is_not_gzip_is_refused_naming_the_file(tmp_path: Path) -> None:
    run = landed_run(str(tmp_path / "lake"), records=4, per_part=4)
    (uri, entry), storage = run.parts[0], open_storage(str(tmp_path / "lake"))
    Path(uri).write_bytes(b"<html>gateway timeout</html>")
    with pytest.raises(bronze.BronzePartMismatch) as failure:
        bronze.verified_file_uris(storage, [run])
    assert str(failure.value).startswith(f"bronze part {uri}: not readable as gzip (BadGzipFile: ")
    assert f"; 28 bytes, manifest {entry['bytes']}; sha256 " in str(failure.value)


def test_a_manifest_that_miscounts_its_part_is_refused_with_both_counts(tmp_path: Path) -> None:
    """The bytes are the manifest's (same sha256) but the count is not: expected vs actual."""
    lake = str(tmp_path / "lake")
    run = landed_run(lake, records=4, per_part=4)
    manifest_path = Path(run.file_uris[0]).with_name(bronze.MANIFEST_NAME)
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][0]["records"] = 5
    manifest_path.write_text(json.dumps(manifest))
    storage = open_storage(lake)
    (run,) = bronze.select_complete_runs(storage, lake, "events", [D])
    with pytest.raises(bronze.BronzePartMismatch) as failure:
        bronze.verified_file_uris(storage, [run])
    assert str(failure.value) == f"bronze part {run.file_uris[0]}: 4 records != manifest 5"


@pytest.mark.parametrize(
    "text",
    [b"", b"a", b"a\n", b"a\nb", b"\na\n", b"a\n\nb\n", b"a\r\nb\r\n", b"a\rb", b" \n", b"a\n \n"],
)
def test_a_part_counts_its_non_empty_lines_however_they_end(text: bytes) -> None:
    """The record count a manifest must match: lines as ``splitlines`` cuts them, empty ones
    not counted; the fast path (a count of newlines) and the general one agree."""
    data = gzip.compress(text, mtime=0)
    records = sum(1 for line in text.splitlines() if line)
    entry = {"sha256": hashlib.sha256(data).hexdigest(), "records": records, "bytes": len(data)}
    assert bronze.verified_text("part", data, entry) == text
    with pytest.raises(bronze.BronzePartMismatch, match=f"{records} records != manifest"):
        bronze.verified_text("part", data, {**entry, "records": records + 1})


def test_silver_refuses_a_corrupted_part_before_spark_reads_any(tmp_path: Path, spark) -> None:
    """The job verifies parts while Spark plans; a bad part fails it before any Spark job."""
    from wistia_pipeline.transforms import jobs
    from wistia_pipeline.transforms.pii import PiiHasher

    lake = str(tmp_path / "lake")
    run = landed_run(lake, records=12, per_part=4)
    part = Path(run.file_uris[1])
    part.write_bytes(shortened(part.read_bytes()))
    context = spark.sparkContext
    context.setJobGroup("silver-with-a-bad-part", "no job may run")
    try:
        with pytest.raises(bronze.BronzePartMismatch, match=re.escape(f"bronze part {part}: ")):
            jobs.run_silver(spark, lake, [D], "r2", PiiHasher("k" * 32), 1.0)
        assert context.statusTracker().getJobIdsForGroup("silver-with-a-bad-part") == []
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)
        spark.catalog.clearCache()
    assert [p for p in (tmp_path / "lake" / "silver").rglob("*") if p.is_file()] == []
