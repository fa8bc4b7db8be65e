"""The daily report without a browser: numbers against the lake, edge cases, the lake layout
(local and s3://), the Athena runner, the CLI and the report task's decisions."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from report_lake import DAY, EMOJI_NAME, FAILED_DAY, MISSING_DAY, Lake, settings_for

from wistia_pipeline.report import generate_report, report_uri
from wistia_pipeline.report.model import (
    MIN_LOADS,
    DayState,
    MediaRow,
    rank_by_play_rate,
    rank_by_plays,
)
from wistia_pipeline.report.queries import AthenaQueryFailed, AthenaRunner, DuckDBRunner
from wistia_pipeline.report.writer import build, summary_uri
from wistia_pipeline.state.sqlite_store import SQLiteRunStateStore
from wistia_pipeline.storage import open_storage

NOW = datetime(2026, 3, 31, 6, 0, tzinfo=UTC)


def fake_svg(spec: Any) -> str:
    """Stands in for vl-convert where only the page's text matters (fast)."""
    return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'


def model(lake: Lake, day: date = DAY, lookback: int = 2) -> Any:
    settings = settings_for(lake)
    store = SQLiteRunStateStore(lake.state_db)
    from wistia_pipeline.report.writer import resolve_state

    state = resolve_state(store, day, None)
    return build(settings, day, lookback, state, open_storage(str(lake.root)), None, NOW, store)


def totals(lake: Lake, day: date) -> dict[str, float]:
    """The day's totals computed here from the rows written to the lake (not the report's SQL)."""
    rows = lake.fact.get(day, [])
    return {
        "loads": sum(r["loads"] for r in rows),
        "plays": sum(r["plays"] for r in rows),
        "hours_watched": sum(r["hours_watched"] for r in rows),
        "unique_visitors": len({e["visitor_key"] for e in lake.events.get(day, [])}),
    }


def test_published_day_matches_the_lake(account: Lake) -> None:
    report = model(account)
    assert report.state.status == "published" and report.shows_numbers
    expected = totals(account, DAY)
    metrics = {m.key: m for m in report.metrics}
    for key in ("loads", "plays", "unique_visitors"):
        assert metrics[key].value == expected[key], key
    assert metrics["hours_watched"].value == pytest.approx(expected["hours_watched"])
    assert metrics["play_rate"].value == pytest.approx(expected["plays"] / expected["loads"])
    # Baseline: the 7 days before D, without the failed day (its gold did not pass the checks).
    baseline = [
        DAY - timedelta(days=k) for k in range(1, 8) if DAY - timedelta(days=k) != FAILED_DAY
    ]
    assert report.baseline_days == tuple(sorted(baseline))
    mean_plays = sum(totals(account, d)["plays"] for d in baseline) / len(baseline)
    assert metrics["plays"].baseline == pytest.approx(mean_plays)
    weighted = sum(totals(account, d)["plays"] for d in baseline) / sum(
        totals(account, d)["loads"] for d in baseline
    )
    assert metrics["play_rate"].baseline == pytest.approx(weighted)
    assert any("left out of the 7-day average" in n for n in report.notes)
    # 28-day trend: a day without gold rows counts as zero; the failed day is marked.
    trend = {p.day: p for p in report.account_trend}
    assert len(trend) == 28 and trend[MISSING_DAY].plays == 0
    assert trend[FAILED_DAY].published is False and trend[DAY].published is True
    # Top media: trend lines for the top 5 by plays, with every day of the trend.
    assert [m.media_id for m in report.trend_media] == [m.media_id for m in report.top_by_plays[:5]]
    assert len(report.media_trend) == 5 * 28
    # Reconciliation over the window [D-2, D]; D-1 has late events (a gap), D is provisional.
    recon = {r.day: r for r in report.reconciliation}
    assert sorted(recon) == [DAY - timedelta(days=2), DAY - timedelta(days=1), DAY]
    assert recon[DAY - timedelta(days=1)].abs_difference > 0
    assert recon[DAY].provisional and not recon[DAY - timedelta(days=1)].provisional


