"""A NAT gateway's idle timeout in front of the local AWS: a TCP proxy that resets a connection
on which no byte moved for ``idle_seconds`` (AWS NAT gateways and interface endpoints do so
after 350 s, answering the next packet with a RST).

MWAA reaches AWS through one; a client holding a connection open while it waits for a long
answer (a synchronous Lambda invoke of a 5-minute ingestion) loses it. Tests point
``AWS_ENDPOINT_URL`` at :attr:`IdleProxy.url` with a short limit to show what survives it.

    with IdleProxy(upstream_port, idle_seconds=15) as nat:
        ...  # clients use nat.url; nat.stats() counts resets, and resets while a request waited
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

_CHUNK = 65536


@dataclass
class _Stats:
    connections: int = 0
    resets: int = 0  # idle connections reset
    resets_in_flight: int = 0  # ... while the client waited for an answer (a request was cut)
    longest_wait_s: float = 0.0  # the longest a client waited for a response's first byte


class IdleProxy:
    """Forward ``127.0.0.1:<port>`` to ``upstream_host:upstream_port``; reset idle connections."""

    def __init__(
        self, upstream_port: int, idle_seconds: float, upstream_host: str = "127.0.0.1"
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.idle_seconds = idle_seconds
        self._stats = _Stats()
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="nat-accept", daemon=True)

    def __enter__(self) -> IdleProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        self._server.close()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return dict(vars(self._stats))

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                self._stats.connections += 1
            threading.Thread(target=self._pump, args=(client,), daemon=True).start()

    def _pump(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            _reset(client)
            return
        last = time.monotonic()
        waiting_since: float | None = None  # the client sent a request, no answer yet
        peers = {client: upstream, upstream: client}
        try:
            while not self._closed.is_set():
                ready, _, _ = select.select(list(peers), [], [], 0.2)
                now = time.monotonic()
                if not ready:
                    if now - last > self.idle_seconds:
                        self._count_reset(waiting_since is not None)
                        return
                    continue
                for sock in ready:
                    data = sock.recv(_CHUNK)
                    if not data:
                        return
                    peers[sock].sendall(data)
                    last = now
                    if sock is client and waiting_since is None:
                        waiting_since = now
                    elif sock is upstream and waiting_since is not None:
                        self._count_wait(now - waiting_since)
                        waiting_since = None
        except OSError:
            return
        finally:
            _reset(client)
            _reset(upstream)

    def _count_reset(self, in_flight: bool) -> None:
        with self._lock:
            self._stats.resets += 1
            self._stats.resets_in_flight += int(in_flight)

    def _count_wait(self, seconds: float) -> None:
        with self._lock:
            self._stats.longest_wait_s = max(self._stats.longest_wait_s, round(seconds, 3))


def _reset(sock: socket.socket) -> None:
    """Close with a RST (SO_LINGER 0), as a NAT gateway answers a timed-out connection."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
