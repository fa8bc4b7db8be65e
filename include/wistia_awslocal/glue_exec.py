"""Glue job runs execute the job's script under local ``spark-submit``.

moto 5.2.5 keeps job runs as ``FakeJobRun`` objects whose state advances STARTING -> RUNNING ->
SUCCEEDED each time they are read, and has no ``BatchStopJobRun``. :func:`install` wraps
``FakeJob.start_job_run`` so each new run starts a worker thread that

- fetches ``Command.ScriptLocation`` and every ``--extra-py-files`` object from this server's S3;
- runs the script with the run's arguments (moto already merges ``DefaultArguments``, the run's
  ``Arguments`` and ``NonOverridableArguments``; Glue's ``--JOB_ID``, ``--JOB_RUN_ID`` and
  ``--JOB_NAME`` are added) through :func:`wistia_pipeline.local_spark.spark_submit_command`,
  with ``--py-files`` and the S3A jars (:mod:`.jars`, never downloaded here), ``s3://`` and
  ``s3a://`` mapped to S3A on this server;
- hides the repo's source dirs from the job's Python (:mod:`.glue_site`), so project code comes
  only from ``--extra-py-files``;
- drives the run's real state: STARTING, RUNNING, then SUCCEEDED, FAILED (``ErrorMessage`` =
  the last exception line of the driver's output), TIMEOUT (the run's or job's ``Timeout`` in
  minutes; ``$WISTIA_AWSLOCAL_GLUE_MINUTE_SECONDS`` scales a minute for tests) or STOPPED
  (``BatchStopJobRun`` kills the run's process group); output goes to CloudWatch Logs
  ``/aws-glue/jobs/output`` (stream = run id).

Only ``glueetl`` (Spark) jobs run; workers/capacity, bookmarks, retries and connections are
accepted and ignored.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.core.responses import ActionResult
from moto.glue.models import FakeJob, FakeJobRun
from moto.glue.responses import GlueResponse
from moto.logs.models import logs_backends
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from wistia_awslocal import faults, procs
from wistia_awslocal.env import ACCESS_KEY, SECRET_KEY, client_env, endpoint_url
from wistia_awslocal.jars import jar_paths
from wistia_pipeline.local_spark import spark_submit_command

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_MINUTES = 2880  # Glue's default job timeout (48 h)
LOG_GROUP = "/aws-glue/jobs/output"
MAX_LOG_EVENTS = 10_000
REPO = Path(__file__).resolve().parents[2]
_GLUE_SITE = Path(__file__).with_name("glue_site")
_S3_URI = re.compile(r"^s3a?://([^/]+)/(.+)$")
_FINAL = frozenset({"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR"})


@dataclass
class RunControl:
    """The live state of one job run (attached to its ``FakeJobRun``)."""

    glue_version: str | None
    state: str = "STARTING"
    error: str | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    completed: datetime | None = None
    running_since: float | None = None
    execution_seconds: int = 0
    proc: subprocess.Popen | None = None
    stop_requested: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_state(self, state: str, error: str | None = None) -> None:
        """Move to ``state`` (a final state records completion and the error, if any)."""
        now = datetime.now(UTC)
        if state == "RUNNING" and self.running_since is None:
            self.running_since = time.monotonic()
        if state in _FINAL:
            self.completed = now
            self.error = error
            if self.running_since is not None:
                self.execution_seconds = round(time.monotonic() - self.running_since)
        self.state = state
        self.modified = now


def s3_object_bytes(account_id: str, region: str, uri: str) -> bytes:
    """An object of this server's S3 by ``s3://bucket/key``."""
    match = _S3_URI.match(uri)
    if not match:
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, key = match.groups()
    obj = s3_backends[account_id][get_partition(region)].get_object(bucket, key)
    if obj is None:
        raise FileNotFoundError(f"{uri} does not exist")
    return obj.value


def s3a_confs(endpoint: str | None = None) -> list[str]:
    """``--conf`` pairs for S3A on this server: s3:// and s3a://, path style, no SSL."""
    settings = {
        "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.s3a.endpoint": endpoint or endpoint_url(),
        "fs.s3a.endpoint.region": "us-east-1",
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false",
        "fs.s3a.access.key": ACCESS_KEY,
        "fs.s3a.secret.key": SECRET_KEY,
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "fs.s3a.change.detection.mode": "none",
        # Performance on this server (every S3 request is a call into moto): S3A "renames" are
        # copy + delete, and a committed file is renamed once by task commit, once by job
        # commit (algorithm 1) and once more by the dynamic partition overwrite; algorithm 2
        # drops the job-commit rename (task output lands in Spark's staging dir, which only
        # the job commit publishes). Keeping directory markers saves the parent-marker
        # deletes after every file written.
        "mapreduce.fileoutputcommitter.algorithm.version": "2",
        "fs.s3a.directory.marker.retention": "keep",
    }
    out: list[str] = []
    for name, value in settings.items():
        out += ["--conf", f"spark.hadoop.{name}={value}"]
    return out


