"""The two bronze corruptions of issue 12, at the function silver calls before Spark reads:
a part rewritten as valid gzip with a line dropped, and a part cut short (a truncated ``.gz``).
Both are refused naming the file, whichever part of the run is bad; the good parts alone never
pass for the run. (End to end through the DAG: ``test_crash_recovery.py``.)"""

from __future__ import annotations

import gzip
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
    lines = gzip.decompress(data).splitlines(keepends=True)
    return gzip.compress(b"".join(lines[:-1]))


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.mark.parametrize("corrupt", [shortened, truncated], ids=["shortened", "truncated"])
@pytest.mark.parametrize("bad_part", [0, 2])
def test_a_corrupted_part_is_refused_naming_the_file(
    tmp_path: Path, corrupt: Callable[[bytes], bytes], bad_part: int
) -> None:
    run = landed_run(str(tmp_path / "lake"), records=12, per_part=4)
    assert len(run.file_uris) == 3
    part = Path(run.file_uris[bad_part])
    part.write_bytes(corrupt(part.read_bytes()))
    storage = open_storage(str(tmp_path / "lake"))
    with pytest.raises(bronze.BronzePartMismatch) as failure:
        bronze.verified_file_uris(storage, [run])
    message = str(failure.value)
    assert message.startswith(f"bronze part {part}: ") and "\n" not in message
    with pytest.raises(bronze.BronzePartMismatch, match=str(part)):
        list(bronze.read_run_lines(storage, run))
