"""Glue job runs execute the job's script under local spark-submit, reading/writing s3:// here."""

from __future__ import annotations

import io
import json
import textwrap
import time
import uuid
import zipfile

import boto3
import duckdb
import pytest

from wistia_awslocal.glue_exec import glue_command, last_error, s3a_confs
from wistia_awslocal.jars import fetch_jars

ROLE = "arn:aws:iam::123456789012:role/glue"
FINAL = {"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR"}

ETL = """
    import importlib.util
    import sys

    from pyspark.sql import SparkSession, functions as F

    from helpers.scale import scale  # from --extra-py-files

    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    spark = SparkSession.builder.appName("etl").getOrCreate()
    df = spark.read.json(args["--input"])
    repo_hidden = importlib.util.find_spec("wistia_pipeline") is None
    out = df.select(
        "id",
        scale(F.col("n"), int(args["--multiplier"])).alias("scaled"),
        F.lit(repo_hidden).alias("repo_hidden"),
        F.lit(args["--JOB_NAME"]).alias("job_name"),
    )
    out.coalesce(1).write.mode("overwrite").parquet(args["--output"])
"""

FAILING = """
    import sys
    day = sys.argv[sys.argv.index("--day") + 1]
    raise ValueError(f"no bronze data for {day}")
"""

SLEEPER = """
    import os, sys, time
    import boto3
    bucket = sys.argv[sys.argv.index("--pid_bucket") + 1]
    boto3.client("s3").put_object(Bucket=bucket, Key="pid", Body=str(os.getpid()).encode())
    time.sleep(120)
"""


def helpers_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("helpers/__init__.py", "")
        zf.writestr("helpers/scale.py", "def scale(col, k):\n    return col * k\n")
    return buf.getvalue()


@pytest.fixture(scope="module")
def s3a_jars() -> list:
    """The S3A jars in .tools/jars (fetched once from PyPI on a clean clone, then reused)."""
    return fetch_jars()


@pytest.fixture
def bucket(aws) -> str:
    name = f"glue-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def create_job(bucket: str, script: str, timeout: int | None = None, **default_args: str) -> str:
    name = f"job-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=f"scripts/{name}.py", Body=textwrap.dedent(script).encode())
    extra = {"Timeout": timeout} if timeout else {}
    boto3.client("glue").create_job(
        Name=name,
        Role=ROLE,
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{bucket}/scripts/{name}.py"},
        DefaultArguments={f"--{k}": v for k, v in default_args.items()},
        GlueVersion="5.0",
        **extra,
    )
    return name


def wait_run(job: str, run_id: str, states: set[str] = FINAL, timeout: float = 240) -> dict:
    glue = boto3.client("glue")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        if run["JobRunState"] in states:
            return run
        time.sleep(0.5)
    raise AssertionError(f"{job} run {run_id} still {run['JobRunState']} after {timeout}s")


@pytest.mark.slow
@pytest.mark.usefixtures("s3a_jars")
def test_job_reads_json_from_s3_and_writes_parquet_back(aws, bucket: str, tmp_path) -> None:
    s3 = boto3.client("s3")
    rows = "\n".join(json.dumps({"id": i, "n": i * 10}) for i in range(5))
    s3.put_object(Bucket=bucket, Key="in/part-0.json", Body=rows.encode())
    s3.put_object(Bucket=bucket, Key="lib/helpers.zip", Body=helpers_zip())
    job = create_job(
        bucket, ETL, input=f"s3://{bucket}/in/", output=f"s3a://{bucket}/out/",
        multiplier="2", **{"extra-py-files": f"s3://{bucket}/lib/helpers.zip"},
    )  # fmt: skip
    run_id = boto3.client("glue").start_job_run(JobName=job, Arguments={"--multiplier": "3"})[
        "JobRunId"
    ]
    first = boto3.client("glue").get_job_run(JobName=job, RunId=run_id)["JobRun"]
    assert first["JobRunState"] in {"STARTING", "RUNNING"}
    run = wait_run(job, run_id)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert run["Arguments"]["--multiplier"] == "3" and run["CompletedOn"] >= run["StartedOn"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="out/")["Contents"]]
    (part,) = [k for k in keys if k.endswith(".parquet")]
    local = tmp_path / "part.parquet"
    s3.download_file(bucket, part, str(local))
    got = duckdb.sql(f"SELECT * FROM '{local}' ORDER BY id").fetchall()
    assert got == [(i, i * 30, True, job) for i in range(5)]
    (listed,) = boto3.client("glue").get_job_runs(JobName=job)["JobRuns"]
    assert listed["Id"] == run_id and listed["JobRunState"] == "SUCCEEDED"


@pytest.mark.slow
@pytest.mark.usefixtures("s3a_jars")
def test_failing_script_fails_the_run_with_its_error(aws, bucket: str) -> None:
    job = create_job(bucket, FAILING, day="2026-03-09")
    run_id = boto3.client("glue").start_job_run(JobName=job)["JobRunId"]
    run = wait_run(job, run_id)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "ValueError: no bronze data for 2026-03-09"


