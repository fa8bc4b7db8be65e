"""Write, audit, publish: readers see a run's silver and gold only after its checks passed.

Layout (docs/architecture.md, "Write, audit, publish"):

- data, immutable, one directory per job attempt (a *version*)::

      <lake>/<silver|gold>/wistia/<table>/dt=YYYY-MM-DD/v=<version>/part-*.parquet
      <lake>/<silver|gold>/wistia/<table>/v=<version>/part-*.parquet       (whole tables)

- pointers: one symlink manifest (``symlink.txt``: one data file URI per line, Athena's
  ``SymlinkTextInputFormat``) per partition, in two trees mirroring the data tree::

      <lake>/staging/<silver|gold>/wistia/<table>/dt=YYYY-MM-DD/symlink.txt
      <lake>/published/<silver|gold>/wistia/<table>/dt=YYYY-MM-DD/symlink.txt

Whole tables are staged per run (``staging/_runs/<run>/<silver|gold>/wistia/<table>/``), and
every run has a stage record ``staging/_runs/<run>/_stage.json`` with its window and the exact
file list of each manifest it staged.

The published tables (Athena database ``<db>``, the local DuckDB views) read ``published/``;
the checks read the window's staged partitions (database ``<db>_staging``). The silver job opens
the stage, the silver and gold jobs stage what they write, and :func:`publish` writes the
recorded manifests over the published ones: one PUT per partition, so a reader sees a
partition's old or new rows, never a mix. Two runs never stage the same partition at once: the
run-state claim refuses runs whose windows overlap (``pipeline.conflicting_runs``); a stage whose
partitions a later run re-staged is refused at publish time instead of publishing that run's.

Stdlib + :mod:`wistia_pipeline.storage` only: the Lambda, the DAG and the Glue jobs use it.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from wistia_pipeline.storage import Storage
from wistia_pipeline.streams import GOLD_TABLES, REJECT_TABLES, SILVER_TABLES

STAGING = "staging"
PUBLISHED = "published"
MANIFEST_NAME = "symlink.txt"
STAGE_RECORD = "_stage.json"
RUNS_DIR = "_runs"  # staging/_runs/<run>/: a run's stage record and its whole tables
# Superseded versions live this long after they stop being published (a query that started
# before a publish finishes reading; a run is never older than the DAG's 6 h run timeout).
GC_GRACE = timedelta(hours=6)
STAGE_STEPS = ("silver", "gold")  # a stage is publishable once both have staged
_VERSION = re.compile(r"/v=([^/]+)/[^/]+$")
COPY_THREADS = 8


SILVER_PREFIX = "silver/wistia"
GOLD_PREFIX = "gold/wistia"


def silver_uri(lake_uri: str, table: str) -> str:
    """The data root of a silver table."""
    if table not in SILVER_TABLES:
        raise ValueError(f"unknown silver table {table!r}")
    return f"{lake_uri.rstrip('/')}/{SILVER_PREFIX}/{table}"


def rejects_uri(lake_uri: str, table: str) -> str:
    """The data root of a silver table's rejects (``silver/wistia/_rejects/<table>``)."""
    if table not in REJECT_TABLES:
        raise ValueError(f"unknown rejects table {table!r}")
    return f"{lake_uri.rstrip('/')}/{SILVER_PREFIX}/_rejects/{table}"


def gold_uri(lake_uri: str, table: str) -> str:
    """The data root of a gold table."""
    if table not in GOLD_TABLES:
        raise ValueError(f"unknown gold table {table!r}")
    return f"{lake_uri.rstrip('/')}/{GOLD_PREFIX}/{table}"


def table_uris(lake_uri: str) -> list[str]:
    """The data root of every silver, rejects and gold table."""
    return [
        *(silver_uri(lake_uri, t) for t in SILVER_TABLES),
        *(rejects_uri(lake_uri, t) for t in REJECT_TABLES),
        *(gold_uri(lake_uri, t) for t in GOLD_TABLES),
    ]


