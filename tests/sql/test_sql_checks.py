"""Every data check runs on DuckDB over a documented-layout lake, passes on clean data and
fails (with the right count) on data that has the defect it guards against."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sql_lake import (
    DAYS,
    END,
    EVENT_TYPES,
    RECON_TYPES,
    START,
    digest,
    event,
    publish_as_written,
    write_rows,
    write_visitor_snapshots,
)

from wistia_pipeline.sql import (
    CheckResult,
    DataCheckFailed,
    check_result_from_athena,
    check_result_from_rows,
    list_queries,
    raise_for_failures,
    run_checks_local,
    run_query_local,
)

EXPECTED_CHECKS = {
    "gold_days_present",
    "gold_unique_dt_media",
    "gold_play_rate_range",
    "reconciliation_gap",
    "silver_no_raw_pii",
}


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.check_name: r for r in results}


def test_every_check_file_is_run_and_named_after_its_file(good_lake: Path) -> None:
    assert set(list_queries("checks")) == EXPECTED_CHECKS
    results = run_checks_local(str(good_lake), START, END)
    assert [r.check_name for r in results] == list_queries("checks")


def test_each_check_returns_exactly_one_row_with_the_contract_columns(good_lake: Path) -> None:
    for name in list_queries("checks"):
        columns, rows = run_query_local(
            str(good_lake), f"checks/{name}", start_date=START, end_date=END, tolerance=0
        )
        assert columns == ["check_name", "failures", "detail"], name
        assert len(rows) == 1, name
        assert isinstance(rows[0][1], int), name


def test_clean_lake_passes_every_check(good_lake: Path) -> None:
    results = run_checks_local(str(good_lake), START, END)
    assert all(r.passed for r in results), results
    raise_for_failures(results)  # does not raise


def _raw_email_snapshot(lake: Path) -> None:
    """Day 0's visitors snapshot lists a visitor whose email was not hashed."""
    write_visitor_snapshots(
        lake, {DAYS[0]: [{"visitor_key": "v1", "email_hash": "john@example.org"}]}
    )


def test_bad_lake_fails_every_check_with_the_right_counts(bad_lake: Path) -> None:
    _raw_email_snapshot(bad_lake)
    results = by_name(run_checks_local(str(bad_lake), START, END))
    assert not any(r.passed for r in results.values()), results

    assert results["gold_days_present"].failures == 1
    assert str(DAYS[1]) in results["gold_days_present"].detail

    assert results["gold_unique_dt_media"].failures == 1
    assert f"{DAYS[0]}/m1 x2" in results["gold_unique_dt_media"].detail

    assert results["gold_play_rate_range"].failures == 1
    assert f"{DAYS[2]}/m2" in results["gold_play_rate_range"].detail

    assert results["reconciliation_gap"].failures == 1
    assert f"{DAYS[2]}/m1: 10 vs 4" in results["reconciliation_gap"].detail

    pii = results["silver_no_raw_pii"]
    assert pii.failures == 4
    assert "events.email_hash email-like: 1" in pii.detail
    assert "events.org email-like: 1" in pii.detail
    assert "events.ip_hash ipv4-like: 1" in pii.detail
    assert "visitors.email_hash email-like: 1" in pii.detail
    # the detail never repeats the raw values it found
    assert "example.com" not in pii.detail and "203.0.113.7" not in pii.detail

    with pytest.raises(DataCheckFailed, match="5 of 5 data checks failed") as info:
        raise_for_failures(list(results.values()))
    assert len(info.value.results) == 5


def test_window_limits_the_checks(bad_lake: Path) -> None:
    _raw_email_snapshot(bad_lake)
    # Only the last day: the missing day and the day-0 duplicate / raw email are outside it.
    results = by_name(run_checks_local(str(bad_lake), DAYS[2], DAYS[2]))
    assert results["gold_days_present"].passed
    assert results["gold_unique_dt_media"].passed
    assert not results["gold_play_rate_range"].passed
    assert not results["reconciliation_gap"].passed
    # only the day-2 raw IP: the raw email of day 0's visitors snapshot is outside the window
    assert results["silver_no_raw_pii"].failures == 1


