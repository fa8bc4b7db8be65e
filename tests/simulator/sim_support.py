"""Helpers shared by the simulator tests (a uniquely named module: tests/ has no packages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import requests

TOKEN = "sim-contract-token-51b2"  # the simulator's own test credential, not a real secret
START = date(2026, 3, 1)
END = date(2026, 3, 4)
SMALL_FLAGS = {
    "seed": 7,
    "start_date": START.isoformat(),
    "end_date": END.isoformat(),
    "media_count": 30,
    "events_per_day": 400,
    "visitor_count": 300,
    "rate_limit": 0,
}


@dataclass
class Live:
    base: str
    token: str
    session: requests.Session

    @property
    def url(self) -> str:
        return f"{self.base}/modern"

    def get(self, path: str, version: str = "modern", auth: bool = True, **params: Any):
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        return self.session.get(
            f"{self.base}/{version}{path}", params=params, headers=headers, timeout=30
        )

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.session.request(method, f"{self.base}/_admin/{path}", timeout=60, **kwargs)
        resp.raise_for_status()
        return resp.json()


def flags(**overrides: Any) -> dict[str, Any]:
    return {**SMALL_FLAGS, **overrides}


def as_argv(options: dict[str, Any]) -> list[str]:
    argv: list[str] = []
    for key, value in options.items():
        argv += ["--" + key.replace("_", "-"), str(value)]
    return argv


def client(sim: Any) -> Live:
    """Wrap a ``simulator_factory`` simulator in the same helper."""
    return Live(sim.base, sim.token, requests.Session())