def glue_command(
    script: Path, arguments: dict[str, str], py_files: list[Path], jars: list[Path]
) -> list[str]:
    """The ``spark-submit`` argv: the project's local Glue command plus py-files, jars, S3A."""
    job_args = {name.removeprefix("--"): str(value) for name, value in arguments.items()}
    cmd = spark_submit_command(script, job_args)
    at = cmd.index(str(script))  # spark-submit options go before the primary resource
    extra = ["--jars", ",".join(str(j) for j in jars), *s3a_confs()]
    if py_files:
        extra += ["--py-files", ",".join(str(p) for p in py_files)]
    return [*cmd[:at], *extra, *cmd[at:]]


def hidden_paths() -> list[str]:
    """The repo's source dirs on this process's path (not the venv): hidden from Glue jobs."""
    venv = Path(sys.prefix).resolve()
    out = []
    for entry in sys.path:
        path = Path(entry or ".").resolve()
        if path.is_dir() and path.is_relative_to(REPO) and not path.is_relative_to(venv):
            out.append(str(path))
    return out


def job_env(region: str) -> dict[str, str]:
    """The job's environment: this host's, minus its AWS/Wistia settings, plus this server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WISTIA_"))}
    env.update(client_env(region))
    env.update(
        {
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "TZ": "UTC",
            "PYTHONPATH": str(_GLUE_SITE),
            "WISTIA_AWSLOCAL_HIDDEN_PATHS": os.pathsep.join(hidden_paths()),
        }
    )
    return env


_QUALIFIED = re.compile(r"^(?:[A-Za-z_][\w]*\.)+(?=[A-Za-z_]\w*(?::|$))")


def last_error(lines: list[str]) -> str | None:
    """The exception line ending the last Python traceback (module path dropped), if any."""
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("Traceback (most recent call last)"):
            for line in lines[i + 1 :]:
                if line.strip() and not line.startswith((" ", "\t")):
                    return _QUALIFIED.sub("", line.strip())
            return None
    return None


def _execute(job: FakeJob, run: FakeJobRun, ctl: RunControl) -> None:
    """The worker thread of one run: fetch, spark-submit, wait, record the outcome."""
    account, region = job.backend.account_id, job.backend.region_name
    work = Path(tempfile.mkdtemp(prefix=f"glue-{job.name}-"))
    output = work / "output.log"
    try:
        _run(job, run, ctl, work, output)
    except Exception as exc:
        log.exception("Glue run %s of %s could not run", run.job_run_id, job.name)
        with ctl.lock:
            ctl.set_state("FAILED", f"{type(exc).__name__}: {exc}")
    finally:
        _save_logs(account, region, run.job_run_id, output)
        shutil.rmtree(work, ignore_errors=True)


def _run(job: FakeJob, run: FakeJobRun, ctl: RunControl, work: Path, output: Path) -> None:
    account, region = job.backend.account_id, job.backend.region_name
    injected = faults.glue_failure(job.name)
    if injected is not None:  # fault knob: the run fails without starting Spark
        with ctl.lock:
            ctl.set_state("RUNNING")
            ctl.set_state("FAILED", injected)
        return
    if (job.command or {}).get("Name", "glueetl") != "glueetl":
        raise ValueError(f"awslocal runs glueetl jobs only, not {job.command.get('Name')}")
    arguments = dict(run.arguments or {})
    script = work / Path(job.command["ScriptLocation"]).name
    script.write_bytes(s3_object_bytes(account, region, job.command["ScriptLocation"]))
    py_files = []
    for uri in filter(None, (u.strip() for u in arguments.get("--extra-py-files", "").split(","))):
        py_files.append(work / "py-files" / Path(uri).name)
        py_files[-1].parent.mkdir(exist_ok=True)
        py_files[-1].write_bytes(s3_object_bytes(account, region, uri))
    arguments.update(
        {"--JOB_ID": f"j_{job.name}", "--JOB_RUN_ID": run.job_run_id, "--JOB_NAME": job.name}
    )
    cmd = glue_command(script, arguments, py_files, jar_paths())
    with ctl.lock:
        if ctl.stop_requested:
            ctl.set_state("STOPPED")
            return
        ctl.proc = procs.spawn(cmd, job_env(region), work, output)
        ctl.set_state("RUNNING")
    _wait(run, ctl, output)


def _wait(run: FakeJobRun, ctl: RunControl, output: Path) -> None:
    """Wait for the run's process within its timeout; record the final state."""
    assert ctl.proc is not None
    minutes = int(run.timeout or DEFAULT_TIMEOUT_MINUTES)
    minute = float(os.environ.get("WISTIA_AWSLOCAL_GLUE_MINUTE_SECONDS", "60"))
    try:
        code = ctl.proc.wait(timeout=minutes * minute)
        procs.forget(ctl.proc)
    except subprocess.TimeoutExpired:
        procs.kill_group(ctl.proc)
        with ctl.lock:
            ctl.set_state("TIMEOUT", f"Job run exceeded the timeout of {minutes} minutes")
        return
    with ctl.lock:
        if ctl.stop_requested:
            ctl.set_state("STOPPED")
        elif code == 0:
            ctl.set_state("SUCCEEDED")
        else:
            lines = output.read_text(encoding="utf-8", errors="replace").splitlines()
            message = last_error(lines) or f"spark-submit exited with code {code}"
            ctl.set_state("FAILED", message)


