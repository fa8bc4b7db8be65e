"""Start the local AWS in a subprocess on a free port (tests, demo scripts).

with running_awslocal() as aws:
    boto3.client("s3", endpoint_url=aws.url, ...)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests

from wistia_awslocal.env import ACCESS_KEY, REGION, SECRET_KEY
from wistia_simulator.process import free_port, stop_process, wait_until_up


@dataclass
class AwsLocal:
    """A running server: its port and process."""

    port: int
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client_env(self) -> dict[str, str]:
        """The variables that point boto3 (and the AWS CLI) at this server."""
        return client_env(self.url)

    def reset(self) -> None:
        """Empty every service (moto's reset)."""
        requests.post(f"{self.url}/moto-api/reset", timeout=30).raise_for_status()

    def set_faults(self, faults: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the fault knobs (see :mod:`wistia_awslocal.faults`)."""
        resp = requests.post(f"{self.url}/_awslocal/faults", json=dict(faults), timeout=10)
        resp.raise_for_status()
        return resp.json()

    def stop(self) -> None:
        stop_process(self.proc)


def client_env(url: str) -> dict[str, str]:
    """The variables that point boto3 (and the AWS CLI) at the server at ``url``."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def start_awslocal(
    port: int | None = None,
    *,
    extensions: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    timeout: float = 60.0,
) -> AwsLocal:
    """``python -m wistia_awslocal`` on ``port`` (a free one by default), returned once healthy.

    ``extensions`` limits what is installed (default: all); ``env`` is added to this
    process's environment; output goes to ``log_path`` (discarded by default).
    """
    port = port or free_port()
    cmd = [sys.executable, "-m", "wistia_awslocal", "-H", "127.0.0.1", "-p", str(port)]
    if extensions is not None:
        cmd += ["--extensions", ",".join(extensions) or "none"]
    log: IO[bytes] | int = log_path.open("ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        cmd, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_awslocal/health", proc, timeout=timeout)
    except Exception:
        stop_process(proc)
        raise
    return AwsLocal(port, proc)


@contextmanager
def running_awslocal(**kwargs: Any) -> Iterator[AwsLocal]:
    """:func:`start_awslocal` for the duration of a ``with`` block."""
    server = start_awslocal(**kwargs)
    try:
        yield server
    finally:
        server.stop()
