"""The report's charts: Vega-Lite specs built with Altair, rendered to static SVG by vl-convert.

Why this stack: the SVG goes inline into the HTML, so the page needs no JavaScript, no CDN and
no network when opened (a Plotly page would carry its 4.8 MB plotly.min.js inline in every
report). vl-convert bundles the Vega/Vega-Lite JavaScript in its own engine, so rendering needs no
Node.js, no browser and no network either. Colours: the Okabe-Ito palette (distinguishable with
the common colour-vision deficiencies); every chart also has a text title, axis titles with
units and a data table next to it on the page.

:func:`chart_specs` is pure (model -> Vega-Lite dicts); :func:`render_svg` calls vl-convert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wistia_pipeline.report.model import Report

# Okabe & Ito (2008), without yellow (too light on white) and black (the text colour).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00")
ACCENT = PALETTE[0]
TODAY = PALETTE[1]
UNPUBLISHED = "#9e9e9e"  # grey bars (and the legend says it in words)
# Arial's metrics: Liberation Sans (Linux) and Arial (macOS, Windows) share them, so the text
# vl-convert measures (with Liberation Sans when installed) is the size a browser draws.
FONT = "'Liberation Sans', Arial, Helvetica, sans-serif"
VEGA_LITE_VERSION = "6.4"  # altair 6.3 writes Vega-Lite 6.4 specs


@dataclass(frozen=True)
class Layout:
    """Chart geometry: the page shows ``WIDE`` on a laptop and ``NARROW`` on a phone (CSS picks
    one), so the text in a chart stays readable at either size instead of being scaled down."""

    name: str
    width: int
    height: int
    font_size: int
    name_limit: int  # characters of a media name in a legend or an axis label
    label_limit: int  # pixels


WIDE = Layout("wide", 520, 220, 12, 30, 230)
NARROW = Layout("narrow", 270, 190, 13, 22, 150)
LAYOUTS = (WIDE, NARROW)


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    description: str  # the SVG's accessible name (its figure caption)
    specs: Mapping[str, Mapping[str, Any]]  # layout name -> Vega-Lite spec

    @property
    def values(self) -> list[dict[str, Any]]:
        return list(self.specs[WIDE.name]["data"]["values"])


def short(name: str, limit: int) -> str:
    name = " ".join(name.split())
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


def _config(layout: Layout) -> dict[str, Any]:
    size = layout.font_size
    return {
        "font": FONT,
        "view": {"stroke": None},
        "axis": {"labelFontSize": size, "titleFontSize": size, "gridColor": "#e5e5e5"},
        "legend": {"labelFontSize": size, "titleFontSize": size, "labelLimit": layout.label_limit},
        "title": {"fontSize": size + 2, "anchor": "start", "limit": layout.width + 60},
        "aria": True,
        # Room for a label a browser draws a little wider than vl-convert measured it.
        "padding": {"left": 16, "right": 8, "top": 4, "bottom": 4},
    }


def _day_axis(alt: Any) -> Any:
    return alt.X("day:O", title="Day (UTC)", axis=alt.Axis(labelAngle=-45, labelOverlap=True))


def _finish(chart: Any, layout: Layout) -> dict[str, Any]:
    spec = chart.to_dict()
    spec["config"] = _config(layout)
    return spec


def account_chart(report: Report, field: str, title: str, unit_title: str) -> Chart:
    import altair as alt

    day = report.day.isoformat()
    values = [
        {
            "day": p.day.isoformat(),
            "value": getattr(p, field),
            "which": (
                "data day"
                if p.day == report.day
                else ("earlier" if p.published else "not published")
            ),
        }
        for p in report.account_trend
    ]
    description = (
        f"{title}: daily bars from {values[0]['day']} to {day}; {day} has "
        f"{values[-1]['value']:,.1f} {unit_title.lower()}."
    )
    specs = {}
    for layout in LAYOUTS:
        chart = (
            alt.Chart(alt.Data(values=values), width=layout.width, height=layout.height)
            .properties(title=title, description=description)
            .mark_bar(cornerRadiusTopLeft=2, cornerRadiusTopRight=2)
            .encode(
                x=_day_axis(alt),
                y=alt.Y("value:Q", title=unit_title),
                color=alt.Color(
                    "which:N",
                    title=None,
                    scale=alt.Scale(
                        domain=["earlier", "data day", "not published"],
                        range=[ACCENT, TODAY, UNPUBLISHED],
                    ),
                    legend=alt.Legend(orient="top"),
                ),
                tooltip=[alt.Tooltip("day:O"), alt.Tooltip("value:Q", format=",.1f")],
            )
        )
        specs[layout.name] = _finish(chart, layout)
    return Chart(f"account_{field}", title, description, specs)


def media_chart(report: Report, field: str, title: str, unit_title: str) -> Chart:
    import altair as alt

    specs = {}
    description = ""
    for layout in LAYOUTS:
        names = {
            m.media_id: f"{i}. {short(m.media_name, layout.name_limit)}"
            for i, m in enumerate(report.trend_media, 1)
        }
        values = [
            {"day": p.day.isoformat(), "media": names[p.media_id], "value": getattr(p, field)}
            for p in report.media_trend
        ]
        order = list(names.values())
        if layout is WIDE:
            description = f"{title}: one line per video ({'; '.join(order)})."
        chart = (
            alt.Chart(alt.Data(values=values), width=layout.width, height=layout.height)
            .properties(title=title, description=description)
            .mark_line(point=alt.OverlayMarkDef(size=30), strokeWidth=2)
            .encode(
                x=_day_axis(alt),
                y=alt.Y("value:Q", title=unit_title),
                color=alt.Color(
                    "media:N",
                    title="Video (rank by plays)",
                    sort=order,
                    scale=alt.Scale(domain=order, range=list(PALETTE[: len(order)])),
                    legend=alt.Legend(orient="bottom", columns=1),
                ),
                strokeDash=alt.StrokeDash("media:N", sort=order, legend=None),
                tooltip=["day:O", "media:N", alt.Tooltip("value:Q", format=",.1f")],
            )
        )
        specs[layout.name] = _finish(chart, layout)
    return Chart(f"media_{field}", title, description, specs)


def percent_viewed_chart(report: Report) -> Chart:
    import altair as alt

    rows = [m for m in report.top_by_plays if m.avg_percent_viewed is not None]
    title = "Average percent viewed, top videos by plays"
    specs = {}
    description = ""
    for layout in LAYOUTS:
        values = [
            {
                "media": f"{i}. {short(m.media_name, layout.name_limit)}",
                "value": 100.0 * (m.avg_percent_viewed or 0.0),
            }
            for i, m in enumerate(rows, 1)
        ]
        if layout is WIDE:
            description = f"{title}: " + "; ".join(
                f"{v['media']} {v['value']:.0f} %" for v in values
            )
        chart = (
            alt.Chart(
                alt.Data(values=values),
                width=layout.width - layout.label_limit + 40,
                height=max(60, 26 * len(values)),
            )
            .properties(title=title, description=description)
            .mark_bar(color=PALETTE[2])
            .encode(
                y=alt.Y(
                    "media:N",
                    title=None,
                    sort=[v["media"] for v in values],
                    axis=alt.Axis(labelLimit=layout.label_limit),
                ),
                x=alt.X(
                    "value:Q", title="Average percent viewed (%)", scale=alt.Scale(domain=[0, 100])
                ),
                tooltip=["media:N", alt.Tooltip("value:Q", format=".1f")],
            )
        )
        specs[layout.name] = _finish(chart, layout)
    return Chart("percent_viewed", title, description, specs)


def chart_specs(report: Report) -> list[Chart]:
    """The report's charts as Vega-Lite specs (none when the day's numbers are not shown)."""
    if not report.shows_numbers or not report.account_trend:
        return []
    days = len(report.account_trend)
    span = f"last {days} days" if days > 1 else "the data day"
    charts = [
        account_chart(report, "plays", f"Plays per day, all videos ({span})", "Plays"),
        account_chart(
            report, "hours_watched", f"Hours watched per day, all videos ({span})", "Hours"
        ),
    ]
    if report.trend_media:
        charts += [
            media_chart(report, "plays", f"Plays per day, top videos ({span})", "Plays"),
            media_chart(
                report, "hours_watched", f"Hours watched per day, top videos ({span})", "Hours"
            ),
        ]
    if any(m.avg_percent_viewed is not None for m in report.top_by_plays):
        charts.append(percent_viewed_chart(report))
    return charts


def render_svg(spec: Mapping[str, Any]) -> str:
    """A Vega-Lite spec as a standalone SVG document (vl-convert; no network)."""
    import vl_convert

    return vl_convert.vegalite_to_svg(dict(spec), vl_version=VEGA_LITE_VERSION)
