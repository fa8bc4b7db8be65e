"""Run a Glue script under local Spark with the arguments Glue would pass (the local target).

``spark-submit`` comes from the installed ``pyspark``; the master is ``local[*]``, the session
time zone UTC and partition overwrite dynamic, as on Glue. With ``extra_py_files`` the given zip
goes on the Python path the way Glue's ``--extra-py-files`` does.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

STDERR_TAIL_LINES = 60
# One machine: a few shuffle partitions, not Glue's cluster-sized default of 200.
LOCAL_SHUFFLE_PARTITIONS = 8


class GlueScriptError(RuntimeError):
    """The local Spark run of a Glue script failed."""


def spark_submit_path() -> Path:
    from pyspark.find_spark_home import _find_spark_home

    path = Path(_find_spark_home()) / "bin" / "spark-submit"
    if not path.exists():
        raise FileNotFoundError(f"spark-submit not found at {path}")
    return path


def spark_submit_command(
    script: str | Path, job_args: Mapping[str, str], extra_py_files: Path | None = None
) -> list[str]:
    """The ``spark-submit`` argv for ``script`` with Glue-style ``--name value`` arguments."""
    cmd = [
        str(spark_submit_path()),
        "--master",
        "local[*]",
        "--conf",
        "spark.sql.session.timeZone=UTC",
        "--conf",
        "spark.sql.sources.partitionOverwriteMode=dynamic",
        "--conf",
        f"spark.sql.shuffle.partitions={LOCAL_SHUFFLE_PARTITIONS}",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.driver.extraJavaOptions=-Duser.timezone=UTC",
    ]
    if extra_py_files is not None:
        if not Path(extra_py_files).is_file():
            raise FileNotFoundError(f"extra py files not found: {extra_py_files}")
        cmd += ["--py-files", str(extra_py_files)]
    cmd.append(str(script))
    for name, value in job_args.items():
        cmd += [f"--{name}", str(value)]
    return cmd


def run_glue_script(
    script: str | Path,
    job_args: dict[str, str],
    env: dict[str, str] | None = None,
    extra_py_files: Path | None = None,
) -> None:
    """Run ``script`` with local ``spark-submit``; raise :class:`GlueScriptError` on failure.

    ``env`` is added to the current environment. The job's output (spark-submit merges the
    driver's stdout and stderr) is logged at INFO, i.e. into the task log; on failure the error
    names the job's last Python exception and carries the tail of the output. Argument values
    are not logged, only their names (a Glue argument may carry a secret id).
    """
    script = Path(script)
    if not script.is_file():
        raise FileNotFoundError(f"Glue script not found: {script}")
    cmd = spark_submit_command(script, job_args, extra_py_files)
    run_env = {**os.environ, **(env or {})}
    run_env.setdefault("PYSPARK_PYTHON", sys.executable)
    run_env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    run_env.setdefault("TZ", "UTC")
    log.info("spark-submit %s (args: %s)", script.name, ", ".join(job_args))
    # spark-submit merges the Python driver's stderr into its stdout; keep one ordered stream.
    proc = subprocess.run(
        cmd, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    lines = proc.stdout.splitlines()
    for line in lines:
        log.info("[%s] %s", script.stem, line)
    if proc.returncode != 0:
        tail = "\n".join(lines[-STDERR_TAIL_LINES:])
        raise GlueScriptError(
            f"{script.name} failed with exit code {proc.returncode}: {_last_error(lines)}\n"
            f"output tail:\n{tail}"
        )


def _last_error(lines: list[str]) -> str:
    """The final line of the last Python traceback in the output, if any."""
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("Traceback (most recent call last)"):
            rest = [ln for ln in lines[i + 1 :] if ln and not ln.startswith((" ", "\t"))]
            if rest:
                return rest[0]
    return "no Python traceback in the output"
