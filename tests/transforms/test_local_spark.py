"""The local runner's class-data-sharing archive: dumped once, then mapped by every JVM."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wistia_pipeline.config import ENV_NAMES, SPARK_CDS_DIR_ENV
from wistia_pipeline.local_spark import (
    SCRIPT_JVM_OPTIONS,
    GlueScriptError,
    cds_archive,
    cds_directory,
    class_data_sharing,
    run_glue_script,
    spark_submit_command,
)

TINY_JOB = """
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
print("rows", spark.range(10).count())
spark.stop()
"""


def test_the_archive_directory_is_configurable_and_can_be_turned_off(tmp_path) -> None:
    assert SPARK_CDS_DIR_ENV in ENV_NAMES
    assert cds_directory({SPARK_CDS_DIR_ENV: "off"}) is None
    assert cds_directory({SPARK_CDS_DIR_ENV: " OFF "}) is None
    assert cds_directory({SPARK_CDS_DIR_ENV: str(tmp_path)}) == tmp_path
    default = cds_directory({"XDG_CACHE_HOME": str(tmp_path)})
    assert default == tmp_path / "wistia-pipeline"
    assert cds_directory({}) == Path.home() / ".cache" / "wistia-pipeline"


def test_a_dumped_archive_is_kept_only_when_the_jvm_exited_by_itself(tmp_path) -> None:
    with class_data_sharing(tmp_path) as shared:
        dump = next(o for o in shared.options if o.startswith("-XX:ArchiveClassesAtExit="))
        Path(dump.partition("=")[2]).write_bytes(b"half an archive")
        # killed mid-dump: keep() is not called
    assert not cds_archive(tmp_path).exists()
    assert list(tmp_path.iterdir()) == []  # the partial dump is gone

    with class_data_sharing(tmp_path) as shared:
        dump = next(o for o in shared.options if o.startswith("-XX:ArchiveClassesAtExit="))
        Path(dump.partition("=")[2]).write_bytes(b"archive")
        shared.keep()
    assert cds_archive(tmp_path).read_bytes() == b"archive"
    assert list(tmp_path.iterdir()) == [cds_archive(tmp_path)]

    with class_data_sharing(tmp_path) as shared:
        assert shared.options == [f"-XX:SharedArchiveFile={cds_archive(tmp_path)}"]


def test_no_archive_options_when_turned_off() -> None:
    with class_data_sharing(None) as shared:
        assert shared.options == []
    command = spark_submit_command("job.py", {}, java_options=["-Xfoo"])
    java = next(a for a in command if a.startswith("spark.driver.extraJavaOptions="))
    assert java.endswith(" -Xfoo") and "-Duser.timezone=UTC" in java


def _loaded_from_archive(log: Path) -> int:
    """Classes the JVM took from the dynamic (top) archive, per ``-Xlog:class+load``."""
    return sum("source: shared objects file (top)" in line for line in log.open())


def test_the_first_run_dumps_the_archive_and_the_next_jvm_maps_it(tmp_path, monkeypatch) -> None:
    script = tmp_path / "tiny.py"
    script.write_text(TINY_JOB)
    archive_dir = tmp_path / "cds"
    run_glue_script(script, {}, {SPARK_CDS_DIR_ENV: str(archive_dir)})
    archive = cds_archive(archive_dir)
    assert archive.stat().st_size > 10 * 2**20  # thousands of Spark classes
    assert list(archive_dir.iterdir()) == [archive]

    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    # the next JVM maps it, also one with a script's own options (gold's C1-only JIT)
    for options in ((), SCRIPT_JVM_OPTIONS["wistia_gold.py"]):
        log = tmp_path / "classes.log"
        with class_data_sharing(archive_dir) as shared:
            assert shared.options == [f"-XX:SharedArchiveFile={archive}"]
            java = [*shared.options, *options, f"-Xlog:class+load=info:file={log}"]
            command = spark_submit_command(script, {}, java_options=java)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout[-2000:]
        assert "rows 10" in done.stdout
        assert _loaded_from_archive(log) > 1000, options


def test_gold_runs_on_c1_alone_and_silver_on_tiered_jit() -> None:
    def driver_options(script: str) -> list[str]:
        command = spark_submit_command(script, {})
        java = next(a for a in command if a.startswith("spark.driver.extraJavaOptions="))
        return java.partition("=")[2].split()

    assert "-XX:TieredStopAtLevel=1" in driver_options("glue_scripts/wistia_gold.py")
    assert not any("Tiered" in o for o in driver_options("glue_scripts/wistia_silver.py"))


@pytest.mark.parametrize("returncode", [-9, 137])
def test_a_killed_run_leaves_no_archive(tmp_path, monkeypatch, returncode) -> None:
    """A JVM killed while dumping may leave a partial file: it never becomes the archive."""
    script = tmp_path / "job.py"
    script.write_text("")

    def killed(command: list[str], **_kwargs: object) -> subprocess.CompletedProcess[str]:
        dump = next(a for a in command if "ArchiveClassesAtExit=" in a)
        target = dump.partition("ArchiveClassesAtExit=")[2].split()[0]
        Path(target).write_bytes(b"partial")
        return subprocess.CompletedProcess(command, returncode, stdout="Killed\n")

    monkeypatch.setattr(subprocess, "run", killed)
    with pytest.raises(GlueScriptError, match="exit code"):
        run_glue_script(script, {}, {SPARK_CDS_DIR_ENV: str(tmp_path / "cds")})
    assert list((tmp_path / "cds").iterdir()) == []


def test_each_spark_installation_and_jvm_gets_its_own_archive(tmp_path, monkeypatch) -> None:
    """HotSpot maps an archive only for the class path and JVM that wrote it: a second
    virtualenv (test-compat's) or another JDK must not share the file."""
    import pyspark

    here = cds_archive(tmp_path)
    assert here.parent == tmp_path and here.name.startswith(f"spark-{pyspark.__version__}-")
    assert cds_archive(tmp_path) == here  # stable
    monkeypatch.setattr(pyspark, "__file__", str(tmp_path / "other-venv" / "pyspark" / "x.py"))
    other_install = cds_archive(tmp_path)
    monkeypatch.undo()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "another-jdk"))
    other_jvm = cds_archive(tmp_path)
    assert len({here, other_install, other_jvm}) == 3
