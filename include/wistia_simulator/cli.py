"""``python -m wistia_simulator``: parse flags, build the simulated account, serve HTTP."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from datetime import date, datetime
from types import FrameType
from typing import Any, TypeVar

from wistia_simulator.api import WistiaApi
from wistia_simulator.counters import RequestCounter
from wistia_simulator.dataset import Dataset, DatasetConfig
from wistia_simulator.deletions import parse_deletion
from wistia_simulator.faults import FaultConfig, FaultInjector
from wistia_simulator.ratelimit import RateLimiter
from wistia_simulator.server import SimulatorServer, SimulatorState, make_server

_Config = TypeVar("_Config")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {value!r}") from None


def _share(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return number


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return number


def _deletion(value: str) -> tuple[str, datetime | None]:
    try:
        return parse_deletion(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m wistia_simulator",
        description="A local Wistia Data/Stats API (/modern and /v1) with deterministic data.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_non_negative, default=8787, help="0 picks a free port")
    p.add_argument("--token", required=True, help="the bearer token clients must send")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start-date", type=_date, help="first data day (default: today - 29)")
    p.add_argument("--end-date", type=_date, help="last data day (default: today, UTC)")
    p.add_argument("--media-count", type=int, default=40)
    p.add_argument("--events-per-day", type=_non_negative, default=2000)
    p.add_argument("--visitor-count", type=int, default=1500)
    p.add_argument("--late-event-share", type=_share, default=0.0)
    p.add_argument(
        "--historical-visitors",
        type=_non_negative,
        default=0,
        help="visitors last active before the data range (listed and shown, never in events)",
    )
    p.add_argument(
        "--rate-limit", type=_non_negative, default=600, help="requests/minute, 0 = unlimited"
    )
    p.add_argument(
        "--rate-limit-burst", type=int, default=None, help="bucket size (default: limit / 6)"
    )
    p.add_argument("--latency-ms", type=_non_negative, default=0)
    p.add_argument("--analytics-forbidden", action="store_true", help="analytics answer 403")
    p.add_argument(
        "--delete-media",
        type=_deletion,
        action="append",
        default=[],
        metavar="MEDIA_ID[@INSTANT]",
        help="delete a media (hashed or numeric id) at an ISO 8601 instant (default: at start); "
        "repeatable",
    )
    p.add_argument("--fault-5xx-rate", type=_share, default=0.0)
    p.add_argument("--fault-429-storm-every", type=_non_negative, default=0)
    p.add_argument("--fault-429-storm-length", type=_non_negative, default=0)
    p.add_argument("--fault-slow-rate", type=_share, default=0.0)
    p.add_argument("--fault-slow-ms", type=_non_negative, default=0)
    p.add_argument("--fault-truncate-rate", type=_share, default=0.0)
    p.add_argument("--fault-page-overlap", type=_non_negative, default=0)
    p.add_argument("--log-requests", action="store_true", help="log each request to stderr")
    p.add_argument(
        "--warm",
        action="store_true",
        help="generate every data day before serving (health answers only after that)",
    )
    return p


def _from_flags(config_class: type[_Config], args: argparse.Namespace) -> _Config:
    """A config dataclass filled from the parsed flags: its field names equal the flag names
    (``--media-count`` -> ``media_count``)."""
    return config_class(**{f.name: getattr(args, f.name) for f in dataclasses.fields(config_class)})


def config_flags(config: Any) -> list[str]:
    """The flags that give back this config dataclass (``DatasetConfig``, ``FaultConfig``):
    the inverse of ``_from_flags``; fields that are None are left out."""
    flags: list[str] = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if value is not None:
            flags += [f"--{f.name.replace('_', '-')}", str(value)]
    return flags


def build_state(args: argparse.Namespace) -> SimulatorState:
    dataset = Dataset(_from_flags(DatasetConfig, args))
    faults = _from_flags(FaultConfig, args)
    api = WistiaApi(dataset, analytics_forbidden=args.analytics_forbidden)
    for media_id, at in args.delete_media:
        api.delete_media(media_id, at)  # ValueError for an unknown media: a usage error
    return SimulatorState(
        api=api,
        token=args.token,
        limiter=RateLimiter(args.rate_limit, args.rate_limit_burst),
        faults=FaultInjector(faults, args.seed),
        counter=RequestCounter(),
        latency_ms=args.latency_ms,
        log_requests=args.log_requests,
    )


def warm(state: SimulatorState) -> None:
    """Generate all days of the data range now instead of on first use."""
    for day in state.dataset.days:
        state.dataset.day_data(day)


def start_in_thread(argv: list[str]) -> tuple[SimulatorServer, threading.Thread]:
    """Start a simulator inside this process (same flags as the CLI); stop it with
    ``server.shutdown(); server.server_close()``. ``server.server_address`` has the port."""
    args = build_parser().parse_args(argv)
    state = build_state(args)
    if args.warm:
        warm(state)
    server = make_server(args.host, args.port, state)
    thread = threading.Thread(target=server.serve_forever, name="wistia-simulator", daemon=True)
    thread.start()
    return server, thread


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        state = build_state(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.warm:
        warm(state)
    server = make_server(args.host, args.port, state)
    host, port = server.server_address[:2]
    cfg = state.dataset.config
    print(
        f"wistia simulator on http://{host}:{port}/modern (and /v1): seed={cfg.seed} "
        f"data {cfg.start_date}..{cfg.end_date} media={cfg.media_count} "
        f"events/day={cfg.events_per_day} rate_limit={args.rate_limit}/min",
        file=sys.stderr,
        flush=True,
    )
    signal.signal(signal.SIGTERM, _terminate)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
