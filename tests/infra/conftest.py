"""Fixtures for the deployment tests: one built ``dist/`` per session.

``test_deploy.py`` starts the local AWS (``wistia_awslocal``) itself; the aws-target DAG and the
Step Functions twin on a deployed stack run in ``tests/e2e/test_aws_emulated.py``.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def built_dist(tmp_path_factory: pytest.TempPathFactory):
    """``python -m wistia_dev.dist`` output, built once per session."""
    from wistia_dev.dist import build_dist

    return build_dist(tmp_path_factory.mktemp("dist") / "dist")
