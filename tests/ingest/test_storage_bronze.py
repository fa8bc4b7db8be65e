"""Storage (local + S3 on the moto server) and the bronze layout, manifests and run selection."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import date

import boto3
import pytest

from wistia_pipeline import bronze
from wistia_pipeline.bronze import PendingManifest, RunContext
from wistia_pipeline.storage import LocalStorage, S3Storage, open_storage, split_s3_uri

D = date(2026, 3, 5)


@pytest.fixture(params=["local", "s3"])
def lake(request, tmp_path):
    """A lake root URI on each storage kind."""
    if request.param == "local":
        return str(tmp_path / "lake")
    request.getfixturevalue("aws_env")
    boto3.client("s3").create_bucket(Bucket="lake-bucket")
    return "s3://lake-bucket/some/prefix"


def test_storage_roundtrip(lake):
    storage = open_storage(lake)
    assert isinstance(storage, S3Storage if lake.startswith("s3://") else LocalStorage)
    a = storage.join(lake, "x", "a.bin")
    b = storage.join(lake, "x/y/", "b.bin")
    assert storage.list(storage.join(lake, "x")) == []
    assert not storage.exists(a)
    storage.write_bytes(a, b"alpha")
    storage.write_bytes(b, b"beta")
    storage.write_bytes(storage.join(lake, "xz", "c.bin"), b"not under x/")
    assert storage.exists(a)
    assert storage.read_bytes(b) == b"beta"
    assert storage.list(storage.join(lake, "x")) == sorted([a, b])
    storage.delete(a)
    assert not storage.exists(a)
    assert storage.list(storage.join(lake, "x")) == [b]


def test_uri_helpers():
    assert split_s3_uri("s3://bkt/a/b") == ("bkt", "a/b")
    with pytest.raises(ValueError):
        split_s3_uri("/local/path")
    with pytest.raises(ValueError):
        open_storage("gs://bucket/x")


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("scheduled__2026-03-05T00:00:00+00:00", "scheduled__2026-03-05T00_00_00_00_00"),
        ("manual/../x", "manual_.._x"),
        ("a.b-c_D9", "a.b-c_D9"),
    ],
)
def test_safe_run_id(raw, safe):
    assert bronze.safe_run_id(raw) == safe


@pytest.mark.parametrize("bad", ["", "  ", "..", "."])
def test_safe_run_id_rejects_unusable(bad):
    with pytest.raises(ValueError):
        bronze.safe_run_id(bad)


def ctx(run_id: str) -> RunContext:
    return RunContext(run_id, D, date(2026, 3, 3), D, "2026-03", "2026-03-05T01:00:00.000Z")


def land(storage, lake, run_id, completed_at, records, *, manifest=True, dt=D, per_part=2):
    c = ctx(run_id)
    lines = [
        bronze.envelope(c, "events", dt, r, fetched_at="2026-03-05T01:00:00.000Z",
                        request_path="/stats/events?page=1")
        for r in records
    ]  # fmt: skip
    files = bronze.write_parts(storage, lake, "events", dt, run_id, lines, per_part)
    if manifest:
        pending = PendingManifest("events", dt, files, stream_pages=1, stream_requests=2)
        return bronze.write_manifest(storage, lake, c, pending, completed_at)
    return None


def test_parts_and_manifest_follow_the_contract(lake):
    storage = open_storage(lake)
    records = [{"event_key": f"k{i}", "ümlaut": "ß"} for i in range(5)]
    uri = land(storage, lake, "run1", "2026-03-05T01:02:03.000Z", records)
    base = f"{lake}/bronze/wistia/events/dt=2026-03-05/run1"
    assert uri == f"{base}/_manifest.json"
    listed = storage.list(base)
    assert listed == [f"{base}/{n}" for n in
                      ("_manifest.json", "part-00000.ndjson.gz", "part-00001.ndjson.gz",
                       "part-00002.ndjson.gz")]  # fmt: skip
    manifest = json.loads(storage.read_bytes(uri))
    assert set(manifest) == {
        "stream", "dt", "run_id", "logical_date", "window_start", "window_end", "api_version",
        "started_at", "completed_at", "record_count", "files", "stream_pages",
        "stream_requests", "status",
    }  # fmt: skip
    assert manifest["record_count"] == 5 and manifest["status"] == "complete"
    assert [f["records"] for f in manifest["files"]] == [2, 2, 1]
    for entry in manifest["files"]:
        data = storage.read_bytes(f"{base}/{entry['name']}")
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    first = json.loads(gzip.decompress(storage.read_bytes(f"{base}/part-00000.ndjson.gz"))
                       .decode().splitlines()[0])  # fmt: skip
    assert first["record"] == records[0]
    assert first["_ingest"] == {
        "run_id": "run1", "stream": "events", "dt": "2026-03-05", "logical_date": "2026-03-05",
        "window_start": "2026-03-03", "window_end": "2026-03-05",
        "fetched_at": "2026-03-05T01:00:00.000Z", "api_version": "2026-03",
        "request_path": "/stats/events?page=1",
    }  # fmt: skip


def test_select_complete_runs(lake):
    storage = open_storage(lake)
    land(storage, lake, "old", "2026-03-05T01:00:00.000Z", [{"event_key": "old"}])
    land(storage, lake, "new", "2026-03-06T01:00:00.000Z", [{"event_key": "new"}])
    # a later run without manifest (failed or still writing) is invisible
    land(storage, lake, "zzz-partial", None, [{"event_key": "p"}], manifest=False)
    # another day: a tie on completed_at is broken by the greater run_id
    other = date(2026, 3, 4)
    land(storage, lake, "a", "2026-03-06T00:00:00.000Z", [{"event_key": "a"}], dt=other)
    land(storage, lake, "b", "2026-03-06T00:00:00.000Z", [], dt=other)
    runs = bronze.select_complete_runs(storage, lake, "events", [D, other, date(2026, 3, 1)])
    assert [(r.dt, r.run_id) for r in runs] == [(other, "b"), (D, "new")]
    assert runs[0].file_uris == [] and runs[0].manifest["record_count"] == 0
    lines = list(bronze.read_run_lines(storage, runs[1]))
    assert [line["record"]["event_key"] for line in lines] == ["new"]


def landed_run(storage, lake, records):
    land(storage, lake, "r", "2026-03-05T01:00:00.000Z", records)
    (run,) = bronze.select_complete_runs(storage, lake, "events", [D])
    return run


def test_parts_matching_their_manifest_are_read_and_verified(lake):
    storage = open_storage(lake)
    run = landed_run(storage, lake, [{"event_key": f"k{i}"} for i in range(3)])
    assert bronze.verified_file_uris(storage, [run]) == run.file_uris
    assert len(run.file_uris) == 2
    assert [line["record"]["event_key"] for line in bronze.read_run_lines(storage, run)] == [
        "k0",
        "k1",
        "k2",
    ]


def test_a_changed_part_is_refused_naming_the_file(lake):
    storage = open_storage(lake)
    run = landed_run(storage, lake, [{"event_key": "x"}, {"event_key": "y"}])
    storage.write_bytes(run.file_uris[0], gzip.compress(b'{"record": 1}\n{"record": 2}\n'))
    for read in (bronze.verified_file_uris, lambda s, r: list(bronze.read_run_lines(s, r[0]))):
        with pytest.raises(bronze.BronzePartMismatch, match="sha256") as failure:
            read(storage, [run])
        assert run.file_uris[0] in str(failure.value)


def test_a_part_with_fewer_records_than_its_manifest_is_refused(tmp_path):
    """Bytes and sha256 rewritten together: only the record count gives the loss away."""
    lake = str(tmp_path)
    storage = open_storage(lake)
    run = landed_run(storage, lake, [{"event_key": "x"}, {"event_key": "y"}])
    part = run.file_uris[0]
    lines = gzip.decompress(storage.read_bytes(part)).splitlines(keepends=True)
    shorter = gzip.compress(lines[0])
    storage.write_bytes(part, shorter)
    manifest_uri = f"{part.rsplit('/', 1)[0]}/{bronze.MANIFEST_NAME}"
    manifest = json.loads(storage.read_bytes(manifest_uri))
    manifest["files"][0]["sha256"] = hashlib.sha256(shorter).hexdigest()
    storage.write_bytes(manifest_uri, json.dumps(manifest).encode())
    (run,) = bronze.select_complete_runs(storage, lake, "events", [D])
    with pytest.raises(bronze.BronzePartMismatch, match=r"1 records != manifest 2") as failure:
        bronze.verified_file_uris(storage, [run])
    assert part in str(failure.value)
