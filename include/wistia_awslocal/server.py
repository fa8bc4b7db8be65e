"""The local AWS: moto's server with this package's extensions, on one port.

``python -m wistia_awslocal -H 127.0.0.1 -p 4566`` installs the extensions (each module's
``install()``, monkeypatching moto in this process) and then serves moto's WSGI app, as
``moto.server`` does, plus a small control API under ``/_awslocal/``:

- ``GET /_awslocal/health``: ``{"status": "ok", "endpoint": ..., "extensions": [...]}``;
- ``GET|POST|DELETE /_awslocal/faults``: the fault knobs of :mod:`.faults`.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from werkzeug.wrappers import Request, Response

from wistia_awslocal import faults
from wistia_awslocal.env import set_endpoint

log = logging.getLogger("wistia_awslocal")

EXTENSIONS = ("cfn", "lambda_exec", "glue_exec", "athena", "stepfunctions")
DEFAULT_PORT = 4566


def install_extensions(names: Iterable[str], endpoint: str) -> list[str]:
    """Import ``wistia_awslocal.<name>`` and call its ``install()``; the names installed.

    ``install`` takes no argument (the module reads :func:`.env.endpoint_url`) or this
    server's ``endpoint`` URL.
    """
    installed = []
    for name in names:
        module = importlib.import_module(f"{__package__}.{name}")
        if inspect.signature(module.install).parameters:
            module.install(endpoint)
        else:
            module.install()
        installed.append(name)
    return installed


class ControlApp:
    """WSGI wrapper: ``/_awslocal/...`` here, everything else to moto."""

    def __init__(self, app: Callable[..., Any], endpoint: str, extensions: list[str]) -> None:
        self.app = app
        self.endpoint = endpoint
        self.extensions = extensions

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not environ.get("PATH_INFO", "").startswith("/_awslocal/"):
            return self.app(environ, start_response)
        return self.control(Request(environ))(environ, start_response)

    def control(self, request: Request) -> Response:
        """Answer one control request."""
        if request.path == "/_awslocal/health":
            body = {"status": "ok", "endpoint": self.endpoint, "extensions": self.extensions}
            return _json(200, body)
        if request.path == "/_awslocal/faults":
            try:
                if request.method == "POST":
                    return _json(200, faults.set_faults(request.get_json(force=True) or {}))
                if request.method == "DELETE":
                    return _json(200, faults.set_faults({}))
            except ValueError as exc:
                return _json(400, {"error": str(exc)})
            return _json(200, faults.get_faults())
        return _json(404, {"error": f"no such control endpoint: {request.path}"})


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def build_app(endpoint: str, extensions: list[str]) -> ControlApp:
    """moto's domain-dispatching app (as ``moto.server`` builds it) behind the control API."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # type: ignore[attr-defined]
    return ControlApp(app, endpoint, extensions)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command line: ``-H/--host``, ``-p/--port``, ``--extensions``."""
    parser = argparse.ArgumentParser(
        prog="python -m wistia_awslocal", description="Local AWS: moto whose services do the work."
    )
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("-p", "--port", type=int, default=DEFAULT_PORT, help="port (4566)")
    parser.add_argument(
        "--extensions",
        default=",".join(EXTENSIONS),
        help="comma-separated extensions to install (default: all); 'none' for plain moto",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Install the extensions, then serve until SIGINT/SIGTERM."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import run_simple

    started = time.monotonic()
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    endpoint = set_endpoint(args.host, args.port)
    os.environ["MOTO_PORT"] = str(args.port)
    names = [n for n in args.extensions.split(",") if n and n != "none"]
    unknown = sorted(set(names) - set(EXTENSIONS))
    if unknown:
        log.error("unknown extension(s): %s (known: %s)", ", ".join(unknown), ", ".join(EXTENSIONS))
        return 2
    faults.load_from_env()
    installed = install_extensions(names, endpoint)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))  # atexit then kills the workers
    log.info("serving %s with extensions %s (set up in %.2fs)", endpoint,
             ", ".join(installed) or "none", time.monotonic() - started)  # fmt: skip
    run_simple(args.host, args.port, build_app(endpoint, installed), threaded=True,
               request_handler=MotoRequestHandler)  # fmt: skip
    return 0
