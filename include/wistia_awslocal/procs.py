"""Worker processes (Lambda sandboxes, spark-submit) in their own process groups.

Each worker starts a new session so a timeout or a stop kills it with everything it spawned
(spark-submit's JVM and Python workers); the server kills any left when it exits.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_live: set[subprocess.Popen] = set()
_lock = threading.Lock()


def spawn(
    cmd: Sequence[str], env: dict[str, str], cwd: Path, log_path: Path, **kwargs: Any
) -> subprocess.Popen:
    """Start ``cmd`` in a new session, stdout and stderr into ``log_path``."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            list(cmd),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,
        )
    with _lock:
        _live.add(proc)
    return proc


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc``'s whole process group and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    forget(proc)


def forget(proc: subprocess.Popen) -> None:
    """Stop tracking a finished worker."""
    with _lock:
        _live.discard(proc)


@atexit.register
def kill_all() -> None:
    """Kill every worker still running (the server is exiting)."""
    with _lock:
        procs = list(_live)
    for proc in procs:
        kill_group(proc)