def test_reconciliation_tolerance_is_a_share_of_play_count(good_lake: Path) -> None:
    recon = good_lake / "gold" / "wistia" / "reconciliation" / "dt=2024-03-06"
    for f in recon.glob("*.parquet"):
        f.unlink()
    # 21 events vs 20 plays: gap 1 = 5 % of play_count.
    write_rows(
        recon,
        RECON_TYPES,
        [{"media_id": "m1", "events_count": 21, "play_count": 20, "difference": 1}],
    )
    strict = by_name(run_checks_local(str(good_lake), START, END, tolerance=0.0))
    assert strict["reconciliation_gap"].failures == 1
    assert by_name(run_checks_local(str(good_lake), START, END, tolerance=0.05))[
        "reconciliation_gap"
    ].passed
    assert not by_name(run_checks_local(str(good_lake), START, END, tolerance=0.04))[
        "reconciliation_gap"
    ].passed


def _set_recon(lake: Path, day, rows: list[dict]) -> None:
    folder = lake / "gold" / "wistia" / "reconciliation" / f"dt={day}"
    for f in folder.glob("*.parquet"):
        f.unlink()
    write_rows(folder, RECON_TYPES, rows)


def _recon(media: str, events: int, plays: int) -> dict:
    return {"media_id": media, "events_count": events, "play_count": plays,
            "difference": events - plays}  # fmt: skip


def test_reconciliation_newest_day_may_trail_plays_but_settled_days_may_not(
    good_lake: Path,
) -> None:
    """The tolerance rule: on the newest day D (= end_date) Wistia's by_date already counts
    plays whose events /stats/events has not returned yet, so events may trail plays there; on
    the settled days D-L .. D-1 (re-ingested by this run's lookback) they must match."""
    # A healthy newest day: 1 of m1's 4 plays and both of m2's plays not yet in /stats/events.
    _set_recon(good_lake, END, [_recon("m1", 3, 4), _recon("m2", 0, 2)])
    result = by_name(run_checks_local(str(good_lake), START, END))["reconciliation_gap"]
    assert result.passed, result
    assert f"newest day {END}" in result.detail
    # The next run (D+1) re-ingests D as a settled day: the same shortfall then is a real gap.
    next_run = by_name(run_checks_local(str(good_lake), START, END + timedelta(days=1)))
    assert next_run["reconciliation_gap"].failures == 2
    # A real gap on an older day of the window fails, whatever the newest day looks like.
    _set_recon(good_lake, DAYS[1], [_recon("m1", 1, 2), _recon("m2", 1, 1)])
    gap = by_name(run_checks_local(str(good_lake), START, END))["reconciliation_gap"]
    assert gap.failures == 1
    assert f"{DAYS[1]}/m1: 1 vs 2" in gap.detail
    assert str(END) not in gap.detail.split(":", 1)[1]  # the newest day is not reported
    # ... unless the tolerance covers it (1 of 2 plays = 50 %).
    assert by_name(run_checks_local(str(good_lake), START, END, tolerance=0.5))[
        "reconciliation_gap"
    ].passed


def test_reconciliation_newest_day_still_fails_on_excess_and_null(good_lake: Path) -> None:
    """Late events only ever lower events_count: more events than plays on D is a defect
    (duplicates, a wrong day), and so is a NULL difference."""
    _set_recon(good_lake, END, [_recon("m1", 5, 4), _recon("m2", 2, 2)])
    excess = by_name(run_checks_local(str(good_lake), START, END))["reconciliation_gap"]
    assert excess.failures == 1 and f"{END}/m1: 5 vs 4" in excess.detail
    _set_recon(
        good_lake,
        END,
        [{"media_id": "m1", "events_count": None, "play_count": 4, "difference": None}],
    )
    assert by_name(run_checks_local(str(good_lake), START, END))["reconciliation_gap"].failures == 1


def _listing(lake: Path, day, media: list[str]) -> None:
    """The run's catalogue snapshot of ``day`` (silver medias_snapshots), published and staged."""
    folder = lake / "silver" / "wistia" / "medias_snapshots" / f"dt={day}"
    for part in folder.glob("*.parquet"):
        part.unlink()
    write_rows(folder, {"media_id": "VARCHAR", "name": "VARCHAR"}, [{"media_id": m} for m in media])
    publish_as_written(lake)


