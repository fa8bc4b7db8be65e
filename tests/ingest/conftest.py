"""Fixtures for the ingestion tests: a tiny scripted HTTP server (real sockets, no mocks)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Step:
    """One scripted answer. ``action``: "reply" | "reset" (close the socket, no answer) |
    "sleep" (wait ``delay_s`` then reply) | "truncate" (declare more bytes than sent)."""

    status: int = 200
    body: object = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    action: str = "reply"
    delay_s: float = 0.0
    raw: bytes | None = None


class ScriptedServer:
    """Answers requests from a script; once exhausted, repeats the last step."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.requests: list[dict] = []
        self.times: list[float] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append({"path": self.path, "headers": dict(self.headers)})
                    server.times.append(time.monotonic())
                    index = len(server.requests) - 1
                    step = server.steps[min(index, len(server.steps) - 1)]
                if step.action == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.close_connection = True
                    self.connection.close()
                    return
                if step.action == "sleep":
                    time.sleep(step.delay_s)
                body = step.raw if step.raw is not None else json.dumps(step.body).encode()
                self.send_response(step.status)
                self.send_header("Content-Type", "application/json")
                length = len(body) + (50 if step.action == "truncate" else 0)
                self.send_header("Content-Length", str(length))
                for key, value in step.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                    if step.action == "truncate":
                        self.close_connection = True
                except OSError:
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/modern"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def script(self, *steps: Step) -> None:
        with self._lock:
            self.steps = list(steps)
            self.requests.clear()
            self.times.clear()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()
