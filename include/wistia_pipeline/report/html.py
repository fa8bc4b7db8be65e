"""The report model as one self-contained HTML page (inline CSS and SVG; no script, no fetch).

:func:`render_html` is pure apart from the SVG rendering it is given (``svg_renderer``,
vl-convert by default). Every number that comes from gold is written twice: as the text a reader
sees and as ``data-value`` (the unrounded value), so a test can compare the page with the lake.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from wistia_pipeline.report import charts as charts_mod
from wistia_pipeline.report.model import (
    FAILED,
    PUBLISHED,
    RUNNING,
    UNRECORDED,
    LateChange,
    Metric,
    Report,
)

STATUS_LABELS = {
    PUBLISHED: "Published",
    FAILED: "Not published: the run failed",
    RUNNING: "Not published yet: running",
    UNRECORDED: "No run-state record",
}

SvgRenderer = Callable[[Mapping[str, Any]], str]


def fmt_int(value: float | None) -> str:
    return "\u2014" if value is None else f"{round(value):,}"


def fmt_hours(value: float | None) -> str:
    return "\u2014" if value is None else f"{value:,.1f}"


def fmt_pct(value: float | None) -> str:
    """A share (0.123) as a percentage with one decimal (``12.3 %``)."""
    return "\u2014" if value is None else f"{100.0 * value:.1f} %"


def fmt_metric(key: str, value: float | None) -> str:
    if key == "play_rate":
        return fmt_pct(value)
    if key == "hours_watched":
        return fmt_hours(value)
    return fmt_int(value)


def fmt_ts(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def raw(value: float | None) -> str:
    """The unrounded value for ``data-value`` (empty for None)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def cmp(metric: Metric) -> str:
    """``metric`` against its baseline, in words and an arrow (never colour only)."""
    if metric.baseline is None:
        return "no earlier day to compare with"
    base = fmt_metric(metric.key, metric.baseline)
    change = metric.change
    if metric.key == "play_rate" and metric.value is not None:
        points = 100.0 * (metric.value - metric.baseline)
        if abs(points) < 0.05:
            return f"same as the average ({base})"
        arrow = "\u25b2" if points > 0 else "\u25bc"
        return f"{arrow} {points:+.1f} pts vs average {base}"
    if change is None:
        return f"average {base}"
    if abs(change) < 0.0005:
        return f"same as the average ({base})"
    arrow = "\u25b2" if change > 0 else "\u25bc"
    return f"{arrow} {100.0 * change:+.1f} % vs average {base}"


def late_text(change: LateChange) -> str:
    if change.before is None:
        return "not reported before (no earlier report of this day)"
    parts = []
    for key, label, fmt in (
        ("plays", "plays", fmt_int),
        ("events", "events", fmt_int),
        ("hours_watched", "hours", fmt_hours),
    ):
        delta = change.delta(key)
        if delta:
            sign = "+" if delta > 0 else "\u2212"
            parts.append(f"{sign}{fmt(abs(delta))} {label}")
    if not parts:
        return "no change since its report"
    return ", ".join(parts) + " since its report (late data)"


def baseline_text(report: Report) -> str:
    n = len(report.baseline_days)
    if n == 0:
        return "No earlier day has data yet: nothing to compare with."
    first, last = report.baseline_days[0].isoformat(), report.baseline_days[-1].isoformat()
    if n < 7:
        return (
            f"Compared with the daily average of the {n} earlier day{'s' if n > 1 else ''} "
            f"with data ({first} to {last}); a full comparison needs 7."
        )
    return f"Compared with the daily average of the previous 7 days ({first} to {last})."


def checks_text(report: Report) -> str:
    state = report.state
    overridden = [o.check for o in state.overridden]
    if overridden:  # published although these failed: say it first, by name
        names = ", ".join(overridden)
        passed = sum(1 for c in state.checks if not c.failures)
        if state.checks:
            return f"{passed} of {len(state.checks)} passed; overridden by an operator: {names}"
        return f"{state.checks_passed or 0} passed; overridden by an operator: {names}"
    if state.checks:
        failed = [c for c in state.checks if c.failures]
        if failed:
            return f"{len(failed)} of {len(state.checks)} failed"
        return f"all {len(state.checks)} passed"
    if state.status == PUBLISHED and state.checks_passed is not None:
        return f"all {state.checks_passed} passed before publishing"
    if state.status == FAILED and state.failed_step == "checks":
        return "failed (see the error above)"
    if state.status == FAILED:
        return f"not run (the {state.failed_step or 'run'} step failed first)"
    if state.status == RUNNING:
        return "not run yet"
    return "unknown (no run-state record)"


