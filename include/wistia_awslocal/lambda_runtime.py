"""The Lambda runtime inside the sandbox process (started by :mod:`.lambda_exec`).

Run as ``python -I -S lambda_runtime.py REQUEST_JSON READY_FD``: isolated and without ``site``,
so ``sys.path`` is the standard library only; this module then puts the unpacked zip first and
the runtime's own libraries (boto3 and its dependencies) last, as ``/var/task`` and
``/var/runtime`` are on AWS. It imports the handler (init), tells the parent through
``READY_FD`` that the invoke phase starts, calls ``handler(event, context)`` and writes the
outcome as JSON to the request's ``result_path``. Errors take AWS's payload shape
(``errorMessage``, ``errorType``, ``requestId``, ``stackTrace``). Standard library only.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any

_THIS_FILE = os.path.abspath(__file__)


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class LambdaContext:
    """The ``context`` argument, with the attributes the Python runtime provides."""

    def __init__(self, info: dict[str, Any], deadline: float) -> None:
        self.function_name = info["function_name"]
        self.function_version = info["function_version"]
        self.invoked_function_arn = info["invoked_function_arn"]
        self.memory_limit_in_mb = int(info["memory_limit_in_mb"])
        self.aws_request_id = info["aws_request_id"]
        self.log_group_name = info["log_group_name"]
        self.log_stream_name = info["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _load_handler(spec: str) -> Any:
    """``module.path.function`` -> the function; AWS's init error types on failure."""
    module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise _InitError("Runtime.MalformedHandlerName", f"Bad handler '{spec}'")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except SyntaxError as exc:
        raise _InitError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}"
        ) from exc
    except ImportError as exc:
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    handler = getattr(module, attr, None)
    if handler is None:
        raise _InitError(
            "Runtime.HandlerNotFound", f"Handler '{attr}' missing on module '{module_name}'"
        )
    return handler


def _fault_payload(exc: BaseException, request_id: str, error_type: str | None = None) -> dict:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != _THIS_FILE]
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def _log_setup(request_id: str) -> None:
    """Root logger as the Python runtime sets it up: one handler, AWS's line format."""

    class _RequestId(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.aws_request_id = request_id
            return True

    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_RequestId())
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    logging.getLogger().addHandler(handler)


def _invoke(req: dict[str, Any], ready_fd: int) -> dict[str, Any]:
    """Init and invoke; the outcome as ``{"payload": ...}`` or ``{"error": ...}``."""
    request_id = req["context"]["aws_request_id"]
    _log_setup(request_id)
    try:
        handler = _load_handler(req["handler"])
    except _InitError as exc:
        print(f"[ERROR] {exc.error_type}: {exc}", file=sys.stderr)
        return {"error": {**_fault_payload(exc, request_id, exc.error_type), "stackTrace": []}}
    except Exception as exc:  # raised while importing the module: a function error
        traceback.print_exc()
        return {"error": _fault_payload(exc, request_id)}
    finally:
        os.write(ready_fd, b"1")
        os.close(ready_fd)
    context = LambdaContext(req["context"], time.time() + float(req["timeout"]))
    fault = req.get("fault") or {}
    try:
        if "timeout" in fault:
            time.sleep(float(req["timeout"]) + 60)  # fault knob: run past the timeout
        if "error" in fault:
            raise Exception(fault["error"])  # fault knob: the function raises
        result = handler(json.loads(req["event"]), context)
    except Exception as exc:
        payload = _fault_payload(exc, request_id)
        print(f"[ERROR] {payload['errorType']}: {exc}", file=sys.stderr)
        traceback.print_exc()
        return {"error": payload}
    try:
        return {"payload": json.dumps(result)}
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        return {"error": {**_fault_payload(exc, request_id, "Runtime.MarshalError"),
                          "errorMessage": message, "stackTrace": []}}  # fmt: skip


def main(argv: list[str]) -> int:
    """Entry point: ``REQUEST_JSON READY_FD``."""
    request_path, ready_fd = argv[0], int(argv[1])
    with open(request_path, encoding="utf-8") as f:
        req = json.load(f)
    sys.path[:] = [req["task_root"], *(p for p in sys.path if p), *req["runtime_paths"]]
    os.chdir(req["task_root"])
    outcome = _invoke(req, ready_fd)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(req["result_path"], "w", encoding="utf-8") as f:
        json.dump(outcome, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
