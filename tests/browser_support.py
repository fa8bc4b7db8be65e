"""Headless Chromium for the browser tests: Debian's ``chromium`` driven by Playwright for Python.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (``.ci/run``
installs Debian's ``chromium`` as root) with the flags this machine's closed network needs.
Without Chromium the tests skip with the reason, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("WISTIA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def chromium_path() -> str:
    """The Chromium binary; skips (fails in CI) when it is not installed.

    Debian's ``/usr/bin/chromium`` first; then any Chromium or Chrome on ``PATH`` (GitHub's
    Ubuntu runners ship Google Chrome, not Debian's package).
    """
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    reason = (
        f"Debian's Chromium is not installed ({CHROMIUM}); .ci/run installs it: "
        "apt-get install -y chromium chromium-driver"
    )
    if in_ci():
        pytest.fail(reason + " (CI=true: browser tests must run)")
    pytest.skip(reason)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    """A Playwright ``Browser`` on Debian's Chromium (one per caller; closed on exit)."""
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watch:
    """What a page did: console errors, uncaught exceptions, requests (URLs)."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)


def watch(page: Any) -> Watch:
    seen = Watch()
    page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.page_errors.append(str(e)))
    page.on("request", lambda r: seen.requests.append(r.url))
    page.on("requestfailed", lambda r: seen.failed_requests.append(r.url))
    return seen