def test_top_by_play_rate_needs_a_minimum_of_loads(account: Lake) -> None:
    report = model(account)
    tiny = next(m for m in report.top_by_plays if m.media_id == "m_tiny")
    assert tiny.play_rate == 1.0 and tiny.loads < MIN_LOADS
    assert "m_tiny" not in [m.media_id for m in report.top_by_rate]
    rates = [m.play_rate for m in report.top_by_rate]
    assert rates == sorted(rates, reverse=True) and all(
        m.loads >= MIN_LOADS for m in report.top_by_rate
    )


def test_ranking_ties_and_rows_without_plays() -> None:
    def row(media: str, loads: int, plays: int) -> MediaRow:
        return MediaRow(media, media, loads, plays, plays / loads if loads else None, 0, 0, 0, None)

    media = [row("b", 50, 10), row("a", 40, 10), row("c", 5, 0), row("d", 0, 0)]
    assert [m.media_id for m in rank_by_plays(media)] == ["a", "b"]
    assert [m.media_id for m in rank_by_play_rate(media, min_loads=20)] == ["a", "b"]


def test_failed_day_says_so_and_shows_no_numbers(account: Lake) -> None:
    settings = settings_for(account)
    result = generate_report(settings, FAILED_DAY, svg_renderer=fake_svg, now=NOW)
    assert result.status == "failed"
    page = Path(result.report_uri).read_text()
    assert "is not published" in page and "data checks did not pass" in page
    assert "gold_play_rate_range" in page  # the recorded error
    assert "data-metric=" not in page and "<svg" not in page
    # It links to the last published day (the watermark) instead of showing stale numbers.
    assert f'href="../dt={DAY.isoformat()}/index.html"' in page
    summary = json.loads(Path(summary_uri(str(account.root), FAILED_DAY)).read_text())
    assert summary["status"] == "failed" and summary["totals"] is None


def test_running_and_unrecorded_days(account: Lake, tmp_path: Path) -> None:
    settings = settings_for(account)
    store = SQLiteRunStateStore(account.state_db)
    running = generate_report(
        settings,
        DAY,
        state=DayState(status="running", run_id="r"),
        store=store,
        svg_renderer=fake_svg,
    )
    page = Path(running.report_uri).read_text()
    assert "not published yet: a run is processing it" in page and "data-metric=" not in page
    # A lake without run state: the numbers, flagged as not published by a recorded run.
    other = settings_for(account, WISTIA_STATE_DB=str(tmp_path / "empty.sqlite"))
    unrecorded = generate_report(other, DAY, svg_renderer=fake_svg)
    page = Path(unrecorded.report_uri).read_text()
    assert unrecorded.status == "unrecorded"
    assert "no record of" in page and 'data-metric="plays"' in page


def test_new_account_without_plays(new_account: Lake) -> None:
    report = model(new_account)
    assert report.shows_numbers and not report.has_plays
    assert report.baseline_days == (DAY - timedelta(days=2), DAY - timedelta(days=1))
    assert report.top_by_plays == () and report.trend_media == ()
    assert {m.key: m.value for m in report.metrics}["plays"] == 0
    result = generate_report(settings_for(new_account), DAY, svg_renderer=fake_svg)
    page = Path(result.report_uri).read_text()
    assert f"No video was played on {DAY}" in page
    assert "Compared with the daily average of the 2 earlier days" in page
    assert "Only 3 days of data so far" in page


def test_first_day_of_an_account_has_nothing_to_compare(tmp_path: Path) -> None:
    from report_lake import write_account_lake

    lake = write_account_lake(tmp_path / "lake", tmp_path / "state.sqlite", DAY, history=1)
    report = model(lake)
    assert report.baseline_days == () and all(m.baseline is None for m in report.metrics)
    page = Path(generate_report(settings_for(lake), DAY, svg_renderer=fake_svg).report_uri)
    assert "no earlier day to compare with" in page.read_text()


def test_names_are_escaped_not_interpreted(account: Lake) -> None:
    result = generate_report(settings_for(account), DAY, svg_renderer=fake_svg)
    page = Path(result.report_uri).read_text(encoding="utf-8")
    assert "Onboarding 🚀 step 1 — 製品紹介 &lt;b&gt;&amp;&lt;/b&gt;" in page
    assert EMOJI_NAME not in page  # the raw <b> never reaches the HTML


