"""Where this server listens and the environment its workers (Lambda, Glue) are given.

The server sets ``WISTIA_AWSLOCAL_ENDPOINT`` at start-up (:func:`set_endpoint`); a worker's
AWS calls go back there with fake credentials, as ``AWS_ENDPOINT_URL`` is all a client needs.
"""

from __future__ import annotations

import os

ENDPOINT_VAR = "WISTIA_AWSLOCAL_ENDPOINT"
REGION = "us-east-1"
ACCESS_KEY = "awslocal"  # fake credentials: moto accepts any
SECRET_KEY = "awslocal"  # noqa: S105 - not a secret, moto ignores it


def set_endpoint(host: str, port: int) -> str:
    """Record the URL clients reach this server at (loopback when bound to every address)."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104
    url = f"http://{reachable}:{port}"
    os.environ[ENDPOINT_VAR] = url
    os.environ.setdefault("MOTO_PORT", str(port))
    return url


def endpoint_url() -> str:
    """This server's URL (``http://127.0.0.1:$MOTO_PORT`` when not set explicitly)."""
    return os.environ.get(ENDPOINT_VAR) or f"http://127.0.0.1:{os.environ.get('MOTO_PORT', 4566)}"


def client_env(region: str = REGION) -> dict[str, str]:
    """The AWS variables that send a boto3 (or S3A) client to this server."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url(),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": "awslocal-session",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
