"""Write, audit, publish (wistia_pipeline.publishing) on a local lake, without Spark: stages,
publishing, refusals, garbage collection, adoption of an unversioned lake, the Lambda entry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from wistia_pipeline import publish_handler
from wistia_pipeline.publishing import (
    GC_GRACE,
    PUBLISHED,
    STAGING,
    Stage,
    StageError,
    adopt_unversioned,
    collect_garbage,
    gold_uri,
    main,
    manifest_uri,
    new_version,
    publish,
    published_files,
    read_manifest,
    read_stage,
    silver_uri,
    version_dir,
    version_time,
)
from wistia_pipeline.storage import LocalStorage

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)
STORAGE = LocalStorage()


def write_version(table: str, day: date | None, version: str, name: str = "part-0") -> str:
    """A fake Parquet file in a version directory; its path."""
    path = Path(version_dir(table, day, version)) / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PAR1")
    return str(path)


def staged_run(lake: str, run_id: str, start: date, end: date, tag: str) -> Stage:
    """A run whose silver and gold staged ``fact_media_daily`` for each day and dim_media."""
    stage = Stage.begin(STORAGE, lake, run_id, start, end)
    fact, dim = gold_uri(lake, "fact_media_daily"), gold_uri(lake, "dim_media")
    stage.finish_step("silver")
    day = start
    while day <= end:
        stage.stage(fact, day, [write_version(fact, day, stage.version, tag)])
        day += timedelta(days=1)
    stage.stage(dim, None, [write_version(dim, None, stage.version, tag)])
    stage.finish_step("gold")
    return stage


def test_nothing_is_visible_until_publish_then_exactly_the_stage(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    fact = gold_uri(lake, "fact_media_daily")
    stage = staged_run(lake, "run-a", D1, D2, "a")
    assert published_files(STORAGE, lake, fact) == []  # staged only
    staged = read_manifest(STORAGE, manifest_uri(lake, STAGING, fact, D1))
    assert staged and stage.current_files(fact, D1) == staged
    assert stage.published_files(fact, D1) is None

    result = publish(STORAGE, lake, "run-a", D1, D2)
    assert (result.run_id, result.manifests) == ("run-a", 3)  # two days and dim_media
    assert read_manifest(STORAGE, manifest_uri(lake, PUBLISHED, fact, D1)) == staged
    assert len(published_files(STORAGE, lake, gold_uri(lake, "dim_media"))) == 1
    assert read_stage(STORAGE, lake, "run-a").published_at is not None


def test_publish_refuses_what_it_must_not_publish(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    with pytest.raises(StageError, match="has no stage"):
        publish(STORAGE, lake, "run-a", D1, D2)
    unfinished = Stage.begin(STORAGE, lake, "run-a", D1, D2)
    unfinished.finish_step("silver")
    with pytest.raises(StageError, match=r"lacks \['gold'\]"):
        publish(STORAGE, lake, "run-a", D1, D2)
    with pytest.raises(StageError, match="covers"):
        Stage.resume(STORAGE, lake, "run-a", D1, D3)
    staged_run(lake, "run-b", D1, D2, "b")
    with pytest.raises(StageError, match="has no stage"):
        publish(STORAGE, lake, "run-b", D2, D3)  # another window
    assert publish(STORAGE, lake, None, D1, D2).run_id == "run-b"  # the latest stage of it


def test_a_stage_restaged_by_a_later_run_is_refused(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    staged_run(lake, "run-a", D1, D2, "a")  # failed its checks, say
    staged_run(lake, "run-b", D2, D3, "b")  # overlaps D2 afterwards
    with pytest.raises(StageError, match="re-staged"):
        publish(STORAGE, lake, "run-a", D1, D2)
    assert published_files(STORAGE, lake, gold_uri(lake, "fact_media_daily")) == []
    publish(STORAGE, lake, "run-b", D2, D3)


def test_garbage_is_old_unreferenced_versions_only(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    fact = gold_uri(lake, "fact_media_daily")
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    old = new_version("old", now - GC_GRACE - timedelta(minutes=1))
    older = new_version("older", now - GC_GRACE * 2)
    young = new_version("young", now - timedelta(minutes=5))
    files = {v: write_version(fact, D1, v) for v in (old, older, young)}
    legacy = Path(fact) / "dt=2026-03-01" / "part-legacy.parquet"
    legacy.write_bytes(b"PAR1")
    data_dir = f"{fact}/dt=2026-03-01"
    assert version_time(old) is not None and version_time("not-a-version") is None
    deleted = collect_garbage(STORAGE, data_dir, keep=[files[old]], now=now)
    assert deleted == 1 and not Path(files[older]).exists()
    assert Path(files[old]).exists() and Path(files[young]).exists() and legacy.exists()


def test_adopt_publishes_a_lake_written_before_manifests(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    events = Path(silver_uri(str(lake), "events"))
    for rel in ("dt=2026-03-01/a.parquet", "dt=2026-03-01/b.parquet", "dt=junk/c.parquet"):
        (events / rel).parent.mkdir(parents=True, exist_ok=True)
        (events / rel).write_bytes(b"PAR1")
    (events / "_temporary" / "0").mkdir(parents=True)
    (events / "_temporary" / "0" / "d.parquet").write_bytes(b"PAR1")
    dim = Path(gold_uri(str(lake), "dim_media"))
    dim.mkdir(parents=True)
    (dim / "part-0.parquet").write_bytes(b"PAR1")
    assert adopt_unversioned(STORAGE, str(lake)) == 2
    assert [Path(f).name for f in published_files(STORAGE, str(lake), str(events))] == [
        "a.parquet",
        "b.parquet",
    ]
    assert adopt_unversioned(STORAGE, str(lake)) == 0  # existing manifests are kept
    assert main(["adopt", str(lake)]) == 0


def test_publish_lambda_and_stages_command(tmp_path, monkeypatch, capsys) -> None:
    lake = str(tmp_path / "lake")
    monkeypatch.setenv("WISTIA_LAKE_URI", lake)
    staged_run(lake, "run-a", D1, D1, "a")
    with pytest.raises(ValueError, match="start_date"):
        publish_handler.handler({"end_date": "2026-03-01", "run_id": "run-a"}, None)
    with pytest.raises(ValueError, match="any_run"):
        event = {"start_date": "2026-03-01", "end_date": "2026-03-01", "run_id": "x"}
        publish_handler.handler({**event, "any_run": "yes"}, None)
    out = publish_handler.handler(
        {"start_date": "2026-03-01", "end_date": "2026-03-01", "run_id": "run-a"}, None
    )
    assert (out["run_id"], out["manifests"], out["start"]) == ("run-a", 2, "2026-03-01")
    assert main(["stages", lake]) == 0
    assert (
        "run-a\t[2026-03-01, 2026-03-01]\tsteps silver,gold\tpublished" in capsys.readouterr().out
    )
