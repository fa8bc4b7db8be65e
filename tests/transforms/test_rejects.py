"""Rejects point at their bronze line: file URI and 1-based line, hashed identifiers, no text."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import json
import unicodedata
from pathlib import Path

import duckdb
from pyspark.sql import functions as F
from transform_helpers import published_table, run_in_process

from wistia_pipeline import bronze
from wistia_pipeline.storage import open_storage
from wistia_pipeline.transforms import lake_io
from wistia_pipeline.transforms.envelope import line_numbers
from wistia_pipeline.transforms.schemas import REJECT_COLUMNS

KEY = "rejects-test-pii-key-81f"  # a test-only HMAC key
DAY = dt.date(2026, 3, 1)
EMAIL = "Zoë.Bäcker@Exämple.com"  # the local part defeats an ASCII e-mail pattern
NAME = "Zoë Bäcker"
IP = "198.51.100.77"


def test_bronze_lines_are_numbered_within_each_part(spark, tmp_path: Path) -> None:
    """``line`` is the 1-based line of the part (an empty line counts: it is a row, rejected
    as unparseable), whichever task reads it and however many parts a task reads; and
    ``source_file`` is the part's URI as the lake names it, even with odd characters."""
    folder = tmp_path / "la ke+ë%20" / "r1"
    folder.mkdir(parents=True)
    parts = {
        "part-00000.ndjson.gz": ["a", "b", "", "c"],
        "part-00001.ndjson.gz": ["d", "e"],
        "part-00002.ndjson.gz": [f"f{i}" for i in range(3000)],
    }
    for name, lines in parts.items():
        (folder / name).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    uris = [str(folder / name) for name in parts]

    read = lake_io.read_bronze_lines(spark, uris).select(
        "value", F.col("source_file").alias("_source_file"), F.col("row_id").alias("_row_id")
    )
    got = line_numbers(read.repartition(3), read).collect()  # any order, any partitioning

    want = [(uri, n, v) for uri, lines in zip(uris, parts.values()) for n, v in enumerate(lines, 1)]
    assert sorted((r["_source_file"], r["line"], r["value"]) for r in got) == sorted(want)


def _hmac(text: str) -> str:
    return hmac.new(KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def _write_run(lake: Path, stream: str, records: list[dict]) -> None:
    """A complete bronze run of DAY, 4 records per part, so lines restart in every part."""
    storage = open_storage(str(lake))
    at = "2026-03-02T00:00:00Z"
    ctx = bronze.RunContext("r1", DAY, DAY, DAY, "2026-03", at)
    lines = [
        bronze.envelope(ctx, stream, DAY, rec, fetched_at=at, request_path="/x") for rec in records
    ]
    files = bronze.write_parts(storage, str(lake), stream, DAY, "r1", lines, records_per_part=4)
    pending = bronze.PendingManifest(stream, DAY, files, 1, 1)
    bronze.write_manifest(storage, str(lake), ctx, pending, at)


def _bronze_record(lake: Path, source_file: str, line: int) -> dict:
    text = gzip.decompress(open_storage(str(lake)).read_bytes(source_file)).decode("utf-8")
    return json.loads(text.splitlines()[line - 1])["record"]


def _leaks(lake: Path) -> list[str]:
    """Every form of the rejected identity found in any silver or gold Parquet file."""
    forms = {EMAIL, EMAIL.lower(), NAME, "Bäcker", "bäcker", IP}
    forms |= {unicodedata.normalize("NFD", f) for f in forms}
    files = sorted((lake / "silver").rglob("*.parquet")) + sorted(
        (lake / "gold").rglob("*.parquet")
    )
    assert files
    found = []
    con = duckdb.connect()
    for f in files:
        data = f.read_bytes()
        cells = " ".join(str(c) for row in con.execute(f"FROM '{f}'").fetchall() for c in row)
        found += [f"{f}: {form}" for form in forms if form in cells or form.encode() in data]
    return found


def test_reject_names_its_bronze_line_and_no_pii_reaches_silver(spark, tmp_path, monkeypatch):
    monkeypatch.setenv("WISTIA_PII_HASH_KEY", KEY)
    lake = tmp_path / "lake"
    good = [
        {"event_key": f"k{i}", "received_at": "2026-03-01T10:00:00Z", "media_id": "m1"}
        for i in range(8)
    ]
    bad = {
        "event_key": "bad",
        "received_at": "not a time",
        "media_id": "m1",
        "ip": IP,
        "email": EMAIL,
        "note": f"forwarded by {EMAIL}",  # a field silver does not know: kept only in bronze
    }
    _write_run(lake, "events", [*good[:6], bad, *good[6:]])  # the 3rd line of part 2
    visitor = {"visitor_key": "", "visitor_identity": {"name": NAME, "email": EMAIL}}
    _write_run(lake, "visitors", [{"visitor_key": "v1"}, visitor])

    run_in_process(lake, DAY, DAY, max_reject_share="0.5")

    (event_reject,) = published_table(lake, "silver/wistia/_rejects/events", order="line")
    assert tuple(event_reject) == REJECT_COLUMNS
    assert event_reject["source_file"].endswith("/dt=2026-03-01/r1/part-00001.ndjson.gz")
    assert (event_reject["reason"], event_reject["line"], event_reject["_run_id"]) == (
        "bad_received_at",
        3,
        "r1",
    )
    assert _bronze_record(lake, event_reject["source_file"], event_reject["line"]) == bad
    assert (event_reject["ip_hash"], event_reject["email_hash"]) == (
        _hmac(IP),
        _hmac(EMAIL.lower()),
    )

    (visitor_reject,) = published_table(lake, "silver/wistia/_rejects/visitors", order="line")
    assert visitor_reject["reason"] == "missing_visitor_key"
    assert _bronze_record(lake, visitor_reject["source_file"], visitor_reject["line"]) == visitor
    assert (visitor_reject["ip_hash"], visitor_reject["email_hash"]) == (None, _hmac(EMAIL.lower()))
    assert _leaks(lake) == []