def override_text(override: Any) -> str:
    """One recorded check override, as the data-status section lists it."""
    if not override.failures:
        return (
            f"{override.check}: named by {override.by} but unused (the check passed); "
            f"reason given: {override.reason}"
        )
    detail = f" ({override.detail})" if override.detail else ""
    return (
        f"{override.check}: {override.failures} failure(s){detail}, published anyway by "
        f"{override.by}; reason: {override.reason}"
    )


def window_text(report: Report) -> str:
    from datetime import timedelta

    start = report.day - timedelta(days=report.lookback_days)
    return (
        f"{start.isoformat()} to {report.day.isoformat()} (lookback {report.lookback_days} "
        "days re-ingested, because Wistia events arrive late)"
    )


@dataclass(frozen=True)
class RenderedChart:
    key: str
    description: str
    svgs: Mapping[str, Any]  # layout name -> inline SVG (markupsafe.Markup)
    table_head: tuple[str, ...]
    table_rows: tuple[tuple[str, ...], ...]


_SVG_OPEN = re.compile(r"<svg\b([^>]*)>")
_ID = re.compile(r'\sid="([^"]+)"')


def inline_svg(svg: str, prefix: str, caption_id: str) -> str:
    """vl-convert's standalone SVG made inline: no XML prolog, no fixed size (it scales to its
    box), ``role=img`` named by the figure caption, and its ids (clip paths) prefixed so the
    page's several SVGs never share one."""
    svg = re.sub(r"^\s*<\?xml[^>]*>\s*", "", svg)
    for old in set(_ID.findall(svg)):
        new = f"{prefix}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"').replace(f"url(#{old})", f"url(#{new})")
        svg = svg.replace(f'href="#{old}"', f'href="#{new}"')

    def opening(match: re.Match[str]) -> str:
        attrs = re.sub(r'\s(width|height)="[^"]*"', "", match.group(1))
        return f'<svg{attrs} role="img" aria-labelledby="{caption_id}" focusable="false">'

    return _SVG_OPEN.sub(opening, svg, count=1)


def chart_table(chart: charts_mod.Chart) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """The chart's numbers as a table (shown under it, for screen readers and for checking)."""
    values = chart.values
    if chart.key == "percent_viewed":
        return ("Video", "Average percent viewed"), tuple(
            (v["media"], f"{v['value']:.1f} %") for v in values
        )
    unit = "Hours" if chart.key.endswith("hours_watched") else "Plays"
    fmt = fmt_hours if unit == "Hours" else fmt_int
    if chart.key.startswith("media_"):
        return ("Day", "Video", unit), tuple(
            (v["day"], v["media"], fmt(v["value"])) for v in values
        )
    return ("Day", unit), tuple((v["day"], fmt(v["value"])) for v in values)


def render_charts(report: Report, svg_renderer: SvgRenderer | None = None) -> list[RenderedChart]:
    from markupsafe import Markup

    renderer = svg_renderer or charts_mod.render_svg
    out = []
    for chart in charts_mod.chart_specs(report):
        head, rows = chart_table(chart)
        svgs = {
            name: Markup(  # noqa: S704 (vl-convert's SVG is XML-escaped text)
                inline_svg(renderer(spec), f"{chart.key}-{name}", f"cap-{chart.key}")
            )
            for name, spec in chart.specs.items()
        }
        out.append(RenderedChart(chart.key, chart.description, svgs, head, rows))
    return out


def _template() -> Any:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    source = resources.files(__package__).joinpath("templates", "report.html.j2")
    return env.from_string(source.read_text("utf-8"))


def render_html(report: Report, svg_renderer: SvgRenderer | None = None) -> str:
    """The page of ``report``; ``svg_renderer`` turns a Vega-Lite spec into SVG text."""
    return _template().render(
        r=report,
        charts=render_charts(report, svg_renderer),
        status_label=STATUS_LABELS[report.state.status],
        day_label=f"{report.day:%A} {report.day.day} {report.day:%B %Y}",
        baseline_text=baseline_text(report) if report.shows_numbers else "",
        checks_text=checks_text(report),
        override_text=override_text,
        window_text=window_text(report),
        fmt_int=fmt_int,
        fmt_hours=fmt_hours,
        fmt_pct=fmt_pct,
        fmt_metric=fmt_metric,
        fmt_ts=fmt_ts,
        raw=raw,
        cmp=cmp,
        late_text=late_text,
    )
