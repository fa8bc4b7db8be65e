"""Lambda ``Invoke`` runs the function's deployed zip in a sandbox process.

moto 5.2.5 invokes through ``LambdaFunction.invoke`` -> ``_invoke_lambda``, which starts a
Docker container (``lambda.use_docker``, the default) or, with ``use_docker: False``, the
``awslambda_simple`` backend answers with canned payloads. :func:`install` replaces both methods
of the Docker path: the zip moto stored (``code_bytes``) is unpacked once per code hash and run
by :mod:`.lambda_runtime` under ``python -I -S``, whose ``sys.path`` is the standard library,
the unpacked zip (first) and a *runtime dir* (last) holding only what the Lambda Python runtime
provides: symlinks to boto3, botocore, s3transfer, jmespath, dateutil, urllib3 and six from this
venv (nothing else of the venv is importable, so a dependency missing from the zip fails as on
AWS). The process gets the function's Environment, AWS's reserved variables, fake credentials
and ``AWS_ENDPOINT_URL`` pointing back at this server, in its own process group; past the
function's Timeout it is killed. ``use_docker: False`` still selects moto's canned backend.

Not emulated: layers, container images, async retries/destinations, concurrency limits.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import logging
import math
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction

from wistia_awslocal import faults, procs
from wistia_awslocal.env import client_env

log = logging.getLogger(__name__)

RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
INIT_TIMEOUT_SECONDS = 10.0  # AWS's limit for the init phase of an on-demand function
LOG_RESULT_BYTES = 4096  # x-amz-log-result carries the last 4 KB of the log
_RUNTIME_SCRIPT = Path(__file__).with_name("lambda_runtime.py")
_root_lock = threading.Lock()
_root: Path | None = None


@dataclass(frozen=True)
class Invocation:
    """One synchronous invocation's outcome."""

    request_id: str
    payload: bytes
    function_error: str | None  # "Unhandled" or None
    logs: str


def _work_root() -> Path:
    """This process's scratch dir: unpacked code, the runtime dir, invocation dirs."""
    global _root
    with _root_lock:
        if _root is None:
            _root = Path(tempfile.mkdtemp(prefix="wistia-awslocal-lambda-"))
        return _root


def runtime_dir() -> Path:
    """A dir holding (symlinks to) only the libraries the Lambda Python runtime ships."""
    target = _work_root() / "runtime"
    with _root_lock:
        if not target.is_dir():
            staging = Path(tempfile.mkdtemp(dir=target.parent))
            for name in RUNTIME_MODULES:
                spec = importlib.util.find_spec(name)
                if spec is None or spec.origin is None:
                    raise RuntimeError(f"the Lambda runtime's {name} is not installed")
                origin = Path(spec.origin)
                source = origin.parent if origin.name == "__init__.py" else origin
                (staging / source.name).symlink_to(source)
            staging.rename(target)
    return target


