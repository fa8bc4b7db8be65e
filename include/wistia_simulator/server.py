"""The HTTP layer: versions (/modern, /v1 with optional .json), bearer auth, rate limit, faults,
request counting, and the unauthenticated ``/_admin`` endpoints."""

from __future__ import annotations

import hmac
import json
import sys
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wistia_simulator.api import WistiaApi
from wistia_simulator.counters import RequestCounter
from wistia_simulator.dataset import Dataset
from wistia_simulator.deletions import parse_instant
from wistia_simulator.faults import FaultInjector
from wistia_simulator.params import ApiError, Query, date_range, first
from wistia_simulator.ratelimit import RateLimiter

VERSIONS = ("modern", "v1")
UNMATCHED = "unmatched"
DATASET_KINDS = ("events", "medias", "media_by_date", "visitors")
_SERVER_ERROR_MESSAGES = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
}


@dataclass
class SimulatorState:
    """Everything a request handler needs; one instance per server."""

    api: WistiaApi
    token: str
    limiter: RateLimiter
    faults: FaultInjector
    counter: RequestCounter
    latency_ms: int = 0
    log_requests: bool = False

    @property
    def dataset(self) -> Dataset:
        return self.api.dataset


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Reply(status, body, headers or {})


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return _json(status, {"error": message}, headers)


def _json_object(body: bytes) -> dict[str, Any]:
    """An admin request body: a JSON object (empty body: ``{}``), else a 400."""
    try:
        value = json.loads(body or b"{}")
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"body is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ApiError(400, "body must be a JSON object")
    return value


def split_version(path: str) -> tuple[str, str] | None:
    """'/v1/medias.json' -> ('v1', '/medias'); '/modern/stats/events' -> ('modern', ...)."""
    for version in VERSIONS:
        prefix = f"/{version}"
        if path == prefix or path.startswith(prefix + "/"):
            rest = path[len(prefix) :] or "/"
            if version == "v1" and rest.endswith(".json"):
                rest = rest[: -len(".json")]
            return version, rest.rstrip("/") or "/"
    return None


class SimulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "WistiaSimulator/1.0"
    state: SimulatorState  # set on the subclass built by make_server

    # ------------------------------------------------------------ plumbing

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        if self.state.log_requests:
            sys.stderr.write(f"{self.log_date_time_string()} {format % args}\n")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _dispatch(self, method: str) -> None:
        body = self._read_body()
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        if parts.path.startswith("/_admin/"):
            reply = self._admin(method, parts.path[len("/_admin/") :], query, body)
        else:
            reply = self._api(method, parts.path, query)
        self._send(reply)

    # ----------------------------------------------------------------- API

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return hmac.compare_digest(token.strip().encode(), self.state.token.encode())

    def _api(self, method: str, path: str, query: Query) -> Reply:
        state = self.state
        if state.latency_ms:
            time.sleep(state.latency_ms / 1000.0)
        split = split_version(path)
        resolved = state.api.resolve(method, split[1]) if split else None
        version = split[0] if split else "none"
        endpoint = resolved[0].template if resolved else UNMATCHED
        reply, decision_slow = self._api_reply(resolved, query)
        if decision_slow:
            time.sleep(decision_slow / 1000.0)
        state.counter.record(endpoint, reply.status, version)
        return reply

    def _api_reply(self, resolved: Any, query: Query) -> tuple[Reply, int]:
        state = self.state
        if not self._authorized():
            return _error(401, "Invalid credentials."), 0
        if resolved is None:
            return _error(404, "Not found"), 0
        wait = state.limiter.acquire(state.token)
        if wait:
            return _error(429, "Rate limit exceeded", {"Retry-After": str(wait)}), 0
        decision = state.faults.decide()
        if decision.storm_429:
            return _error(429, "Too many requests", {"Retry-After": "1"}), 0
        if decision.server_error is not None:
            code = decision.server_error
            headers = {"Retry-After": "1"} if code == 503 else None
            return _error(code, _SERVER_ERROR_MESSAGES[code], headers), decision.slow_ms
        route, path_params = resolved
        try:
            payload = state.api.call(
                route, path_params, query, state.faults.config.fault_page_overlap
            )
        except ApiError as exc:
            return _error(exc.status, exc.message, exc.headers), decision.slow_ms
        reply = _json(200, payload)
        if decision.truncate:
            reply.body = reply.body[: max(1, len(reply.body) // 2)]
        return reply, decision.slow_ms

    # --------------------------------------------------------------- admin

    def _admin(self, method: str, name: str, query: Query, body: bytes) -> Reply:
        state = self.state
        routes = {
            ("GET", "health"): self._admin_health,
            ("GET", "requests"): lambda: _json(200, state.counter.snapshot()),
            ("POST", "reset-requests"): self._admin_reset,
            ("GET", "faults"): lambda: _json(200, state.faults.config.as_dict()),
            ("POST", "faults"): lambda: self._admin_faults(body),
            ("POST", "release-late-events"): self._admin_release,
            ("POST", "delete-media"): lambda: self._admin_delete_media(body),
            ("GET", "dataset"): lambda: self._admin_dataset(query),
        }
        handler = routes.get((method, name))
        if handler is None:
            return _error(404, f"unknown admin endpoint {method} /_admin/{name}")
        try:
            return handler()
        except ApiError as exc:
            return _error(exc.status, exc.message)

    def _admin_health(self) -> Reply:
        cfg = self.state.dataset.config
        return _json(
            200,
            {
                "status": "ok",
                "seed": cfg.seed,
                "start_date": str(cfg.start_date),
                "end_date": str(cfg.end_date),
                "media_count": cfg.media_count,
                "events_per_day": cfg.events_per_day,
                "visitor_count": cfg.visitor_count,
                "late_event_share": cfg.late_event_share,
                "late_released": self.state.api.late_released,
                "rate_limit": self.state.limiter.per_minute,
                "latency_ms": self.state.latency_ms,
                "analytics_forbidden": self.state.api.analytics_forbidden,
                "deleted_media": self.state.api.deletions.as_dict(),
                "faults": self.state.faults.config.as_dict(),
            },
        )

    def _admin_reset(self) -> Reply:
        self.state.counter.reset()
        self.state.faults.reset_cycle()
        return _json(200, {"reset": True})

    def _admin_faults(self, body: bytes) -> Reply:
        changes = _json_object(body)
        try:
            config = self.state.faults.update(changes)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, str(exc)) from exc
        return _json(200, config.as_dict())

    def _admin_delete_media(self, body: bytes) -> Reply:
        """``{"media_id": ..., "at": ISO instant (optional, default now)}``."""
        request = _json_object(body)
        media_id, at = request.get("media_id"), request.get("at")
        if not isinstance(media_id, str) or not (at is None or isinstance(at, str)):
            raise ApiError(400, "media_id must be a string and at an ISO 8601 string")
        try:
            hashed_id, instant = self.state.api.delete_media(
                media_id, None if at is None else parse_instant(at)
            )
        except ValueError as exc:
            raise ApiError(422, str(exc)) from exc
        return _json(200, {"media_id": hashed_id, "deleted_at": instant.isoformat()})

    def _admin_release(self) -> Reply:
        self.state.api.release_late_events()
        return _json(200, {"late_released": True})

    def _admin_dataset(self, query: Query) -> Reply:
        dataset = self.state.dataset
        kind = first(query, "kind")
        lo, hi = dataset.config.start_date, dataset.config.end_date
        assert lo is not None and hi is not None
        start, end = date_range(query, lo, hi)
        if kind == "medias":
            return _json(200, dataset.medias())
        if kind == "visitors":
            return _json(200, dataset.visitors())
        if kind == "events":
            released = self.state.api.late_released
            media_id = first(query, "media_id") or None
            rows = dataset.events(start, end, media_id=media_id, include_unreleased_late=True)
            return _json(
                200,
                [
                    {**dataset.event_record(r), "late": r.late, "released": r.late and released}
                    for r in rows
                ],
            )
        if kind == "media_by_date":
            out = []
            for media in dataset.medias():
                for day in dataset.days:
                    if start <= day <= end:
                        row = dataset.media_day_stats(media["hashed_id"], day)
                        out.append({"media_id": media["hashed_id"], **row})
            return _json(200, out)
        raise ApiError(422, f"kind must be one of {', '.join(DATASET_KINDS)}, got {kind!r}")


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def make_server(host: str, port: int, state: SimulatorState) -> SimulatorServer:
    """Bind a server whose handlers share ``state`` (port 0 picks a free port)."""
    handler = type("BoundSimulatorHandler", (SimulatorHandler,), {"state": state})
    return SimulatorServer((host, port), handler)