def _relative(lake_uri: str, uri: str) -> str:
    root = lake_uri.rstrip("/") + "/"
    if not uri.startswith(root):
        raise ValueError(f"{uri!r} is not under the lake {lake_uri!r}")
    return uri[len(root) :].strip("/")


def tables_root(lake_uri: str, area: str) -> str:
    """Where the Athena tables / DuckDB views of ``area`` are located (the DDL's root)."""
    if area not in (STAGING, PUBLISHED):
        raise ValueError(f"unknown area {area!r}")
    return f"{lake_uri.rstrip('/')}/{area}"


def staging_database(database: str) -> str:
    """The Athena database (local: DuckDB schema) over ``staging/``, where the checks run."""
    return f"{database}_staging"


def manifest_path(lake_uri: str, table_uri: str, day: date | None = None) -> str:
    """A manifest's path below an area: ``<layer>/wistia/<table>[/dt=D]/symlink.txt``."""
    parts = [_relative(lake_uri, table_uri)]
    if day is not None:
        parts.append(f"dt={day.isoformat()}")
    return "/".join([*parts, MANIFEST_NAME])


def manifest_uri(lake_uri: str, area: str, table_uri: str, day: date | None = None) -> str:
    """The manifest of ``table_uri`` (a data table root) in ``area``, for ``day`` or whole.

    Staged whole tables live under their run (:func:`run_root`), not here."""
    return f"{tables_root(lake_uri, area)}/{manifest_path(lake_uri, table_uri, day)}"


