"""Bronze for transform tests, built with the ingestion's own envelope(): lines in memory,
or whole runs (parts + manifest) on a local lake; the Glue scripts run in this process."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from itertools import count
from pathlib import Path
from types import ModuleType

from wistia_pipeline.bronze import (
    PendingManifest,
    RunContext,
    envelope,
    write_manifest,
    write_parts,
)
from wistia_pipeline.publishing import PUBLISHED, parse_manifest, publish
from wistia_pipeline.storage import open_storage

PII_KEY = "unit-test-key-0b5e"  # a test-only HMAC key
REPO = Path(__file__).resolve().parents[2]
SILVER_SCRIPT = REPO / "glue_scripts" / "wistia_silver.py"
GOLD_SCRIPT = REPO / "glue_scripts" / "wistia_gold.py"


def make_line(
    stream: str,
    record: object,
    *,
    day: str,
    run_id: str = "run-1",
    fetched_at: str = "2026-03-05T01:00:00Z",
    media_id: str | None = None,
) -> tuple[str, str]:
    """(value, source_file) for one bronze line built with the ingestion's own envelope()."""
    d = dt.date.fromisoformat(day)
    ctx = RunContext(run_id, d, d - dt.timedelta(days=2), d, "2026-03", fetched_at)
    env = envelope(
        ctx, stream, d, record, fetched_at=fetched_at, request_path="/x", media_id=media_id
    )
    source = f"file:///lake/bronze/wistia/{stream}/dt={day}/{run_id}/part-00000.ndjson.gz"
    return json.dumps(env), source


def write_bronze_run(
    lake: Path,
    stream: str,
    day: dt.date,
    run_id: str,
    records: list[tuple[object, str | None]],
    completed_at: str,
) -> None:
    """One complete bronze run of ``(stream, day)`` on a local lake, as ingestion writes it.

    ``records`` are ``(raw record, media_id)`` (media_id for the per-media streams, else None);
    an empty list is a complete run that returned nothing, which still gets its manifest.
    """
    storage = open_storage(str(lake))
    ctx = RunContext(run_id, day, day - dt.timedelta(days=2), day, "2026-03", completed_at)
    lines = [
        envelope(ctx, stream, day, rec, fetched_at=completed_at, request_path="/x", media_id=mid)
        for rec, mid in records
    ]
    files = write_parts(storage, str(lake), stream, day, run_id, lines)
    write_manifest(storage, str(lake), ctx, PendingManifest(stream, day, files, 1, 1), completed_at)


def published_files(lake: Path, rel: str) -> list[str]:
    """The data files the published manifests of table ``rel`` (e.g. ``gold/wistia/x``) list."""
    manifests = sorted((lake / PUBLISHED / rel).rglob("symlink.txt"))
    return [f for m in manifests for f in parse_manifest(m.read_text(encoding="utf-8"))]


def published_table(lake: Path, rel: str, order: str = "dt, media_id") -> list[dict]:
    """A table as readers see it (its published manifests), rows as dicts; ``dt`` comes from
    the path, the version directory is dropped."""
    import duckdb

    files = published_files(lake, rel)
    if not files:
        return []
    listed = ", ".join(f"'{f}'" for f in files)
    con = duckdb.connect()
    cur = con.execute(
        f"SELECT * EXCLUDE (v) FROM read_parquet([{listed}], hive_partitioning = true, "
        f"union_by_name = true) ORDER BY {order}"
    )
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def publish_run(lake: Path, run_id: str, start: dt.date, end: dt.date) -> None:
    """The pipeline's publish step for a run whose silver and gold jobs have run."""
    publish(open_storage(str(lake)), str(lake), run_id, start, end)


def job_args(lake: Path, start: dt.date, end: dt.date, run_id: str = "run-1") -> dict[str, str]:
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "lake_uri": str(lake),
        "run_id": run_id,
    }


def load_script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"glue_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_RUNS = count(1)


def run_in_process(lake: Path, start: dt.date, end: dt.date, **extra: str) -> None:
    """A pipeline run's silver and gold scripts' main() in this process (the session-scoped
    local Spark), then its publish: fast reruns. Each call is a new run id."""
    run_id = f"run-{next(_RUNS)}"
    args = job_args(lake, start, end, run_id)
    argv = ["x"] + [t for k, v in {**args, **extra}.items() for t in (f"--{k}", v)]
    load_script(SILVER_SCRIPT).main(argv)
    load_script(GOLD_SCRIPT).main(["x"] + [t for k, v in args.items() for t in (f"--{k}", v)])
    publish_run(lake, run_id, start, end)