def _running_pid(job: str, run_id: str, bucket: str) -> int:
    s3 = boto3.client("s3")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if s3.list_objects_v2(Bucket=bucket, Prefix="pid").get("KeyCount"):
            return int(s3.get_object(Bucket=bucket, Key="pid")["Body"].read())
        assert wait_run(job, run_id, FINAL | {"RUNNING"})["JobRunState"] == "RUNNING"
        time.sleep(0.5)
    raise AssertionError("the script never started")


def _gone(pid: int, wait: float = 10) -> bool:
    """The process no longer runs (exited, or a zombie its new parent has not reaped yet)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.usefixtures("s3a_jars")
def test_stopped_run_is_killed(aws, bucket: str) -> None:
    job = create_job(bucket, SLEEPER, pid_bucket=bucket)
    glue = boto3.client("glue")
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    pid = _running_pid(job, run_id, bucket)
    resp = glue.batch_stop_job_run(JobName=job, JobRunIds=[run_id, "jr_nope"])
    assert resp["SuccessfulSubmissions"] == [{"JobName": job, "JobRunId": run_id}]
    assert [e["JobRunId"] for e in resp["Errors"]] == ["jr_nope"]
    assert wait_run(job, run_id, timeout=30)["JobRunState"] == "STOPPED"
    assert _gone(pid)


@pytest.mark.slow
@pytest.mark.usefixtures("s3a_jars")
def test_run_past_the_job_timeout_times_out(aws, bucket: str) -> None:
    # the module's server runs with WISTIA_AWSLOCAL_GLUE_MINUTE_SECONDS=3: Timeout=4 is 12 s
    job = create_job(bucket, SLEEPER, timeout=4, pid_bucket=bucket)
    run_id = boto3.client("glue").start_job_run(JobName=job)["JobRunId"]
    pid = _running_pid(job, run_id, bucket)
    run = wait_run(job, run_id, timeout=60)
    assert run["JobRunState"] == "TIMEOUT" and run["Timeout"] == 4
    assert "timeout of 4 minutes" in run["ErrorMessage"]
    assert 10 <= run["ExecutionTime"] <= 14
    assert _gone(pid)


def test_fault_knob_fails_a_named_job(aws, bucket: str) -> None:
    job = create_job(bucket, FAILING, day="x")
    aws.set_faults({"glue_fail": {job: "injected: executor lost"}})
    run_id = boto3.client("glue").start_job_run(JobName=job)["JobRunId"]
    run = wait_run(job, run_id, timeout=30)
    assert run["JobRunState"] == "FAILED" and run["ErrorMessage"] == "injected: executor lost"


def test_missing_script_fails_the_run(aws, bucket: str) -> None:
    job = create_job(bucket, FAILING)
    boto3.client("s3").delete_object(Bucket=bucket, Key=f"scripts/{job}.py")
    run_id = boto3.client("glue").start_job_run(JobName=job)["JobRunId"]
    run = wait_run(job, run_id, timeout=30)
    assert run["JobRunState"] == "FAILED" and "does not exist" in run["ErrorMessage"]


def test_error_message_is_the_last_exception_line_without_module_path() -> None:
    out = [
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "ValueError: first",
        "24/01/01 INFO SparkContext: stopping",
        "Traceback (most recent call last):",
        '  File "job.py", line 9, in <module>',
        "    df = spark.read.parquet(path)",
        "pyspark.errors.exceptions.captured.AnalysisException: [PATH_NOT_FOUND] Path does not"
        " exist: s3://lake/silver/events.",
        "24/01/01 INFO ShutdownHookManager: Shutdown hook called",
    ]
    assert last_error(out) == (
        "AnalysisException: [PATH_NOT_FOUND] Path does not exist: s3://lake/silver/events."
    )
    assert last_error(["no traceback here"]) is None


def test_spark_submit_command_puts_jars_py_files_and_s3a_before_the_script(tmp_path) -> None:
    script = tmp_path / "job.py"
    cmd = glue_command(
        script,
        {"--day": "2026-03-09"},
        [tmp_path / "a.zip", tmp_path / "b.py"],
        [tmp_path / "x.jar"],
    )
    at = cmd.index(str(script))
    assert cmd[at:] == [str(script), "--day", "2026-03-09"]
    options = cmd[:at]
    assert options[options.index("--jars") + 1] == str(tmp_path / "x.jar")
    assert options[options.index("--py-files") + 1] == f"{tmp_path / 'a.zip'},{tmp_path / 'b.py'}"
    confs = s3a_confs("http://127.0.0.1:1234")
    assert "spark.hadoop.fs.s3.impl=org.apache.hadoop.fs.s3a.S3AFileSystem" in confs
    assert "spark.hadoop.fs.s3a.endpoint=http://127.0.0.1:1234" in confs
    assert "spark.hadoop.fs.s3a.path.style.access=true" in confs