def test_latest_moves_forward_only(account: Lake) -> None:
    settings = settings_for(account)
    lake = str(account.root)
    first = generate_report(settings, DAY, svg_renderer=fake_svg)
    assert first.latest_uri == report_uri(lake, "latest")
    older = generate_report(settings, DAY - timedelta(days=1), svg_renderer=fake_svg)
    assert older.latest_uri is None
    latest = json.loads(Path(summary_uri(lake, "latest")).read_text())
    assert latest["day"] == DAY.isoformat()
    assert Path(report_uri(lake, "latest")).read_bytes() == Path(first.report_uri).read_bytes()


def test_late_data_healed_is_measured_against_the_earlier_report(account: Lake) -> None:
    settings = settings_for(account)
    lake = str(account.root)
    before = DAY - timedelta(days=1)
    generate_report(settings, before, svg_renderer=fake_svg)
    # What D-1's own report recorded, with 7 events fewer than gold holds now (they arrived
    # late and D's run, whose window covers D-1, recomputed the day).
    path = Path(summary_uri(lake, before))
    summary = json.loads(path.read_text())
    summary["totals"]["events"] -= 7
    path.write_text(json.dumps(summary))
    report = model(account)
    late = {c.day: c for c in report.late}
    assert sorted(late) == [DAY - timedelta(days=2), before]
    assert late[before].delta("events") == 7 and late[before].delta("plays") == 0
    assert late[DAY - timedelta(days=2)].before is None  # never reported
    page = Path(generate_report(settings, DAY, svg_renderer=fake_svg).report_uri).read_text()
    assert "+7 events since its report (late data)" in page


def test_s3_lake_gets_html_objects(account: Lake, aws_env: Any) -> None:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="lake-bucket")
    settings = settings_for(account, WISTIA_LAKE_URI="s3://lake-bucket/lake")
    # Gold is read through a runner (DuckDB over the local copy here, Athena on AWS).
    result = generate_report(
        settings, DAY, runner=DuckDBRunner(str(account.root)), svg_renderer=fake_svg
    )
    assert result.report_uri == f"s3://lake-bucket/lake/reports/wistia/dt={DAY}/index.html"
    head = s3.head_object(Bucket="lake-bucket", Key=f"lake/reports/wistia/dt={DAY}/index.html")
    assert head["ContentType"].startswith("text/html")
    latest = s3.get_object(Bucket="lake-bucket", Key="lake/reports/wistia/latest/index.html")
    assert b'data-metric="plays"' in latest["Body"].read()


class FakeAthena:
    """Answers like Athena: every value as text, the header as the first row of page one."""

    def __init__(self, pages: list[dict], state: str = "SUCCEEDED") -> None:
        self.pages, self.state, self.started = pages, state, []

    def start_query_execution(self, **kwargs: Any) -> dict:
        self.started.append(kwargs)
        return {"QueryExecutionId": f"q{len(self.started)}"}

    def get_query_execution(self, QueryExecutionId: str) -> dict:
        return {"QueryExecution": {"Status": {"State": self.state, "StateChangeReason": "boom"}}}

    def get_paginator(self, name: str) -> Any:
        pages = self.pages

        class Paginator:
            def paginate(self, QueryExecutionId: str) -> list[dict]:
                return pages

        return Paginator()


def athena_page(rows: list[list[str | None]], header: bool) -> dict:
    columns = [
        {"Name": "dt", "Type": "varchar"},
        {"Name": "plays", "Type": "bigint"},
        {"Name": "hours_watched", "Type": "double"},
        {"Name": "recomputed_at", "Type": "timestamp"},
    ]
    data = [{"Data": [{"VarCharValue": c["Name"]} for c in columns]}] if header else []
    data += [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]
    return {"ResultSet": {"ResultSetMetadata": {"ColumnInfo": columns}, "Rows": data}}


