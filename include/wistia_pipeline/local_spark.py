"""Run a Glue script under local Spark with the arguments Glue would pass (the local target).

``spark-submit`` comes from the installed ``pyspark``; the master is ``local[*]``, the session
time zone UTC and partition overwrite dynamic, as on Glue. With ``extra_py_files`` the given zip
goes on the Python path the way Glue's ``--extra-py-files`` does. The driver JVM maps a
class-data-sharing archive (:func:`class_data_sharing`), a local start-up setting only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from wistia_pipeline.config import SPARK_CDS_DIR_ENV
from wistia_pipeline.spark_errors import failure_in_output

log = logging.getLogger(__name__)

# One machine: a few shuffle partitions, not Glue's cluster-sized default of 200.
LOCAL_SHUFFLE_PARTITIONS = 8
# A short batch job in one JVM: the throughput collector spends less CPU than the default G1
# (measured on bench-transform: about 10% less CPU for silver and gold).
LOCAL_JVM_OPTIONS = "-XX:+UseParallelGC"
# Per Glue script, more JVM options of its local runs. Gold aggregates typed, de-duplicated
# silver in a JVM that lives seconds: the C2 compiler costs it more CPU than C2's code saves,
# so it runs on C1 alone (bench-transform day: gold 14.6-16.0 s and 21-23 CPU-s instead of
# 18.4-19.1 s and 33-34 CPU-s). Silver parses a day of JSON long enough for C2 to pay
# (C1 alone: 83-96 s instead of 49-57 s).
SCRIPT_JVM_OPTIONS = {"wistia_gold.py": ("-XX:TieredStopAtLevel=1",)}


class GlueScriptError(RuntimeError):
    """The local Spark run of a Glue script failed."""


def spark_submit_path() -> Path:
    from pyspark.find_spark_home import _find_spark_home

    path = Path(_find_spark_home()) / "bin" / "spark-submit"
    if not path.exists():
        raise FileNotFoundError(f"spark-submit not found at {path}")
    return path


def spark_submit_command(
    script: str | Path,
    job_args: Mapping[str, str],
    extra_py_files: Path | None = None,
    java_options: Sequence[str] = (),
) -> list[str]:
    """The ``spark-submit`` argv for ``script`` with Glue-style ``--name value`` arguments;
    the script's :data:`SCRIPT_JVM_OPTIONS` and ``java_options`` are added to the driver
    JVM's."""
    script_options = SCRIPT_JVM_OPTIONS.get(Path(script).name, ())
    driver_options = " ".join(
        ["-Duser.timezone=UTC", LOCAL_JVM_OPTIONS, *script_options, *java_options]
    )
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
        f"spark.driver.extraJavaOptions={driver_options}",
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
    run_env = {**os.environ, **(env or {})}
    run_env.setdefault("PYSPARK_PYTHON", sys.executable)
    run_env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    run_env.setdefault("TZ", "UTC")
    log.info("spark-submit %s (args: %s)", script.name, ", ".join(job_args))
    with class_data_sharing(cds_directory(run_env)) as shared:
        cmd = spark_submit_command(script, job_args, extra_py_files, shared.options)
        # spark-submit merges the Python driver's stderr into its stdout: one ordered stream.
        proc = subprocess.run(
            cmd,
            env=run_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if 0 <= proc.returncode < 128:  # not killed by a signal
            shared.keep()
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


def cds_directory(env: Mapping[str, str]) -> Path | None:
    """The archive directory: ``WISTIA_SPARK_CDS_DIR``, else ``<XDG_CACHE_HOME or ~/.cache>/
    wistia-pipeline``; None when the variable is ``off``."""
    configured = env.get(SPARK_CDS_DIR_ENV, "").strip()
    if configured.lower() == "off":
        return None
    if configured:
        return Path(configured)
    cache = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "wistia-pipeline"


def cds_archive(directory: Path) -> Path:
    """The archive for this Spark installation and this JVM: another of either (a second
    virtualenv, another JDK) gets its own file, as HotSpot maps an archive only for the class
    path and JVM that wrote it (it runs without one otherwise)."""
    import pyspark

    java = os.environ.get("JAVA_HOME") or shutil.which("java") or "java"
    install = Path(pyspark.__file__).resolve().parent
    build = f"{pyspark.__version__}|{install}|{Path(java).resolve()}|{LOCAL_JVM_OPTIONS}"
    digest = hashlib.sha256(build.encode()).hexdigest()[:12]
    return directory / f"spark-{pyspark.__version__}-{digest}.jsa"


@dataclass
class SharedClasses:
    """JVM options for class-data sharing; :meth:`keep` puts an archive this run dumped in place."""

    options: list[str]
    archive: Path | None = None
    dumped: Path | None = None

    def keep(self) -> None:
        """Call once the JVM exited by itself (not killed mid-dump): the archive it dumped, if
        any, becomes the archive. A job that failed in Python still loaded Spark's classes."""
        if self.archive is not None and self.dumped is not None and self.dumped.is_file():
            os.replace(self.dumped, self.archive)
            log.info("class-data-sharing archive written: %s", self.archive)


@contextmanager
def class_data_sharing(directory: Path | None) -> Iterator[SharedClasses]:
    """JVM options that map the class-data-sharing archive, or dump one when there is none.

    A JVM start-up spends seconds loading and verifying the same few thousand Spark classes;
    an archive of them (JDK dynamic CDS) is mapped instead. The first run dumps it at exit to
    a file of its own (its thousands of "skipping class" notes silenced), put in place by
    :meth:`SharedClasses.keep` once the JVM exited by itself, so concurrent runs never see half
    an archive. HotSpot ignores an archive it cannot use.
    """
    if directory is None:
        yield SharedClasses([])
        return
    archive = cds_archive(directory)
    if archive.is_file():
        yield SharedClasses([f"-XX:SharedArchiveFile={archive}"])
        return
    directory.mkdir(parents=True, exist_ok=True)
    dumped = directory / f".{archive.name}.{uuid.uuid4().hex}.tmp"
    try:
        yield SharedClasses(
            [f"-XX:ArchiveClassesAtExit={dumped}", "-Xlog:cds=off"], archive, dumped
        )
    finally:
        dumped.unlink(missing_ok=True)
