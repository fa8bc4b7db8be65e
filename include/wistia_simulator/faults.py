"""Fault injection: which API request gets a 5xx, a 429 storm, a slow or truncated answer."""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass
from typing import Any

SERVER_ERRORS = (500, 502, 503)


@dataclass(frozen=True)
class FaultConfig:
    """Fault settings; field names equal the CLI flags (``--fault-5xx-rate`` -> ``fault_5xx_rate``)."""

    fault_5xx_rate: float = 0.0
    fault_429_storm_every: int = 0
    fault_429_storm_length: int = 0
    fault_slow_rate: float = 0.0
    fault_slow_ms: int = 0
    fault_truncate_rate: float = 0.0
    fault_page_overlap: int = 0

    def __post_init__(self) -> None:
        for name in ("fault_5xx_rate", "fault_slow_rate", "fault_truncate_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        for name in (
            "fault_429_storm_every",
            "fault_429_storm_length",
            "fault_slow_ms",
            "fault_page_overlap",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")

    def updated(self, changes: dict[str, Any]) -> FaultConfig:
        """A copy with ``changes`` applied; unknown names raise ``ValueError``."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one API request (decided before it is handled)."""

    storm_429: bool = False
    server_error: int | None = None
    slow_ms: int = 0
    truncate: bool = False


class FaultInjector:
    """Thread-safe, seeded decisions. The storm cycle counts authenticated API requests:
    after every ``fault_429_storm_every`` requests the next ``fault_429_storm_length`` get 429."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self._config = config
        self._rng = random.Random(f"wistia-sim:{seed}:faults")
        self._lock = threading.Lock()
        self._position = 0

    @property
    def config(self) -> FaultConfig:
        return self._config

    def update(self, changes: dict[str, Any]) -> FaultConfig:
        with self._lock:
            self._config = self._config.updated(changes)
            self._position = 0
            return self._config

    def reset_cycle(self) -> None:
        with self._lock:
            self._position = 0

    def decide(self) -> FaultDecision:
        with self._lock:
            cfg = self._config
            every, length = cfg.fault_429_storm_every, cfg.fault_429_storm_length
            position = self._position
            self._position += 1
            if every > 0 and length > 0 and position % (every + length) >= every:
                return FaultDecision(storm_429=True)
            rand = self._rng.random
            server_error = (
                SERVER_ERRORS[self._rng.randrange(len(SERVER_ERRORS))]
                if cfg.fault_5xx_rate and rand() < cfg.fault_5xx_rate
                else None
            )
            slow = cfg.fault_slow_ms if cfg.fault_slow_rate and rand() < cfg.fault_slow_rate else 0
            truncate = bool(cfg.fault_truncate_rate) and rand() < cfg.fault_truncate_rate
            return FaultDecision(server_error=server_error, slow_ms=slow, truncate=truncate)
