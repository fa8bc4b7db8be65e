"""The preflight before the claim: a wrong token or an unwritable lake fails in seconds, as a
permanent error; an unreachable API stays transient. Real simulator over HTTP, real files."""

from __future__ import annotations

import dataclasses
import io
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from wistia_pipeline import lambda_handler
from wistia_pipeline.config import ConfigError, Settings, load_settings
from wistia_pipeline.errors import WistiaAuthError, is_permanent, permanent_error_name
from wistia_pipeline.preflight import (
    PROBE_PREFIX,
    LakeNotWritable,
    PreflightError,
    check_lake_writable,
    check_via_ingestion_lambda,
    preflight,
)
from wistia_pipeline.storage import LocalStorage
from wistia_simulator.process import free_port

D = date(2026, 3, 5)
WRONG = "wrong-token-5e1f"


@pytest.fixture
def sim(simulator_factory):
    """A small simulator (tests/conftest.py's factory: stopped after the test)."""
    return simulator_factory(
        start_date="2026-03-01", end_date="2026-03-06", media_count=2, events_per_day=5
    )


def settings_for(tmp_path: Path, api_url: str, token: str | None) -> Settings:
    env = {
        "WISTIA_TARGET": "local",
        "WISTIA_STATE_DIR": str(tmp_path / "state"),
        "WISTIA_LAKE_URI": str(tmp_path / "lake"),
        "WISTIA_API_URL": api_url,
    }
    if token is not None:
        env["WISTIA_API_TOKEN"] = token
    return load_settings(env)


def test_a_working_token_and_lake_pass_and_leave_no_probe(sim, tmp_path) -> None:
    found = preflight(settings_for(tmp_path, sim.url, sim.token), D, "manual__r1")
    assert found["token"] == "ok" and found["lake"] == "writable"
    assert found["medias_page1_records"] == 1
    probes = tmp_path / "lake" / PROBE_PREFIX
    assert probes.is_dir() and not any(probes.iterdir())  # written, then deleted


def test_a_wrong_token_fails_at_once_as_permanent(sim, tmp_path) -> None:
    started = time.monotonic()
    with pytest.raises(PreflightError) as info:
        preflight(settings_for(tmp_path, sim.url, WRONG), D, "manual__r1")
    assert time.monotonic() - started < 5
    assert isinstance(info.value.__cause__, WistiaAuthError)
    assert permanent_error_name(info.value) == "WistiaAuthError"
    assert WRONG not in str(info.value)
    assert not (tmp_path / "lake").exists()  # the token is checked first: nothing written


def test_a_missing_token_is_a_permanent_config_error(tmp_path) -> None:
    with pytest.raises(PreflightError) as info:
        preflight(settings_for(tmp_path, "http://127.0.0.1:9/modern", None), D, "r")
    assert isinstance(info.value.__cause__, ConfigError)
    assert is_permanent(info.value)


def test_an_unreachable_api_is_transient_and_names_the_host(tmp_path) -> None:
    host = f"127.0.0.1:{free_port()}"
    url = f"http://{host}/modern"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(PreflightError) as info:
        preflight(settings_for(tmp_path, url, "t"), D, "r")
    assert time.monotonic() - started < 35  # the preflight's own short budget
    assert not is_permanent(info.value)  # the claim task keeps its retries
    assert f"ConnectionError reaching {host}: " in str(info.value)  # the host and the cause
    assert "Connection refused" in str(info.value)


def test_a_lake_path_blocked_by_a_file_is_not_writable(sim, tmp_path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the lake's directory should be\n")
    lake = str(blocker / "lake")
    with pytest.raises(LakeNotWritable) as info:
        check_lake_writable(LocalStorage(), lake, "r")
    assert lake in str(info.value) and is_permanent(info.value)
    # Through preflight(): the token passes first, then the lake fails the same way.
    settings = settings_for(tmp_path, sim.url, sim.token)
    blocked = dataclasses.replace(settings, lake_uri=lake)
    with pytest.raises(LakeNotWritable):
        preflight(blocked, D, "r")


class FailingStorage(LocalStorage):
    """A lake whose writes fail with ``error`` (what S3 answers is not reproducible locally)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def write_bytes(self, uri: str, data: bytes, content_type: str | None = None) -> None:
        raise self.error


def test_s3_access_denied_is_permanent_and_throttling_is_not(tmp_path) -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")
    with pytest.raises(LakeNotWritable) as info:
        check_lake_writable(FailingStorage(denied), "s3://lake-bucket/x", "r")
    assert "s3://lake-bucket/x" in str(info.value) and is_permanent(info.value)
    slow = ClientError({"Error": {"Code": "SlowDown", "Message": "later"}}, "PutObject")
    with pytest.raises(ClientError) as raw:
        check_lake_writable(FailingStorage(slow), "s3://lake-bucket/x", "r")
    assert not is_permanent(raw.value)


def lambda_in_process(**call: Any) -> dict[str, Any]:
    """``LambdaHook.invoke_lambda`` answered the way Lambda answers: the real handler, an
    exception turned into a ``FunctionError`` payload."""
    try:
        body: Any = lambda_handler.handler(json.loads(call["payload"]), None)
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(body).encode())}
    except Exception as exc:
        error = {"errorMessage": str(exc), "errorType": type(exc).__name__}
        payload = io.BytesIO(json.dumps(error).encode())
        return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": payload}


def test_on_aws_the_ingestion_lambdas_dry_run_is_the_preflight(sim, monkeypatch) -> None:
    monkeypatch.setenv("WISTIA_API_URL", sim.url)
    monkeypatch.setenv("WISTIA_API_TOKEN", sim.token)
    found = check_via_ingestion_lambda(lambda_in_process, "wistia-ingest", D, "scheduled__x")
    assert found["token"] == "ok" and found["dry_run"] is True
    monkeypatch.setenv("WISTIA_API_TOKEN", WRONG)
    with pytest.raises(PreflightError) as info:
        check_via_ingestion_lambda(lambda_in_process, "wistia-ingest", D, "scheduled__x")
    assert str(info.value).startswith("preflight: wistia-ingest dry_run failed: WistiaAuthError")
    assert permanent_error_name(info.value) == "WistiaAuthError" and WRONG not in str(info.value)


def test_a_publish_only_run_checks_the_lake_only(tmp_path) -> None:
    # A publish-only run fetches nothing: neither a wrong token nor a dead API may stop it.
    local = settings_for(tmp_path, f"http://127.0.0.1:{free_port()}/modern", WRONG)
    assert preflight(local, D, "r", token=False) == {
        "lake": "writable",
        "lake_uri": local.lake_uri,
    }
    aws = dataclasses.replace(local, target="aws")
    assert preflight(aws, D, "r", token=False) == {}  # the MWAA role may not write the lake
    with pytest.raises(ValueError, match="invoke_lambda"):
        preflight(aws, D, "r")
