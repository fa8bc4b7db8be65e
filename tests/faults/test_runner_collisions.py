"""Two local runners sharing an AIRFLOW_HOME: the second runner of a day is refused at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date

import pytest

from wistia_dev import local_runner

D = date(2026, 3, 5)
HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from wistia_dev import local_runner
    with local_runner.exclusive(Path(sys.argv[1]), wait=False, holder={"pid": "holder-42"}):
        print("held", flush=True)
        time.sleep(60)
    """
)


@pytest.fixture
def held_day(tmp_path, monkeypatch):
    home = tmp_path / "airflow"
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    lock = local_runner.lock_path(home, f"day-{D}")
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()


def test_second_runner_of_a_day_is_refused_naming_the_holder(held_day) -> None:
    with pytest.raises(local_runner.RunnerBusy) as info:
        local_runner.run_day(dag=None, day=D)  # refused before the DAG is touched
    message = str(info.value)
    assert f"data day {D}" in message and "holder-42" in message and "\n" not in message


def test_a_dead_holder_releases_the_day(held_day, tmp_path) -> None:
    held_day.kill()  # kill -9: the kernel drops the lock with the process
    held_day.wait()
    lock = local_runner.lock_path(tmp_path / "airflow", f"day-{D}")
    with local_runner.exclusive(lock, wait=False, holder={"pid": "me"}):
        assert "me" in lock.read_text()
    assert lock.read_text() == ""  # the holder line goes with the lock
