"""Fixtures for the deployment tests: a moto server that can create the whole stack, and one
built ``dist/`` per session.

The shared ``moto_server`` fixture runs plain ``moto.server``, whose CloudFormation skips
secrets, Glue jobs/database and the Athena workgroup; here the local AWS (``wistia_awslocal``) is
started with its CloudFormation extension only (:mod:`wistia_awslocal.cfn`: moto plus those four
resource types), so a stack deployed by ``scripts/deploy.py`` creates everything the pipeline
uses, while Lambda, Glue and Athena keep moto's canned behaviour these tests were written for.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from wistia_awslocal.process import start_awslocal

REPO = Path(__file__).resolve().parents[2]


def _root_conftest():
    """tests/conftest.py as a module (its helpers; pytest's own 'conftest' name is ambiguous)."""
    spec = importlib.util.spec_from_file_location(
        "wistia_root_conftest", REPO / "tests" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_root = _root_conftest()
MotoServer = _root.MotoServer


@pytest.fixture(scope="session")
def cfn_moto() -> Iterator[MotoServer]:
    """moto server with CloudFormation support for every resource type of include/infra."""
    server = start_awslocal(extensions=["cfn"])
    try:
        yield MotoServer(server.port, server.proc)
    finally:
        server.stop()


@pytest.fixture
def cfn_aws(cfn_moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """boto3 pointed at ``cfn_moto`` from a clean state (docker-less Lambda: echoes payloads)."""
    cfn_moto.reset()
    cfn_moto.configure({"lambda": {"use_docker": False}})
    monkeypatch.setenv("AWS_ENDPOINT_URL", cfn_moto.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return cfn_moto


@pytest.fixture(scope="session")
def built_dist(tmp_path_factory: pytest.TempPathFactory):
    """``python -m wistia_dev.dist`` output, built once per session."""
    from wistia_dev.dist import build_dist

    return build_dist(tmp_path_factory.mktemp("dist") / "dist")
