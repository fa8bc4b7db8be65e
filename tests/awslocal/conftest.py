"""One local AWS server per test module, and boto3 pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from wistia_awslocal.process import AwsLocal, start_awslocal


@pytest.fixture(scope="module")
def awslocal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsLocal]:
    """``python -m wistia_awslocal`` on a free port for this module (log under tmp)."""
    log = Path(tmp_path_factory.mktemp("awslocal")) / "server.log"
    server = start_awslocal(log_path=log, env={"WISTIA_AWSLOCAL_GLUE_MINUTE_SECONDS": "3"})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws(awslocal: AwsLocal, monkeypatch: pytest.MonkeyPatch) -> AwsLocal:
    """boto3 in this process pointed at ``awslocal``, with no fault knobs set."""
    for name, value in awslocal.client_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    awslocal.set_faults({})
    return awslocal