def safe_run(run_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
    if not safe.strip("."):
        raise ValueError(f"run_id {run_id!r} is not usable as a path segment")
    return safe


def run_root(lake_uri: str, run_id: str) -> str:
    """``staging/_runs/<run>``: the run's stage record and its staged whole tables."""
    return f"{tables_root(lake_uri, STAGING)}/{RUNS_DIR}/{safe_run(run_id)}"


_VERSION_TIME = re.compile(r"-(\d{8}T\d{6}Z)-[0-9a-f]{6}$")


def new_version(run_id: str, now: datetime | None = None) -> str:
    """A fresh data version: the run, the instant, and a nonce (two attempts never collide)."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{safe_run(run_id)}-{moment}-{secrets.token_hex(3)}"


def version_time(version: str) -> datetime | None:
    """When a version (:func:`new_version`) was written; None for a name it did not make."""
    match = _VERSION_TIME.search(version)
    if match is None:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def version_dir(table_uri: str, day: date | None, version: str) -> str:
    base = table_uri.rstrip("/")
    return f"{base}/dt={day.isoformat()}/v={version}" if day else f"{base}/v={version}"


def parse_manifest(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_manifest(storage: Storage, uri: str) -> list[str] | None:
    """The data files a manifest lists; None when there is no manifest."""
    if not storage.exists(uri):
        return None
    return parse_manifest(storage.read_bytes(uri).decode("utf-8"))


def write_manifest(storage: Storage, uri: str, files: Sequence[str]) -> None:
    body = "".join(f"{f}\n" for f in files)
    storage.write_bytes(uri, body.encode("utf-8"), content_type="text/plain")


def data_files_of(storage: Storage, directory: str) -> list[str]:
    """The Parquet files Spark wrote into ``directory`` (markers and checksums left out)."""
    return [
        uri
        for uri in storage.list(directory)
        if uri.endswith(".parquet") and not uri.rsplit("/", 1)[-1].startswith(("_", "."))
    ]


class StageError(RuntimeError):
    """A stage is missing, belongs to another run, is unfinished, or was overwritten."""


@dataclass
class StageRecord:
    """``staging/_runs/<run>/_stage.json``: whose stage, its window, and what it staged.

    ``manifests`` maps each staged manifest's path below an area (:func:`manifest_path`) to
    the data files it lists, as staged: publish writes exactly these.
    """

    run_id: str
    start: date
    end: date
    manifests: dict[str, list[str]] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    opened_at: str = ""
    published_at: str | None = None

    def to_json(self) -> bytes:
        body = {
            "run_id": self.run_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "opened_at": self.opened_at,
            "steps": self.steps,
            "published_at": self.published_at,
            "manifests": dict(sorted(self.manifests.items())),
        }
        return json.dumps(body, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> StageRecord:
        body = json.loads(data)
        return cls(
            run_id=body["run_id"],
            start=date.fromisoformat(body["start"]),
            end=date.fromisoformat(body["end"]),
            manifests={k: list(v) for k, v in body.get("manifests", {}).items()},
            steps=list(body.get("steps", [])),
            opened_at=body.get("opened_at", ""),
            published_at=body.get("published_at"),
        )


def _record_uri(lake_uri: str, run_id: str) -> str:
    return f"{run_root(lake_uri, run_id)}/{STAGE_RECORD}"


def read_stage(storage: Storage, lake_uri: str, run_id: str) -> StageRecord | None:
    uri = _record_uri(lake_uri, run_id)
    return StageRecord.from_json(storage.read_bytes(uri)) if storage.exists(uri) else None


def stages(storage: Storage, lake_uri: str) -> list[StageRecord]:
    """Every stage record in the lake, oldest opened first."""
    root = f"{tables_root(lake_uri, STAGING)}/{RUNS_DIR}/"
    records = [
        StageRecord.from_json(storage.read_bytes(uri))
        for uri in storage.list(root)
        if uri.endswith("/" + STAGE_RECORD) and uri[len(root) :].count("/") == 1
    ]
    return sorted(records, key=lambda r: r.opened_at)


@dataclass
class Stage:
    """A run's stage: where its jobs write and where its readers look first."""

    storage: Storage
    lake_uri: str
    record: StageRecord
    # The data version this job attempt writes (a fresh one per attempt: never overwritten).
    version: str = ""

    def __post_init__(self) -> None:
        if not self.version:
            self.version = new_version(self.record.run_id)

    @classmethod
    def begin(cls, storage: Storage, lake_uri: str, run_id: str, start: date, end: date) -> Stage:
        """Open this run's stage (a retry of silver starts it again from nothing)."""
        for uri in storage.list(run_root(lake_uri, run_id)):
            storage.delete(uri)
        record = StageRecord(run_id, start, end, opened_at=datetime.now(UTC).isoformat())
        stage = cls(storage, lake_uri, record)
        stage.save()
        return stage

    @classmethod
    def resume(cls, storage: Storage, lake_uri: str, run_id: str, start: date, end: date) -> Stage:
        """The open stage of this run and window (the gold job, a retry of it)."""
        record = read_stage(storage, lake_uri, run_id)
        if record is None:
            raise StageError(f"run {run_id!r} has no stage in {lake_uri}: silver has not run")
        if (record.start, record.end) != (start, end):
            raise StageError(
                f"the stage of run {run_id!r} covers [{record.start}, {record.end}], "
                f"not [{start}, {end}]"
            )
        return cls(storage, lake_uri, record)

    def save(self) -> None:
        self.storage.write_bytes(
            _record_uri(self.lake_uri, self.record.run_id), self.record.to_json()
        )

    def _staged_uri(self, path: str, partitioned: bool) -> str:
        if partitioned:
            return f"{tables_root(self.lake_uri, STAGING)}/{path}"
        return f"{run_root(self.lake_uri, self.record.run_id)}/{path}"

    def stage(self, table_uri: str, day: date | None, files: Sequence[str]) -> None:
        """Point the staged partition (or whole table) at ``files`` (empty: no rows)."""
        path = manifest_path(self.lake_uri, table_uri, day)
        write_manifest(self.storage, self._staged_uri(path, day is not None), files)
        self.record.manifests[path] = list(files)

    def finish_step(self, step: str) -> None:
        """Record that ``step`` staged everything it writes (and save the record)."""
        if step not in STAGE_STEPS:
            raise ValueError(f"unknown stage step {step!r}")
        if step not in self.record.steps:
            self.record.steps.append(step)
        self.save()

    def current_files(self, table_uri: str, day: date | None) -> list[str] | None:
        """What a reader of this run sees: its staged partition, else the published one."""
        staged = self.record.manifests.get(manifest_path(self.lake_uri, table_uri, day))
        return list(staged) if staged is not None else self.published_files(table_uri, day)

    def published_files(self, table_uri: str, day: date | None) -> list[str] | None:
        return read_manifest(self.storage, manifest_uri(self.lake_uri, PUBLISHED, table_uri, day))

    def days(self, table_uri: str) -> list[date]:
        """Days with a published partition of ``table_uri`` or one this run staged."""
        prefix = manifest_uri(self.lake_uri, PUBLISHED, table_uri).rsplit("/", 1)[0]
        found = {
            date.fromisoformat(m.group(1))
            for m in (_DAY_MANIFEST.search(uri) for uri in self.storage.list(prefix))
            if m
        }
        found |= {
            date.fromisoformat(m.group(1))
            for m in (
                _DAY_MANIFEST.search("/" + path)
                for path in self.record.manifests
                if path.startswith(_relative(self.lake_uri, table_uri) + "/dt=")
            )
            if m
        }
        return sorted(found)


_DAY_MANIFEST = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/" + re.escape(MANIFEST_NAME) + "$")


@dataclass(frozen=True)
class PublishResult:
    run_id: str
    manifests: int
    deleted_files: int


def _find_stage(
    storage: Storage, lake_uri: str, run_id: str | None, start: date, end: date
) -> StageRecord:
    if run_id is not None:
        record = read_stage(storage, lake_uri, run_id)
        if record is None or (record.start, record.end) != (start, end):
            raise StageError(f"run {run_id!r} has no stage of [{start}, {end}] to publish")
        return record
    candidates = [r for r in stages(storage, lake_uri) if (r.start, r.end) == (start, end)]
    if not candidates:
        raise StageError(f"no stage of [{start}, {end}] is left to publish in {lake_uri}")
    return candidates[-1]  # the latest opened


def _check_unchanged(storage: Storage, lake_uri: str, record: StageRecord) -> None:
    """The staged partitions still list what this run staged (what its checks read)."""
    for path, files in record.manifests.items():
        if "/dt=" not in path:
            continue  # whole tables are staged under the run itself
        now = read_manifest(storage, f"{tables_root(lake_uri, STAGING)}/{path}")
        if now != files:
            raise StageError(
                f"staging/{path} no longer holds what run {record.run_id!r} staged (a later run "
                "re-staged it): rerun the day instead of publishing this stage"
            )


def publish(
    storage: Storage, lake_uri: str, run_id: str | None, start: date, end: date
) -> PublishResult:
    """Write a stage's manifests over the published ones, then collect garbage.

    ``run_id`` None publishes the latest stage of ``[start, end]`` whoever opened it (a
    "checks and publish only" rerun of a failed day). Partitioned tables go first, whole tables
    last (dim_media then never names a day whose fact is not yet visible).
    """
    record = _find_stage(storage, lake_uri, run_id, start, end)
    missing = [s for s in STAGE_STEPS if s not in record.steps]
    if missing:
        raise StageError(f"the stage of run {record.run_id!r} lacks {missing}: nothing published")
    _check_unchanged(storage, lake_uri, record)
    ordered = sorted(record.manifests, key=lambda path: ("/dt=" not in path, path))
    deleted = 0
    for path in ordered:
        deleted += _publish_one(storage, lake_uri, path, record.manifests[path])
    record.published_at = datetime.now(UTC).isoformat()
    storage.write_bytes(_record_uri(lake_uri, record.run_id), record.to_json())
    return PublishResult(record.run_id, len(ordered), deleted)


def _publish_one(storage: Storage, lake_uri: str, path: str, files: list[str]) -> int:
    """Publish one manifest (one PUT); collect the versions of its data directory that neither
    it nor its predecessor lists and that are older than :data:`GC_GRACE`."""
    published = f"{tables_root(lake_uri, PUBLISHED)}/{path}"
    old_files = read_manifest(storage, published) or []
    write_manifest(storage, published, files)
    data_dir = f"{lake_uri.rstrip('/')}/{path.rsplit('/', 1)[0]}"
    return collect_garbage(storage, data_dir, keep=[*files, *old_files])


def _versions(files: Iterable[str]) -> set[str]:
    return {m.group(1) for m in (_VERSION.search(f) for f in files) if m}


def collect_garbage(
    storage: Storage, data_dir: str, keep: Sequence[str], now: datetime | None = None
) -> int:
    """Delete the files of ``v=`` versions directly under ``data_dir`` that ``keep`` does not
    reference and that were written more than :data:`GC_GRACE` ago (a run still staging is
    younger); returns how many. Files outside a ``v=`` directory are never touched."""
    kept = _versions(keep)
    cutoff = (now or datetime.now(UTC)) - GC_GRACE
    prefix = data_dir.rstrip("/") + "/v="
    doomed = []
    for uri in storage.list(data_dir):
        if not uri.startswith(prefix):
            continue
        version = uri[len(prefix) :].split("/", 1)[0]
        written = version_time(version)
        if version not in kept and written is not None and written < cutoff:
            doomed.append(uri)
    with ThreadPoolExecutor(max_workers=COPY_THREADS) as pool:
        list(pool.map(storage.delete, doomed))
    return len(doomed)


def published_files(storage: Storage, lake_uri: str, table_uri: str) -> list[str]:
    """Every data file the published manifests of a table list (all partitions, or whole)."""
    prefix = manifest_uri(lake_uri, PUBLISHED, table_uri).rsplit("/", 1)[0]
    return [
        f
        for uri in storage.list(prefix)
        if uri.endswith("/" + MANIFEST_NAME)
        for f in parse_manifest(storage.read_bytes(uri).decode("utf-8"))
    ]


def _partition_day(segment: str) -> date | None:
    try:
        return date.fromisoformat(segment[len("dt=") :])
    except ValueError:
        return None


def adopt_unversioned(storage: Storage, lake_uri: str) -> int:
    """Publish Parquet files written outside a ``v=`` version (a lake from before this layout,
    or one written by another tool): each partition's (or whole table's) files get a
    published manifest unless one exists. Returns the number of manifests written."""
    written = 0
    for table_uri in table_uris(lake_uri):
        groups: dict[date | None, list[str]] = {}
        prefix = table_uri.rstrip("/") + "/"
        for uri in storage.list(table_uri):
            parts = uri[len(prefix) :].split("/")
            if not uri.endswith(".parquet") or any(p.startswith(("_", ".", "v=")) for p in parts):
                continue
            day = _partition_day(parts[0]) if parts[0].startswith("dt=") else None
            if parts[0].startswith("dt=") and day is None:
                continue  # not a day: no reader could ever see it
            groups.setdefault(day, []).append(uri)
        for day, files in groups.items():
            target = manifest_uri(lake_uri, PUBLISHED, table_uri, day)
            if not storage.exists(target):
                write_manifest(storage, target, sorted(files))
                written += 1
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m wistia_pipeline.publishing adopt|stages LAKE``: operator commands."""
    import argparse

    from wistia_pipeline.storage import open_storage

    parser = argparse.ArgumentParser(prog="python -m wistia_pipeline.publishing")
    parser.add_argument("command", choices=["adopt", "stages"])
    parser.add_argument("lake", help="the lake root: a local path or s3://bucket/prefix")
    args = parser.parse_args(argv)
    storage = open_storage(args.lake)
    if args.command == "adopt":
        print(f"published {adopt_unversioned(storage, args.lake)} manifest(s)")
        return 0
    for record in stages(storage, args.lake):
        state = f"published {record.published_at}" if record.published_at else "unpublished"
        steps = ",".join(record.steps) or "-"
        print(f"{record.run_id}\t[{record.start}, {record.end}]\tsteps {steps}\t{state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
