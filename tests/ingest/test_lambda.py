"""The Lambda handler: event validation, dry run, and the BUILT ZIP run against the simulator
and an s3:// lake on the moto server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import boto3
import pytest

from wistia_dev.lambda_zip import HANDLER, build_lambda_zip, locked_versions
from wistia_pipeline import bronze
from wistia_pipeline.dates import days_between
from wistia_pipeline.lambda_handler import handler, parse_event
from wistia_pipeline.storage import open_storage
from wistia_pipeline.streams import ALL_STREAMS

REPO = Path(__file__).resolve().parents[2]
SIM_DATA = {"seed": 11, "start_date": "2026-02-25", "end_date": "2026-03-08"}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "JSON object"),
        ({"run_id": "r"}, "logical_date"),
        ({"logical_date": "2026-3-5", "run_id": "r"}, "YYYY-MM-DD"),
        ({"logical_date": "2026-02-30", "run_id": "r"}, "YYYY-MM-DD"),
        ({"logical_date": "2026-03-05"}, "run_id"),
        ({"logical_date": "2026-03-05", "run_id": "r", "lookback_days": -1}, "lookback_days"),
        ({"logical_date": "2026-03-05", "run_id": "r", "lookback_days": "2"}, "lookback_days"),
        ({"logical_date": "2026-03-05", "run_id": "r", "streams": ["nope"]}, "streams"),
        ({"logical_date": "2026-03-05", "run_id": "r", "streams": []}, "streams"),
        ({"logical_date": "2026-03-05", "run_id": "r", "dry_run": "yes"}, "dry_run"),
        ({"logical_date": "2026-03-05", "run_id": "r", "extra": 1}, "unknown event field"),
    ],
)
def test_bad_events_raise_value_error(event, message):
    with pytest.raises(ValueError, match=message):
        parse_event(event)


def test_event_defaults():
    args = parse_event({"logical_date": "2026-03-05", "run_id": "r"})
    assert args["streams"] == list(ALL_STREAMS)
    assert args["lookback_days"] is None  # resolved from settings by the handler
    assert args["dry_run"] is False and args["logical_date"] == date(2026, 3, 5)


def _sim_env(monkeypatch, sim, lake: str) -> None:
    monkeypatch.setenv("WISTIA_API_URL", sim.url)
    monkeypatch.setenv("WISTIA_API_TOKEN", sim.token)
    monkeypatch.setenv("WISTIA_LAKE_URI", lake)
    monkeypatch.setenv("WISTIA_RATE_LIMIT_PER_MINUTE", "60000")
    monkeypatch.delenv("WISTIA_SECRET_ID", raising=False)


class FakeContext:
    def get_remaining_time_in_millis(self) -> int:
        return 120_000


def test_dry_run_checks_credentials_and_writes_nothing(simulator_factory, tmp_path, monkeypatch):
    sim = simulator_factory(**SIM_DATA, media_count=3, events_per_day=20, visitor_count=10)
    _sim_env(monkeypatch, sim, str(tmp_path / "lake"))
    out = handler({"logical_date": "2026-03-05", "run_id": "smoke", "dry_run": True},
                  FakeContext())  # fmt: skip
    assert out["dry_run"] is True and out["credentials"] == "ok"
    assert out["requests_total"] == 1
    assert sim.admin("GET", "requests")["by_endpoint"] == {"GET /medias": 1}
    assert not (tmp_path / "lake").exists()
    json.dumps(out)

    monkeypatch.setenv("WISTIA_API_TOKEN", "not-the-token")
    with pytest.raises(Exception, match="401"):
        handler({"logical_date": "2026-03-05", "run_id": "smoke", "dry_run": True}, None)


def test_zip_contents(tmp_path):
    out = build_lambda_zip(tmp_path / "fn.zip")
    names = zipfile.ZipFile(out).namelist()
    assert "wistia_pipeline/lambda_handler.py" in names
    assert not [n for n in names if n.startswith(("wistia_pipeline/transforms/",
                                                   "wistia_pipeline/sql/",
                                                   "wistia_pipeline/packaging/"))]  # fmt: skip
    assert not [n for n in names if n.startswith(("boto3/", "botocore/", "pyspark/"))]
    pins = locked_versions(REPO / "uv.lock")
    assert set(pins) == {"requests", "urllib3", "idna", "certifi", "charset-normalizer"}
    for name, version in pins.items():
        dist = f"{name.replace('-', '_')}-{version}.dist-info/METADATA"
        assert dist in names, f"{dist} missing: vendored version differs from uv.lock"
    # a second build reuses the cached wheels and is byte-identical
    again = build_lambda_zip(tmp_path / "fn2.zip")
    assert again.read_bytes() == out.read_bytes()


RUNNER = """
import json, sys
zip_path, site = sys.argv[1], sys.argv[2]
sys.path[:0] = [zip_path, site]
module_name, _, func = sys.argv[3].rpartition(".")
import importlib
mod = importlib.import_module(module_name)
import requests, wistia_pipeline
result = getattr(mod, func)(json.loads(sys.argv[4]), None)
print(json.dumps({
    "result": result,
    "files": {"wistia_pipeline": wistia_pipeline.__file__, "requests": requests.__file__},
    "spark_loaded": any(m.startswith("pyspark") for m in sys.modules),
}))
"""


@pytest.mark.slow
def test_handler_from_built_zip_against_simulator_and_s3(simulator_factory, aws_env, tmp_path):
    zip_path = build_lambda_zip(tmp_path / "dist" / "wistia_ingest.zip")
    sim = simulator_factory(**SIM_DATA, media_count=7, events_per_day=250, visitor_count=120,
                            fault_5xx_rate=0.05)  # fmt: skip
    boto3.client("s3").create_bucket(Bucket="wistia-lake")
    lake = "s3://wistia-lake/lake"
    site = str(Path(boto3.__file__).resolve().parents[1])
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "WISTIA_TARGET": "aws",
        "WISTIA_API_URL": sim.url,
        "WISTIA_API_TOKEN": sim.token,
        "WISTIA_LAKE_URI": lake,
        "WISTIA_STATE_DIR": str(tmp_path / "state"),
        "WISTIA_LOOKBACK_DAYS": "1",
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    event = {"logical_date": "2026-03-05", "run_id": "scheduled__2026-03-05T00:00:00+00:00"}
    proc = subprocess.run(
        [sys.executable, "-S", "-c", RUNNER, str(zip_path), site, HANDLER, json.dumps(event)],
        env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["files"]["wistia_pipeline"].startswith(str(zip_path))
    assert out["files"]["requests"].startswith(str(zip_path))
    assert out["spark_loaded"] is False
    result = out["result"]
    run_id = "scheduled__2026-03-05T00_00_00_00_00"
    assert result["run_id"] == run_id and result["window_start"] == "2026-03-04"
    window = days_between(date(2026, 3, 4), date(2026, 3, 5))
    storage = open_storage(lake)
    for stream in ("events", "media_by_date", "analytics"):
        runs = bronze.select_complete_runs(storage, lake, stream, window)
        assert [r.dt for r in runs] == window and {r.run_id for r in runs} == {run_id}
        assert sorted(result["streams"][stream]["bronze_uris"]) == sorted(
            f"{lake}/bronze/wistia/{stream}/dt={d.isoformat()}/{run_id}/_manifest.json"
            for d in window
        )
        total = sum(len(list(bronze.read_run_lines(storage, r))) for r in runs)
        assert total == result["streams"][stream]["records"] > 0
    expected_events = sim.admin(
        "GET", "dataset",
        params={"kind": "events", "start_date": "2026-03-04", "end_date": "2026-03-05"},
    )  # fmt: skip
    assert result["streams"]["events"]["records"] == len(expected_events)
    for stream in ("medias", "visitors"):
        (run,) = bronze.select_complete_runs(storage, lake, stream, [date(2026, 3, 5)])
        assert run.manifest["record_count"] == result["streams"][stream]["records"] > 0

    # a failing invocation raises (the invoker sees FunctionError) and leaves no manifest
    bad = {**event, "run_id": "bad-run", "streams": ["events"]}
    proc = subprocess.run(
        [sys.executable, "-S", "-c", RUNNER, str(zip_path), site, HANDLER, json.dumps(bad)],
        env={**env, "WISTIA_API_TOKEN": "wrong"}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0 and "WistiaAuthError" in proc.stderr
    assert not [u for u in storage.list(f"{lake}/bronze") if "/bad-run/" in u]