def unpacked_code(fn: LambdaFunction) -> Path:
    """The function's deployed zip, unpacked once per code hash (``/var/task``)."""
    if getattr(fn, "package_type", "Zip") != "Zip" or not fn.code_bytes:
        raise LambdaClientError(
            "InvalidParameterValueException", "awslocal runs functions deployed as a .zip only"
        )
    digest = hashlib.sha256(fn.code_bytes).hexdigest()[:24]
    target = _work_root() / "code" / digest
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(dir=_work_root()))
        # zipfile.extractall drops absolute paths and ".." components (no zip-slip).
        zipfile.ZipFile(io.BytesIO(fn.code_bytes)).extractall(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            staging.rename(target)
        except OSError:  # another invocation unpacked the same code first
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _sandbox_env(fn: LambdaFunction, home: Path, stream: str) -> dict[str, str]:
    """The function's Environment, then the variables the Lambda service sets."""
    env = {str(k): str(v) for k, v in (fn.environment_vars or {}).items()}
    env.update(client_env(fn.region))
    env.update(
        {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "HOME": str(home),
            "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
            "PYTHONUNBUFFERED": "1",
            "_HANDLER": str(fn.handler),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "LAMBDA_TASK_ROOT": str(unpacked_code(fn)),
            "LAMBDA_RUNTIME_DIR": str(runtime_dir()),
        }
    )
    return env


def _request(fn: LambdaFunction, event: str, request_id: str, work: Path, stream: str) -> Path:
    """Write the runtime's request file; return its path."""
    context = {
        "function_name": fn.function_name,
        "function_version": str(fn.version),
        "invoked_function_arn": fn.function_arn,
        "memory_limit_in_mb": fn.memory_size,
        "aws_request_id": request_id,
        "log_group_name": fn.logs_group_name,
        "log_stream_name": stream,
    }
    request = {
        "handler": fn.handler,
        "event": event,
        "timeout": float(fn.timeout),
        "context": context,
        "task_root": str(unpacked_code(fn)),
        "runtime_paths": [str(runtime_dir())],
        "result_path": str(work / "result.json"),
        "fault": faults.lambda_fault(fn.function_name),
    }
    path = work / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    return path


def _run_sandbox(fn: LambdaFunction, request: Path, env: dict[str, str], work: Path) -> bool:
    """Run the runtime; False when it ran past the function's timeout (and was killed)."""
    ready_r, ready_w = os.pipe()
    try:
        cmd = [sys.executable, "-I", "-S", str(_RUNTIME_SCRIPT), str(request), str(ready_w)]
        proc = procs.spawn(cmd, env, Path(env["LAMBDA_TASK_ROOT"]), work / "output.log",
                           pass_fds=(ready_w,))  # fmt: skip
    finally:
        os.close(ready_w)
    try:
        select.select([ready_r], [], [], INIT_TIMEOUT_SECONDS)  # init, then the invoke phase
    finally:
        os.close(ready_r)
    try:
        proc.wait(timeout=float(fn.timeout))
    except subprocess.TimeoutExpired:
        procs.kill_group(proc)
        return False
    procs.forget(proc)
    return True


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _outcome(fn: LambdaFunction, work: Path, request_id: str, in_time: bool) -> dict[str, Any]:
    """The runtime's result, or the service's error when it timed out or crashed."""
    if not in_time:
        message = (
            f"{_timestamp()} {request_id} Task timed out after {float(fn.timeout):.2f} seconds"
        )
        return {"error": {"errorMessage": message}, "log": message}
    result = work / "result.json"
    if result.is_file():
        return json.loads(result.read_text(encoding="utf-8"))
    message = f"RequestId: {request_id} Error: Runtime exited without providing a reason"
    return {"error": {"errorType": "Runtime.ExitError", "errorMessage": message}, "log": message}


def invoke_function(fn: LambdaFunction, event: str, request_id: str | None = None) -> Invocation:
    """Run one invocation of ``fn`` with ``event`` (JSON text) to completion or timeout."""
    request_id = request_id or str(uuid.uuid4())
    work = Path(tempfile.mkdtemp(prefix="invoke-", dir=_work_root()))
    stream = f"{datetime.now(UTC):%Y/%m/%d}/[{fn.version}]{uuid.uuid4().hex}"
    env = _sandbox_env(fn, work, stream)
    request = _request(fn, event, request_id, work, stream)
    started = time.monotonic()
    in_time = _run_sandbox(fn, request, env, work)
    duration_ms = (time.monotonic() - started) * 1000
    outcome = _outcome(fn, work, request_id, in_time)
    output = (work / "output.log").read_text(encoding="utf-8", errors="replace")
    logs = _log_text(fn, request_id, output, outcome.get("log"), duration_ms)
    _save_logs(fn, logs)
    shutil.rmtree(work, ignore_errors=True)
    if "error" in outcome:
        return Invocation(request_id, json.dumps(outcome["error"]).encode(), "Unhandled", logs)
    return Invocation(request_id, outcome["payload"].encode(), None, logs)


def _log_text(
    fn: LambdaFunction, request_id: str, output: str, extra: str | None, duration_ms: float
) -> str:
    """The function's output framed by the START/END/REPORT lines Lambda writes."""
    lines = [f"START RequestId: {request_id} Version: {fn.version}", output.rstrip("\n")]
    if extra:
        lines.append(extra)
    lines += [
        f"END RequestId: {request_id}",
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {fn.memory_size} MB",
    ]
    return "\n".join(line for line in lines if line) + "\n"


def _save_logs(fn: LambdaFunction, logs: str) -> None:
    """Into this server's CloudWatch Logs, group ``/aws/lambda/<name>``."""
    try:
        fn.logs_backend.ensure_log_group(fn.logs_group_name)
        fn.save_logs(logs)
    except Exception:  # logs are a courtesy; never fail the invocation for them
        log.exception("could not store the logs of %s", fn.function_name)


def _event_text(body: Any) -> str:
    """The request payload as JSON text (``{}`` when empty); AWS rejects invalid JSON."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if body is None or body == "":
        return "{}"
    if not isinstance(body, str):
        return json.dumps(body)
    try:
        json.loads(body)
    except ValueError as exc:
        raise LambdaClientError(
            "InvalidRequestContentException", f"Could not parse request body into json: {exc}"
        ) from exc
    return body


def _run_async(fn: LambdaFunction, event: str, request_id: str) -> None:
    try:
        result = invoke_function(fn, event, request_id)
    except Exception:
        log.exception("Event invocation %s of %s failed to run", request_id, fn.function_name)
        return
    if result.function_error:
        log.info("Event invocation %s of %s failed: %s", request_id, fn.function_name,
                 result.payload.decode(errors="replace"))  # fmt: skip


def _invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
    """Replacement for ``LambdaFunction.invoke``: RequestResponse, Event and DryRun."""
    event = _event_text(body)
    inv_type = (request_headers or {}).get("x-amz-invocation-type", "RequestResponse")
    request_id = str(uuid.uuid4())
    response_headers["x-amzn-RequestId"] = request_id
    response_headers["x-amz-executed-version"] = str(self.version)
    if inv_type == "DryRun":
        return b""
    if inv_type == "Event":
        threading.Thread(
            target=_run_async, args=(self, event, request_id), name=f"lambda-event-{request_id}",
            daemon=True,
        ).start()  # fmt: skip
        return b""
    result = invoke_function(self, event, request_id)
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    tail = result.logs.encode("utf-8")[-LOG_RESULT_BYTES:]
    response_headers["x-amz-log-result"] = base64.b64encode(tail).decode("ascii")
    return result.payload


def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    """Replacement for ``LambdaFunction._invoke_lambda`` (moto's internal callers)."""
    result = invoke_function(self, _event_text(event))
    return result.payload.decode("utf-8"), result.function_error is not None, result.logs


def install() -> None:
    """Make moto's (Docker-path) Lambda run the deployed zip locally."""
    LambdaFunction.invoke = _invoke  # type: ignore[method-assign]
    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
