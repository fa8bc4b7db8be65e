"""The report in a real browser (Debian's Chromium, Playwright): it opens with no console error
and no network request, every chart has drawn marks, the numbers on the page are the lake's,
it fits a phone, and a failed day's page links to the last published report.

Screenshots are saved under each test's tmp dir (``report-*.png``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from browser_support import watch
from report_lake import DAY, EMOJI_NAME, FAILED_DAY, Lake, settings_for

from wistia_pipeline.report import generate_report

EXPECTED_CHARTS = {
    "account_plays",
    "account_hours_watched",
    "media_plays",
    "media_hours_watched",
    "percent_viewed",
}


def gold_of_the_day(lake: Path) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """The day's numbers read from the lake's Parquet files here (not through the report)."""
    fact = f"{lake}/gold/wistia/fact_media_daily/dt={DAY}/*.parquet"
    events = f"{lake}/silver/wistia/events/dt={DAY}/*.parquet"
    with duckdb.connect() as con:
        loads, plays, hours = con.execute(
            f"SELECT sum(loads), sum(plays), sum(hours_watched) FROM read_parquet('{fact}')"
        ).fetchone()
        (viewers,) = con.execute(
            f"SELECT count(DISTINCT visitor_key) FROM read_parquet('{events}')"
        ).fetchone()
        media = con.execute(
            "SELECT media_id, media_name, plays, loads, hours_watched, unique_visitors "
            f"FROM read_parquet('{fact}')"
        ).fetchall()
    totals = {
        "loads": loads,
        "plays": plays,
        "hours_watched": hours,
        "unique_visitors": viewers,
        "play_rate": plays / loads,
    }
    by_media = {
        m[0]: dict(zip(("name", "plays", "loads", "hours_watched", "unique_visitors"), m[1:]))
        for m in media
    }
    return totals, by_media


def open_report(browser: Any, path: str, width: int = 1280, height: int = 900) -> tuple[Any, Any]:
    page = browser.new_page(viewport={"width": width, "height": height})
    seen = watch(page)
    page.goto(Path(path).as_uri())
    page.wait_for_load_state("load")
    return page, seen


def test_report_page_in_chromium(account: Lake, browser: Any, tmp_path: Path) -> None:
    result = generate_report(settings_for(account), DAY)  # real charts (vl-convert)
    page, seen = open_report(browser, result.report_uri)
    try:
        page.screenshot(path=str(tmp_path / "report-desktop.png"), full_page=True)
        assert seen.console_errors == [] and seen.page_errors == []
        assert seen.requests == [Path(result.report_uri).as_uri()]  # nothing but the file
        assert page.title() == f"Wistia video report {DAY}"
        assert page.locator("#status-badge").inner_text() == "Published"

        # Every chart: an inline SVG, named by its caption, with data marks actually drawn.
        charts = page.locator("figure.chart")
        keys = {charts.nth(i).get_attribute("data-chart") for i in range(charts.count())}
        assert keys == EXPECTED_CHARTS
        for i in range(charts.count()):
            chart = charts.nth(i)
            assert chart.locator("svg").count() == 2  # wide and narrow; CSS shows one
            svg = chart.locator("svg:visible")
            assert svg.count() == 1
            box = svg.bounding_box()
            assert box and box["width"] > 250 and box["height"] > 80, keys
            label = svg.get_attribute("aria-labelledby")
            assert page.locator(f"#{label}").inner_text().strip()
            marks = svg.locator("g.role-mark > *")
            assert marks.count() > 0
            drawn = marks.evaluate_all(
                "els => els.filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length"
            )
            assert drawn > 0, chart.get_attribute("data-chart")

        # The numbers on the page are gold's for that day.
        totals, by_media = gold_of_the_day(account.root)
        for key, expected in totals.items():
            card = page.locator(f'.metric[data-metric="{key}"]')
            assert float(card.get_attribute("data-value")) == pytest.approx(expected), key
        assert page.locator('.metric[data-metric="plays"] .value').inner_text() == (
            f"{totals['plays']:,}"
        )
        assert page.locator('.metric[data-metric="play_rate"] .value').inner_text() == (
            f"{100 * totals['play_rate']:.1f} %"
        )
        rows = page.locator("#top-by-plays tbody tr")
        shown_plays = []
        for i in range(rows.count()):
            row = rows.nth(i)
            media = by_media[row.get_attribute("data-media-id")]
            assert row.locator("td.name").inner_text() == " ".join(media["name"].split())
            for col in ("plays", "loads", "hours_watched", "unique_visitors"):
                value = row.locator(f'td[data-col="{col}"]').get_attribute("data-value")
                assert float(value) == pytest.approx(media[col]), col
            shown_plays.append(media["plays"])
        top = sorted((m["plays"] for m in by_media.values() if m["plays"]), reverse=True)
        assert shown_plays == top[: len(shown_plays)]
        # The emoji / CJK / markup name is text, not markup.
        assert page.get_by_text("Onboarding 🚀 step 1", exact=False).count() >= 1
        assert page.locator("td.name b").count() == 0
        assert EMOJI_NAME in page.locator("#top-by-plays").inner_text()
    finally:
        page.close()


def test_report_fits_a_phone(account: Lake, browser: Any, tmp_path: Path) -> None:
    result = generate_report(settings_for(account), DAY)
    page, seen = open_report(browser, result.report_uri, width=390, height=844)
    try:
        page.screenshot(path=str(tmp_path / "report-phone.png"), full_page=True)
        assert seen.console_errors == []
        # No sideways scrolling of the page: wide tables scroll inside their own box.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # Each chart shows its narrow layout: fits the width, and its text stays readable
        # (rendered at >= 11 px, not a laptop chart scaled down).
        visible = page.locator("figure.chart svg:visible")
        assert visible.count() == page.locator("figure.chart").count() == 5
        for svg in visible.all():
            box = svg.bounding_box()
            assert box and box["width"] <= 390
            sizes = svg.locator("text").evaluate_all(
                "els => els.map(e => e.getBoundingClientRect().height).filter(h => h > 0)"
            )
            assert sizes and min(sizes) >= 11, sizes
        card = page.locator('.metric[data-metric="plays"]').bounding_box()
        assert card and card["width"] > 120
    finally:
        page.close()


def test_failed_day_page_links_to_the_last_published_report(
    account: Lake, browser: Any, tmp_path: Path
) -> None:
    settings = settings_for(account)
    generate_report(settings, DAY)
    failed = generate_report(settings, FAILED_DAY)
    page, seen = open_report(browser, failed.report_uri)
    try:
        page.screenshot(path=str(tmp_path / "report-failed.png"), full_page=True)
        assert seen.console_errors == []
        banner = page.get_by_role("alert")
        assert "is not published" in banner.inner_text()
        assert "data checks did not pass" in banner.inner_text()
        assert page.locator("[data-metric]").count() == 0
        assert page.locator("svg").count() == 0
        page.locator("#not-published a").first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/dt={DAY}/index.html")
        assert page.locator("#status-badge").inner_text() == "Published"
    finally:
        page.close()
