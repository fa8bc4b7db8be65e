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

from wistia_pipeline.spark_errors import failure_in_output

log = logging.getLogger(__name__)

# One machine: a few shuffle partitions, not Glue's cluster-sized default of 200.
LOCAL_SHUFFLE_PARTITIONS = 8
# A short batch job in one JVM: the throughput collector spends less CPU than the default G1
# (measured on bench-transform: about 10% less CPU for silver and gold).
LOCAL_JVM_OPTIONS = "-XX:+UseParallelGC"


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
        f"spark.driver.extraJavaOptions=-Duser.timezone=UTC {LOCAL_JVM_OPTIONS}",
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
    is one line: the root cause of the job's last Python exception and the file involved
    (:func:`wistia_pipeline.spark_errors.failure_in_output`, the same line a Glue run's
    ``ErrorMessage`` carries). Argument values are not logged, only their names (a Glue
    argument may carry a secret id).
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
        raise GlueScriptError(
            f"{script.name} failed with exit code {proc.returncode}: {_cause(lines)}"
        )


def _cause(lines: list[str]) -> str:
    """One line for a failed job's output: its last exception's root cause, else the output's
    last line (a kill or a JVM that died before Python ran leaves no traceback)."""
    cause = failure_in_output(lines)
    if cause:
        return cause
    last = next((line.strip() for line in reversed(lines) if line.strip()), "")
    return f"no Python traceback in the output; its last line: {last[:500] or '(none)'}"