def test_reconciliation_skips_uncaptured_days_of_a_deleted_media(good_lake: Path) -> None:
    """A media deleted in Wistia (by_date 404) whose events of a day were never matched by a
    captured by_date row cannot be reconciled; its captured days still are."""
    from sql_lake import FACT_TYPES

    fact_dir = good_lake / "gold" / "wistia" / "fact_media_daily" / f"dt={DAYS[1]}"
    gone = {"media_id": "gone", "loads": None, "plays": None, "events": 3, "unique_visitors": 2}
    write_rows(fact_dir, FACT_TYPES, [gone])
    _set_recon(good_lake, DAYS[1], [_recon("m1", 1, 1), _recon("m2", 1, 1), _recon("gone", 3, 0)])
    no_listing = by_name(run_checks_local(str(good_lake), START, END))["reconciliation_gap"]
    assert no_listing.failures == 1 and "gone" in no_listing.detail  # not known to be deleted

    _listing(good_lake, END, ["m1", "m2", "gone"])  # still listed: a real gap
    assert by_name(run_checks_local(str(good_lake), START, END))["reconciliation_gap"].failures == 1
    _listing(good_lake, END, ["m1", "m2"])  # the run's listing no longer holds it: deleted
    skipped = by_name(run_checks_local(str(good_lake), START, END))["reconciliation_gap"]
    assert skipped.passed, skipped
    assert "1 media-day(s) of deleted media" in skipped.detail
    # A captured day of the deleted media is still checked against its captured plays.
    for part in fact_dir.glob("*.parquet"):
        part.unlink()
    write_rows(fact_dir, FACT_TYPES, [{**gone, "loads": 9, "plays": 2}])
    _set_recon(good_lake, DAYS[1], [_recon("gone", 3, 2)])
    publish_as_written(good_lake)
    captured = by_name(run_checks_local(str(good_lake), START, END))["reconciliation_gap"]
    assert captured.failures == 1 and f"{DAYS[1]}/gone: 3 vs 2" in captured.detail


def test_nan_play_rate_and_rate_with_zero_loads_fail(good_lake: Path) -> None:
    from sql_lake import FACT_TYPES

    day = good_lake / "gold" / "wistia" / "fact_media_daily" / "dt=2024-03-05"
    for f in day.glob("*.parquet"):
        f.unlink()
    write_rows(
        day,
        FACT_TYPES,
        [
            {"media_id": "m1", "loads": 5, "plays": 1, "play_rate": float("nan")},
            {"media_id": "m2", "loads": 0, "plays": 0, "play_rate": 0.0},
            {"media_id": "m3", "loads": 0, "plays": 0, "play_rate": None},
        ],
    )
    result = by_name(run_checks_local(str(good_lake), START, END))["gold_play_rate_range"]
    assert result.failures == 2
    assert "zero loads" in result.detail


def test_empty_lake_reports_failures_instead_of_crashing(tmp_path: Path) -> None:
    results = by_name(run_checks_local(str(tmp_path / "no-lake-yet"), START, END))
    assert results["gold_days_present"].failures == 3
    assert {n for n, r in results.items() if r.passed} == EXPECTED_CHECKS - {"gold_days_present"}


def test_malformed_check_output_is_rejected() -> None:
    with pytest.raises(DataCheckFailed, match="expected exactly 1"):
        check_result_from_rows("x", ["check_name", "failures", "detail"], [])
    with pytest.raises(DataCheckFailed, match="columns"):
        check_result_from_rows("x", ["name", "failures", "detail"], [("a", 0, "")])
    with pytest.raises(DataCheckFailed, match="NULL"):
        check_result_from_rows("x", ["check_name", "failures", "detail"], [("a", None, "")])
    with pytest.raises(DataCheckFailed, match="a row of 2 values"):
        check_result_from_rows("x", ["check_name", "failures", "detail"], [("a", 0)])
    with pytest.raises(DataCheckFailed, match="'many', not an integer"):
        check_result_from_rows("x", ["check_name", "failures", "detail"], [("a", "many", "")])
    ok = check_result_from_rows("x", ["CHECK_NAME", "failures", "detail"], [("a", 0, None)])
    assert ok == CheckResult("a", 0, "") and ok.passed


def _athena(*rows: tuple[str | None, ...]) -> dict:
    """A GetQueryResults response (every value is text; None is a SQL NULL)."""
    cells = [[{} if v is None else {"VarCharValue": v} for v in row] for row in rows]
    return {"ResultSet": {"Rows": [{"Data": data} for data in cells]}}