def test_athena_runner_types_and_pages() -> None:
    client = FakeAthena(
        [
            athena_page([["2026-03-29", "12", "1.5", "2026-03-30 01:02:03.000"]], header=True),
            athena_page([["2026-03-30", "0", None, None]], header=False),
        ]
    )
    runner = AthenaRunner(client, "wistia", "wg", "s3://out/", sleep=lambda _: None)
    rows = runner.run_many({"a": "SELECT 1", "b": "SELECT 2"})
    assert [c["QueryExecutionContext"] for c in client.started] == [{"Database": "wistia"}] * 2
    assert client.started[0]["ResultConfiguration"] == {"OutputLocation": "s3://out/"}
    assert rows["a"] == [
        {
            "dt": "2026-03-29",
            "plays": 12,
            "hours_watched": 1.5,
            "recomputed_at": datetime(2026, 3, 30, 1, 2, 3, tzinfo=UTC),
        },
        {"dt": "2026-03-30", "plays": 0, "hours_watched": None, "recomputed_at": None},
    ]
    with pytest.raises(AthenaQueryFailed, match="FAILED: boom"):
        AthenaRunner(FakeAthena([], "FAILED"), "wistia", "wg", sleep=lambda _: None).run_many(
            {"a": "SELECT 1"}
        )


def test_make_report_cli(account: Lake) -> None:
    env = {
        "PATH": str(Path(sys.executable).parent),
        "WISTIA_STATE_DIR": str(account.root.parent),
        "WISTIA_LAKE_URI": str(account.root),
        "WISTIA_STATE_DB": str(account.state_db),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "wistia_pipeline.report"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    # No DAY: the watermark (the last published day).
    assert report_uri(str(account.root), DAY) in proc.stdout
    assert Path(report_uri(str(account.root), "latest")).is_file()
    empty = {
        **env,
        "WISTIA_LAKE_URI": str(account.root / "nothing"),
        "WISTIA_STATE_DB": str(account.root.parent / "none.sqlite"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "wistia_pipeline.report"], env=empty, capture_output=True, text=True
    )
    assert proc.returncode == 1 and "nothing to report" in proc.stderr


class FakeTI:
    def __init__(self, xcoms: dict[tuple[str, str], Any]) -> None:
        self.xcoms = xcoms

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.xcoms.get((task_ids, key))


def run_report_task(
    lake: Lake, monkeypatch: pytest.MonkeyPatch, day: date, run_id: str, xcoms: dict
) -> dict:
    from wistia_airflow import runtime
    from wistia_airflow.operators import ReportOperator

    monkeypatch.setattr(runtime, "settings", lambda: settings_for(lake))
    context = {
        "ti": FakeTI(xcoms),
        "run_id": run_id,
        "data_interval_start": datetime(day.year, day.month, day.day, tzinfo=UTC),
        "params": {"lookback_days": 1},
    }
    return ReportOperator().execute(context)


def test_report_task_published_failed_and_not_held(
    account: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = [{"check_name": "gold_days_present", "failures": 0, "detail": "every day ok"}]
    out = run_report_task(
        account,
        monkeypatch,
        DAY,
        f"scheduled__{DAY}",
        {("publish", "return_value"): {"day": str(DAY)}, ("checks", "return_value"): checks},
    )
    assert out["rendered"] and out["status"] == "published" and out["notified"] is False
    page = Path(out["report_uri"]).read_text()
    assert "gold_days_present" in page and "every day ok" in page
    # This run claimed FAILED_DAY and did not publish it: the step's error, not stale numbers.
    store = SQLiteRunStateStore(account.state_db)
    store.claim_day(FAILED_DAY, "manual__retry")
    out = run_report_task(
        account,
        monkeypatch,
        FAILED_DAY,
        "manual__retry",
        {("ingest", "error"): "WistiaApiError: 401 Unauthorized"},
    )
    assert out["status"] == "failed"
    page = Path(out["report_uri"]).read_text()
    assert "at the <strong>ingest</strong> step" in page and "401 Unauthorized" in page
    # Another run holds the day (this run's claim failed): nothing is written.
    out = run_report_task(account, monkeypatch, FAILED_DAY, "manual__other", {})
    assert out == {"rendered": False, "reason": f"{FAILED_DAY} is held by manual__retry"}


def test_report_notification_with_link(account: Lake, aws_env: Any) -> None:
    import boto3

    from wistia_airflow.callbacks import notify_report
    from wistia_pipeline.report import report_link

    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="wistia-reports")["TopicArn"]
    queue = sqs.create_queue(QueueName="reports")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    off = settings_for(account)
    assert notify_report({"run_id": "r"}, off, {"day": str(DAY)}) is False  # off by default
    on = settings_for(
        account,
        WISTIA_REPORT_SNS_TOPIC_ARN=topic,
        WISTIA_REPORT_BASE_URL="https://reports.example.com/",
    )
    link = report_link(on, report_uri(str(account.root), DAY))
    assert link == f"https://reports.example.com/wistia/dt={DAY}/index.html"
    report = {"day": str(DAY), "status": "published", "link": link, "latest_link": None}
    assert notify_report({"run_id": "scheduled__x"}, on, report) is True
    body = json.loads(sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]["Body"])
    assert body == {
        "dag_id": "wistia_daily",
        "run_id": "scheduled__x",
        "data_day": str(DAY),
        "status": "published",
        "report": link,
        "latest": None,
    }


