"""A failed Spark step's stored error is one line: the root cause and the file involved.

Real failing Spark runs, both ways a failure leaves a job: the real gold Glue script under
``spark-submit`` over a staged silver part that is not parquet (the script's
``concise_failure``), a script without that wrapper whose raw Py4J traceback the local runner
reads (a truncated gzip part), and the same failures in this process's Spark session.
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import pytest
from transform_helpers import (
    GOLD_SCRIPT,
    PII_KEY,
    SILVER_SCRIPT,
    job_args,
    load_script,
    write_bronze_run,
)

from wistia_pipeline import bronze
from wistia_pipeline.errors import permanent_error_name
from wistia_pipeline.local_spark import GlueScriptError, run_glue_script
from wistia_pipeline.spark_errors import SparkJobFailed, concise_failure, summarize

D = dt.date(2026, 3, 5)
NOT_PARQUET = b"PAR1 this part was overwritten by something else"

RAW_READ = """
import sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
spark.read.text(sys.argv[2]).count()
"""


def staged_silver(lake: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run silver of ``D`` in this process (run ``r1``); one of its staged parquet parts."""
    monkeypatch.setenv("WISTIA_PII_HASH_KEY", PII_KEY)
    records = [
        ({"event_key": f"e{i}", "received_at": f"{D}T10:00:00Z", "media_id": "m1"}, None)
        for i in range(5)
    ]
    write_bronze_run(lake, "events", D, "b1", records, f"{D}T23:00:00Z")
    args = job_args(lake, D, D, "r1")
    load_script(SILVER_SCRIPT).main(["x", *(t for k, v in args.items() for t in (f"--{k}", v))])
    return sorted((lake / "silver" / "wistia" / "events").rglob("*.parquet"))[0]


def test_a_failed_glue_job_fails_with_its_root_cause_and_file(spark, tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    part = staged_silver(lake, monkeypatch)
    part.write_bytes(NOT_PARQUET)
    part.with_name(f".{part.name}.crc").unlink()  # as on S3: no Hadoop checksum beside it

    with pytest.raises(GlueScriptError) as failed:
        run_glue_script(GOLD_SCRIPT, job_args(lake, D, D, "r1"))  # spark-submit, as the DAG
    message = str(failed.value)
    prefix = "wistia_gold.py failed with exit code 1: "
    assert message.startswith(prefix) and "\n" not in message, message
    cause = message.removeprefix(prefix)
    assert cause.startswith("RuntimeException: ") and "is not a Parquet file" in cause, cause
    assert str(part) in cause

    # The same line from the failure in this process: what the script raises on Glue too.
    argv = ["x", *(t for k, v in job_args(lake, D, D, "r1").items() for t in (f"--{k}", v))]
    with pytest.raises(SparkJobFailed) as in_process, concise_failure():
        load_script(GOLD_SCRIPT).main(argv)
    assert str(in_process.value) == cause
    assert type(in_process.value.__cause__).__name__ == "Py4JJavaError"  # the full trace kept


def test_a_raw_spark_traceback_is_read_down_to_its_java_root_cause(spark, tmp_path):
    """No wrapper in the script: the runner reads the last ``Caused by:`` of the traceback."""
    part = tmp_path / "lake" / "bronze" / "wistia" / "events" / f"dt={D}" / "part-00000.ndjson.gz"
    part.parent.mkdir(parents=True)
    whole = gzip.compress(b"".join(b'{"n": %d}\n' % i for i in range(20_000)))
    part.write_bytes(whole[: len(whole) // 2])
    script = tmp_path / "raw_read.py"
    script.write_text(RAW_READ)

    with pytest.raises(GlueScriptError) as failed:
        run_glue_script(script, {"path": str(part)})
    message = str(failed.value)
    assert (
        message
        == "raw_read.py failed with exit code 1: EOFException: Unexpected end of input stream"
    )

    with pytest.raises(SparkJobFailed) as in_process, concise_failure():
        spark.read.text(str(part)).count()
    assert str(in_process.value) == message.partition("exit code 1: ")[2]
    # Cut before its "Caused by:" lines (a length-limited ErrorMessage), the failed task's own
    # error in Spark's "Job aborted" line is the root cause.
    head = str(in_process.value.__cause__).partition("\nDriver stacktrace:")[0]
    assert "Caused by:" not in head
    assert summarize(head) == str(in_process.value)


def test_a_python_failure_keeps_its_name_and_file_and_stays_permanent(tmp_path):
    uri = str(tmp_path / "lake" / "bronze" / "wistia" / "events" / "part-00000.ndjson.gz")
    with pytest.raises(SparkJobFailed) as failed, concise_failure():
        bronze.verified_text(uri, b"\x1f\x8b\x08\x00", {"sha256": "0" * 64, "records": 1})
    message = str(failed.value)
    assert message.startswith(f"BronzePartMismatch: bronze part {uri}: truncated: ")
    assert "\n" not in message
    # The local runner's error and Glue's ErrorMessage carry this line: still no retries.
    assert permanent_error_name(GlueScriptError(f"wistia_silver.py failed: {message}")) == (
        "BronzePartMismatch"
    )
    assert summarize(f"wistia_pipeline.spark_errors.SparkJobFailed: {message}") == message


def test_a_spark_file_url_becomes_the_lake_path_and_is_added_when_not_named():
    text = (
        "Py4JJavaError: An error occurred while calling o9.save.\n"
        ": org.apache.spark.SparkException: [TASK_WRITE_FAILED] Task failed while writing rows"
        " to file:/tmp/my%20lake/gold/wistia/dim_media/v=1.\n"
        "\tat org.apache.spark.sql.errors.QueryExecutionErrors$.taskFailedWhileWritingRowsError"
        "(QueryExecutionErrors.scala:789)\n"
        "Caused by: java.io.IOException: No space left on device\n"
        "\tat java.base/java.io.FileOutputStream.writeBytes(Native Method)\n"
    )
    assert summarize(text) == (
        "IOException: No space left on device (file /tmp/my lake/gold/wistia/dim_media/v=1)"
    )
