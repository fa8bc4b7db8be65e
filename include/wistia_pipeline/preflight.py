"""Preflight of a run, before ``claim_day`` claims anything: do the token and the lake work?

Without it a wrong token or an unwritable lake surfaced only after the claim and the fetching,
minutes later and with the day claimed. These checks take seconds and write nothing but a
probe object they delete again.

Per target (the only difference is who holds the credentials):

- ``local``: :func:`check_token` (``GET /medias`` page 1 with the run's token, a short retry
  budget) and :func:`check_lake_writable` (write, read back and delete a probe under
  ``<lake>/_preflight/``), both in the calling process: :func:`preflight_local`.
- ``aws``: the token is in Secrets Manager and only the ingestion Lambda reads it, and the MWAA
  role may not write the lake (bronze is the Lambda's, silver and gold Glue's, ``published/``
  the publish Lambda's). So the preflight is the ingestion Lambda's ``dry_run`` invocation:
  :func:`check_via_ingestion_lambda`, given the provider's ``LambdaHook.invoke_lambda``; the
  Lambda's own role is the one that must reach Wistia and write bronze.

A failure that no retry can fix keeps its permanent cause (``WistiaAuthError``,
``ConfigError``, :class:`LakeNotWritable`, or the Lambda's ``errorType`` in the first line), so
``wistia_pipeline.errors.is_permanent`` fails the claim task at once; anything else (the API
or S3 briefly unreachable) stays transient and keeps the task's retries. Stdlib plus the
project's config, client and storage only, so the ingestion Lambda may import it too.
"""

from __future__ import annotations

import errno
import json
import re
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Protocol

from wistia_pipeline.client import RetryPolicy, WistiaClient
from wistia_pipeline.config import ConfigError, Settings
from wistia_pipeline.storage import Storage, open_storage

PROBE_PREFIX = "_preflight"
# A preflight must answer in seconds: a few quick attempts, then the task's own retries decide.
PREFLIGHT_RETRY = RetryPolicy(
    max_attempts=3, max_throttled=5, backoff_cap_s=2.0, request_deadline_s=20.0
)
PREFLIGHT_DEADLINE_S = 30.0
# OS errors that mean "this lake cannot be written by this process", not "try again later".
_PERMANENT_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST, errno.EISDIR}
)
# S3 error codes that the same request will get again.
_PERMANENT_S3_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "NoSuchBucket",
        "InvalidAccessKeyId",
        "KMS.KMSInvalidStateException",
    }
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class PreflightError(RuntimeError):
    """A preflight check failed; ``__cause__`` (or the first line) says whether for good."""


class LakeNotWritable(ConfigError):
    """The lake refuses this process's writes (permissions, read-only, not a directory)."""


class InvokeLambda(Protocol):
    """``LambdaHook.invoke_lambda`` of the Amazon provider (keyword arguments only)."""

    def __call__(
        self, *, function_name: str, invocation_type: str, payload: str
    ) -> Mapping[str, Any]: ...


def check_token(settings: Settings, client: WistiaClient | None = None) -> dict[str, Any]:
    """``GET /medias`` page 1 with the configured token; raises what the client raises.

    A missing token raises ``ConfigError`` before any request; a refused one
    ``WistiaAuthError``; an unreachable API ``WistiaRetryError`` naming the host.
    """
    if client is None:
        deadline = time.monotonic() + PREFLIGHT_DEADLINE_S
        with WistiaClient.from_settings(settings, retry=PREFLIGHT_RETRY, deadline=deadline) as own:
            return check_token(settings, own)
    page = client.get_list("/medias", {"page": 1, "per_page": 1})
    return {"token": "ok", "api_url": client.base_url, "medias_page1_records": len(page.body)}


def _s3_error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)  # botocore's ClientError, without importing it
    if isinstance(response, Mapping):
        return str(response.get("Error", {}).get("Code") or "") or None
    return None