def test_athena_results_follow_the_same_contract() -> None:
    header = ("check_name", "failures", "detail")
    assert check_result_from_athena("c", _athena(header, ("c", "2", "x"))) == CheckResult(
        "c", 2, "x"
    )
    assert check_result_from_athena("c", _athena(header, ("c", "0", None))).passed
    with pytest.raises(DataCheckFailed, match="c returned 0 rows"):
        check_result_from_athena("c", _athena(header))
    with pytest.raises(DataCheckFailed, match="columns"):  # no header row
        check_result_from_athena("c", _athena(("c", "0", "x")))
    with pytest.raises(DataCheckFailed, match="columns"):
        check_result_from_athena("c", {})
    with pytest.raises(DataCheckFailed, match="not an integer"):
        check_result_from_athena("c", _athena(header, ("c", "many", "x")))


def test_failure_message_names_the_window_and_every_failed_check() -> None:
    results = [CheckResult("a", 0, ""), CheckResult("b", 3, "d1"), CheckResult("c", 1, "d2")]
    with pytest.raises(DataCheckFailed) as info:
        raise_for_failures(results, window=(START, END))
    assert str(info.value) == (
        f"2 of 3 data checks failed for {START}..{END}: b: 3 failure(s) (d1); c: 1 failure(s) (d2)"
    )
    assert info.value.results == results


def _replace_events(lake: Path, day, rows: list[dict]) -> None:
    """Rewrite ``day``'s events in place (same file name, so its manifests stay valid)."""
    folder = lake / "silver" / "wistia" / "events" / f"dt={day}"
    for f in folder.glob("*.parquet"):
        f.unlink()
    write_rows(folder, EVENT_TYPES, rows)


# Free text that has an "@" but no email address: must not fail a run.
NOT_EMAILS = [
    "https://site.com/@user/post.html",
    "https://www.youtube.com/@channel.name/videos",
    "https://cdn.site.com/img/logo@2x.png",
    "Acme @ Berlin",
    "@handle",
    "Launch video (Q3) @ 1080p",
]
# Emails hidden in free text: must still be caught.
EMAILS = [
    "mailto:jane.doe@example.com",
    "https://site.com/u/john@example.org/profile",
    "Contact <jane_doe+promo@mail.example.co.uk>",
    "ops@acme.io",
]


def _free_text_events(day, values: list[str]) -> list[dict]:
    return [
        event(f"ft{i}", day, 1, "m1", "v1", 0.5, embed_url=v, org=v, media_name=v)
        for i, v in enumerate(values)
    ]


def test_pii_check_passes_at_signs_that_are_not_emails(good_lake: Path) -> None:
    _replace_events(good_lake, DAYS[0], _free_text_events(DAYS[0], NOT_EMAILS))
    visitors = [
        {"visitor_key": f"v{i}", "email_hash": digest(v), "org_name": v, "org_title": v}
        for i, v in enumerate(NOT_EMAILS)
    ]
    write_visitor_snapshots(good_lake, {DAYS[1]: visitors})
    result = by_name(run_checks_local(str(good_lake), START, END))["silver_no_raw_pii"]
    assert result.passed, result.detail


def test_pii_check_catches_emails_in_free_text(good_lake: Path) -> None:
    _replace_events(good_lake, DAYS[0], _free_text_events(DAYS[0], EMAILS))
    visitors = [{"visitor_key": "v9", "email_hash": digest("x"), "org_title": EMAILS[-1]}]
    write_visitor_snapshots(good_lake, {DAYS[1]: visitors})
    result = by_name(run_checks_local(str(good_lake), START, END))["silver_no_raw_pii"]
    n = len(EMAILS)
    assert result.failures == 3 * n + 1
    for column in ("events.embed_url", "events.org", "events.media_name"):
        assert f"{column} email-like: {n}" in result.detail
    assert "visitors.org_title email-like: 1" in result.detail
    assert "example" not in result.detail and "acme" not in result.detail


def test_pii_check_reads_only_the_window_of_visitors_snapshots(good_lake: Path) -> None:
    """In the staging database only the window's snapshot partitions are the run's output."""
    raw = [{"visitor_key": "v1", "email_hash": "john@example.org"}]
    write_visitor_snapshots(good_lake, {START - timedelta(days=1): raw})
    assert by_name(run_checks_local(str(good_lake), START, END))["silver_no_raw_pii"].passed
    write_visitor_snapshots(good_lake, {END: raw})
    result = by_name(run_checks_local(str(good_lake), START, END))["silver_no_raw_pii"]
    assert result.failures == 1 and "visitors.email_hash email-like: 1" in result.detail
