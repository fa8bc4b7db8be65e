"""Fixtures for the simulator tests: one shared in-process simulator (real HTTP on loopback)
for read-only checks; tests that need flags or faults use ``simulator_factory`` (subprocess)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sim_support import TOKEN, Live, as_argv, flags

from wistia_simulator.cli import start_in_thread


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    """A simulator in this process (port 0), shared by a module's read-only tests."""
    server, thread = start_in_thread(
        ["--port", "0", "--token", TOKEN, *as_argv(flags(late_event_share=0.1))]
    )
    session = requests.Session()
    try:
        yield Live(f"http://127.0.0.1:{server.server_address[1]}", TOKEN, session)
    finally:
        session.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