def _permanent_lake_error(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in _PERMANENT_ERRNOS:
        return True
    return _s3_error_code(exc) in _PERMANENT_S3_CODES


def probe_uri(lake_uri: str, run_id: str) -> str:
    """A probe object's URI, unique per call (two runs' preflights never share one)."""
    name = f"{_UNSAFE.sub('_', run_id)[:80]}-{uuid.uuid4().hex[:12]}.json"
    return Storage.join(lake_uri, PROBE_PREFIX, name)


def check_lake_writable(storage: Storage, lake_uri: str, run_id: str) -> dict[str, Any]:
    """Write a probe object under the lake root, read it back and delete it.

    Raises :class:`LakeNotWritable` (permanent) when the lake refuses this process, a
    :class:`PreflightError` when the probe does not read back as written; other storage
    errors (a network or throttling hiccup) propagate unchanged, transient.
    """
    uri = probe_uri(lake_uri, run_id)
    body = json.dumps(
        {"run_id": run_id, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    ).encode()
    try:
        storage.write_bytes(uri, body, content_type="application/json")
        try:
            if storage.read_bytes(uri) != body:
                raise PreflightError(f"preflight: lake {lake_uri}: probe {uri} reads back altered")
        finally:
            storage.delete(uri)
    except Exception as exc:
        if _permanent_lake_error(exc):
            raise LakeNotWritable(
                f"lake {lake_uri} is not writable by this process: {type(exc).__name__}: {exc}"
            ) from exc
        raise
    return {"lake": "writable", "lake_uri": lake_uri}


def preflight_local(
    settings: Settings, run_id: str, storage: Storage | None = None, *, token: bool = True
) -> dict[str, Any]:
    """The local target's preflight: the token (unless ``token`` is False), then the lake."""
    found: dict[str, Any] = {}
    if token:  # first: it writes nothing, and a wrong token is the likelier mistake
        try:
            found = check_token(settings)
        except Exception as exc:
            raise PreflightError(f"preflight: Wistia token check failed: {exc}") from exc
    lake = storage or open_storage(settings.lake_uri)
    return {**found, **check_lake_writable(lake, settings.lake_uri, run_id)}


def dry_run_payload(day: date, run_id: str) -> dict[str, Any]:
    """The ingestion Lambda event of a credentials check (``lambda_handler``'s ``dry_run``)."""
    return {"logical_date": day.isoformat(), "run_id": run_id, "dry_run": True}


def _response_body(response: Mapping[str, Any]) -> Any:
    payload = response.get("Payload")
    raw = payload.read() if hasattr(payload, "read") else payload
    if not raw:
        return None
    return json.loads(raw)


def check_via_ingestion_lambda(
    invoke: InvokeLambda, function_name: str, day: date, run_id: str
) -> dict[str, Any]:
    """The aws target's preflight: the ingestion Lambda's ``dry_run``, synchronously.

    A ``FunctionError`` raises :class:`PreflightError` whose first line carries the Lambda's
    ``errorType`` (``WistiaAuthError``, ``ConfigError``...), which is what tells a permanent
    failure from a transient one once the error is text.
    """
    response = invoke(
        function_name=function_name,
        invocation_type="RequestResponse",
        payload=json.dumps(dry_run_payload(day, run_id)),
    )
    body = _response_body(response)
    if response.get("FunctionError"):
        kind = body.get("errorType", "Error") if isinstance(body, dict) else "Error"
        message = body.get("errorMessage", body) if isinstance(body, dict) else body
        first = str(message).partition("\n")[0]
        raise PreflightError(f"preflight: {function_name} dry_run failed: {kind}: {first}")
    if not isinstance(body, dict) or body.get("credentials") != "ok":
        raise PreflightError(f"preflight: {function_name} dry_run answered {body!r}")
    return {"token": "ok", "function": function_name, **{k: body[k] for k in body if k != "run_id"}}


def preflight(
    settings: Settings,
    day: date,
    run_id: str,
    *,
    invoke_lambda: InvokeLambda | None = None,
    storage: Storage | None = None,
    token: bool = True,
) -> dict[str, Any]:
    """The preflight of ``settings.target`` for the run ``run_id`` of ``day``; its findings.

    ``invoke_lambda`` (aws only, required there): ``LambdaHook(aws_conn_id=...).invoke_lambda``.
    ``storage`` (local only): the lake's storage (default: :func:`open_storage` of the lake).
    ``token=False`` (a publish-only run, which fetches nothing): no token check; on aws then
    nothing is left to check from here.
    """
    if settings.target == "local":
        return preflight_local(settings, run_id, storage, token=token)
    if settings.target == "aws":
        if not token:
            return {}
        if invoke_lambda is None:
            raise ValueError("the aws preflight needs invoke_lambda (LambdaHook.invoke_lambda)")
        return check_via_ingestion_lambda(invoke_lambda, settings.lambda_function, day, run_id)
    raise ValueError(f"unknown target {settings.target!r}: expected 'local' or 'aws'")
