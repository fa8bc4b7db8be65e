"""Start the simulator as a background process and wait until it answers (demo, local Airflow)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import requests


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers below 500; fail early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with code {proc.returncode}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def start_simulator(
    port: int,
    token: str,
    *extra_args: str,
    log_path: Path | None = None,
) -> subprocess.Popen:
    """``python -m wistia_simulator --port P --token T [extra args]``, returned once healthy."""
    log: IO[bytes] | int = log_path.open("ab") if log_path else subprocess.DEVNULL
    cmd = [sys.executable, "-m", "wistia_simulator", "--port", str(port), "--token", token]
    proc = subprocess.Popen([*cmd, *extra_args], stdout=log, stderr=log)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_admin/health", proc)
    except Exception:
        stop_process(proc)
        raise
    return proc


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate, then kill if it does not exit within ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