def test_lambda_handler_for_the_twin(account: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    from wistia_pipeline.report.lambda_handler import handler

    for name, value in {
        "WISTIA_STATE_DIR": str(account.root.parent),
        "WISTIA_LAKE_URI": str(account.root),
        "WISTIA_STATE_DB": str(account.state_db),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WISTIA_REPORT_SNS_TOPIC_ARN", raising=False)
    out = handler({"logical_date": str(DAY), "run_id": f"scheduled__{DAY}", "lookback_days": 1})
    assert out["status"] == "published" and out["notified"] is False
    assert out["link"] == report_uri(str(account.root), DAY)
    failed = handler(
        {
            "logical_date": str(FAILED_DAY),
            "run_id": "exec-1",
            "published": False,
            "error": {"Error": "DataCheckFailed", "Cause": "checks: 1 failed"},
        }
    )
    assert failed["status"] == "failed"
    assert "DataCheckFailed" in Path(failed["report_uri"]).read_text()


def test_published_day_with_a_check_override_says_which_and_why(
    account: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: a day published with an override names the overridden check, its failures,
    who accepted it and why in the data-status section (and an unused one as unused)."""
    from wistia_pipeline.state import CheckOverride

    run_id = f"manual__{DAY}"
    gap = CheckOverride(
        "reconciliation_gap", 3, "2026-03-29: events 9 vs plays 0", "media 42 deleted", "alice"
    )
    unused = CheckOverride("gold_days_present", 0, "", "media 42 deleted", "alice")
    store = SQLiteRunStateStore(account.state_db)
    store.claim_day(DAY, run_id)
    store.mark_succeeded(DAY, run_id, {"checks_passed": 4}, overrides=[gap, unused])
    checks = [
        {"check_name": "reconciliation_gap", "failures": 3, "detail": gap.detail},
        {"check_name": "gold_days_present", "failures": 0, "detail": "every day ok"},
    ]
    xcoms = {("publish", "return_value"): {"day": str(DAY)}, ("checks", "return_value"): checks}
    out = run_report_task(account, monkeypatch, DAY, run_id, xcoms)
    assert out["status"] == "published"
    page = Path(out["report_uri"]).read_text()
    section = page[page.index('id="data-status"') :]
    checks_dd = section[section.index('id="ds-checks"') :]
    checks_dd = checks_dd[: checks_dd.index("</dd>")]
    assert "1 of 2 passed; overridden by an operator: reconciliation_gap" in checks_dd
    overrides = section[section.index('id="ds-overrides"') :]
    overrides = overrides[: overrides.index("</dd>")]
    assert "reconciliation_gap: 3 failure(s) (2026-03-29: events 9 vs plays 0)" in overrides
    assert "published anyway by alice; reason: media 42 deleted" in overrides
    assert "gold_days_present: named by alice but unused (the check passed)" in overrides
    # The twin's report Lambda reads the same record (no XComs): the same section.
    result = generate_report(settings_for(account), DAY, lookback_days=1)
    page = Path(result.report_uri).read_text()
    assert "overridden by an operator: reconciliation_gap" in page
    assert "reason: media 42 deleted" in page
