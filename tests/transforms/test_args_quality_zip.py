import datetime as dt
import zipfile

import pytest

from wistia_dev.zips import build_glue_zip
from wistia_pipeline.glue_args import (
    JobArgumentError,
    job_window,
    parse_date,
    parse_share,
    resolve_options,
    window_dates,
)
from wistia_pipeline.transforms.quality import (
    RejectCount,
    RejectShareExceeded,
    check_reject_shares,
)

REQ = ("start_date", "end_date", "lake_uri")


def test_glue_style_arguments():
    argv = [
        "script.py",
        "--JOB_NAME",
        "j",
        "--start_date",
        "2026-03-01",
        "--end_date=2026-03-03",
        "--lake_uri",
        "s3://b/lake",
        "--extra",
        "x",
    ]
    args = resolve_options(argv, REQ, {"pii_secret_id": None, "max_reject_share": "0.01"})
    assert args == {
        "start_date": "2026-03-01",
        "end_date": "2026-03-03",
        "lake_uri": "s3://b/lake",
        "pii_secret_id": None,
        "max_reject_share": "0.01",
    }
    args = resolve_options([*argv, "--max_reject_share", "0.2"], REQ, {"max_reject_share": "0.01"})
    assert args["max_reject_share"] == "0.2"


def test_missing_and_bad_arguments():
    with pytest.raises(JobArgumentError, match="--lake_uri"):
        resolve_options(["s", "--start_date", "2026-03-01", "--end_date", "2026-03-01"], REQ, {})
    with pytest.raises(JobArgumentError, match="--start_date: expected one argument"):
        resolve_options(["s", "--start_date", "--end_date", "x", "--lake_uri", "y"], REQ, {})
    with pytest.raises(JobArgumentError, match="--lake_uri"):  # no abbreviations, as on Glue
        resolve_options(["s", "--start_date", "a", "--end_date", "b", "--lake", "c"], REQ, {})
    with pytest.raises(JobArgumentError, match="YYYY-MM-DD"):
        parse_date("03/01/2026", "start_date")
    with pytest.raises(JobArgumentError, match="after"):
        window_dates(dt.date(2026, 3, 2), dt.date(2026, 3, 1))
    with pytest.raises(JobArgumentError):
        parse_share("2", "max_reject_share")
    assert window_dates(dt.date(2026, 2, 28), dt.date(2026, 3, 1)) == [
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 1),
    ]


def test_job_window():
    args = {
        "start_date": "2026-02-28",
        "end_date": "2026-03-01",
        "lake_uri": "s3://b/lake/",
        "run_id": "manual__1",
    }
    days = [dt.date(2026, 2, 28), dt.date(2026, 3, 1)]
    assert job_window(args) == (days, "s3://b/lake", "manual__1")
    with pytest.raises(JobArgumentError, match="after"):
        job_window({**args, "start_date": "2026-03-02"})
    with pytest.raises(JobArgumentError, match="run_id"):
        job_window({**args, "run_id": " "})


def test_reject_share_gate():
    check_reject_shares([RejectCount("events", 1000, 10), RejectCount("medias", 0, 0)], 0.01)
    with pytest.raises(RejectShareExceeded, match=r"events: 11/1000"):
        check_reject_shares([RejectCount("events", 1000, 11)], 0.01)


def test_glue_zip_contents(tmp_path):
    out = build_glue_zip(tmp_path / "g.zip")
    names = zipfile.ZipFile(out).namelist()
    assert "wistia_pipeline/transforms/silver.py" in names
    assert "wistia_pipeline/bronze.py" in names and "wistia_pipeline/glue_args.py" in names
    assert not any(n.startswith("wistia_pipeline/packaging/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    again = build_glue_zip(tmp_path / "g2.zip")
    assert out.read_bytes() == again.read_bytes()  # reproducible