def _save_logs(account: str, region: str, run_id: str, output: Path) -> None:
    """The run's output into CloudWatch Logs (``/aws-glue/jobs/output``, stream = run id)."""
    if not output.is_file():
        return
    try:
        lines = output.read_text(encoding="utf-8", errors="replace").splitlines()
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in lines if line][-MAX_LOG_EVENTS:]
        backend = logs_backends[account][region]
        backend.ensure_log_group(LOG_GROUP)
        backend.create_log_stream(LOG_GROUP, run_id)
        if events:
            backend.put_log_events(LOG_GROUP, run_id, events)
    except Exception:  # logs are a courtesy; never change the run's outcome for them
        log.exception("could not store the logs of Glue run %s", run_id)


def stop_run(run: FakeJobRun) -> None:
    """Stop a run: STOPPED at once when it has not started Spark, else kill its process group."""
    ctl: RunControl | None = getattr(run, "_awslocal", None)
    if ctl is None:
        raise ValueError(f"job run {run.job_run_id} is not managed by awslocal")
    with ctl.lock:
        if ctl.state in _FINAL:
            raise ValueError(f"job run {run.job_run_id} is already {ctl.state}")
        ctl.stop_requested = True
        ctl.set_state("STOPPING")
        proc = ctl.proc
    if proc is not None:
        procs.kill_group(proc)


_orig_start_job_run = FakeJob.start_job_run
_orig_status = FakeJobRun.status
_orig_as_dict = FakeJobRun.as_dict


def _start_job_run(self: FakeJob, **kwargs: Any) -> str:
    """``FakeJob.start_job_run``, then a worker thread that really runs it."""
    run_id = _orig_start_job_run(self, **kwargs)
    run = next(r for r in self.job_runs if r.job_run_id == run_id)
    ctl = RunControl(glue_version=self.glue_version)
    run._awslocal = ctl  # type: ignore[attr-defined]
    threading.Thread(
        target=_execute, args=(self, run, ctl), name=f"glue-{run_id[:12]}", daemon=True
    ).start()
    return run_id


def _status(self: FakeJobRun) -> str | None:
    ctl: RunControl | None = getattr(self, "_awslocal", None)
    return ctl.state if ctl is not None else _orig_status.fget(self)


def _as_dict(self: FakeJobRun) -> dict[str, Any]:
    """moto's dict with the run's real state, times and error."""
    out = _orig_as_dict(self)
    ctl: RunControl | None = getattr(self, "_awslocal", None)
    if ctl is None:
        return out
    with ctl.lock:
        out.update(
            JobRunState=ctl.state,
            StartedOn=ctl.started,
            LastModifiedOn=ctl.modified,
            ExecutionTime=ctl.execution_seconds,
            LogGroupName="/aws-glue/jobs",
            GlueVersion=ctl.glue_version or "5.0",
            Timeout=int(self.timeout or DEFAULT_TIMEOUT_MINUTES),
        )
        out.pop("CompletedOn", None)
        if ctl.completed is not None:
            out["CompletedOn"] = ctl.completed
        if ctl.error:
            out["ErrorMessage"] = ctl.error
    return out


def _batch_stop_job_run(self: GlueResponse) -> ActionResult:
    """``BatchStopJobRun``: stop each named run of the job (moto has no such action)."""
    job_name = self._get_param("JobName")
    done: list[dict[str, str]] = []
    errors: list[dict[str, Any]] = []
    for run_id in self._get_param("JobRunIds") or []:
        try:
            job = self.glue_backend.get_job(job_name)
            run = next((r for r in job.job_runs if r.job_run_id == run_id), None)
            if run is None:
                raise LookupError(f"Job run {run_id} not found")
            stop_run(run)
            done.append({"JobName": job_name, "JobRunId": run_id})
        except Exception as exc:
            code = "EntityNotFoundException" if "not found" in str(exc) else "InvalidInputException"
            errors.append({"JobName": job_name, "JobRunId": run_id,
                           "ErrorDetail": {"ErrorCode": code, "ErrorMessage": str(exc)}})  # fmt: skip
    return ActionResult({"SuccessfulSubmissions": done, "Errors": errors})


def install() -> None:
    """Make moto's Glue job runs execute for real (and add ``BatchStopJobRun``)."""
    FakeJob.start_job_run = _start_job_run  # type: ignore[method-assign]
    FakeJobRun.status = property(_status, _orig_status.fset)  # type: ignore[assignment]
    FakeJobRun.as_dict = _as_dict  # type: ignore[method-assign]
    GlueResponse.batch_stop_job_run = _batch_stop_job_run  # type: ignore[attr-defined]
