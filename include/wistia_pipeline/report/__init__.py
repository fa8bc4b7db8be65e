"""The daily video report: gold -> a report model -> one self-contained HTML page per data day.

- :mod:`.queries`: the report's Athena SQL and its runners (DuckDB locally, Athena on AWS);
- :mod:`.model`: pure functions from query rows and the run state to :class:`~.model.Report`;
- :mod:`.charts`: Vega-Lite specs (Altair) rendered to inline SVG by vl-convert;
- :mod:`.html`: the page (Jinja2, autoescaped; no script, no network when opened);
- :mod:`.writer`: the edges: run state, lake layout ``reports/wistia/dt=D/`` and ``latest/``.

``python -m wistia_pipeline.report [--day D]`` (``make report``) renders one day.
Nothing heavy is imported here: the DAG's operators import this package lazily.
"""

from __future__ import annotations

from wistia_pipeline.report.writer import (
    ReportResult,
    generate_report,
    latest_gold_day,
    report_link,
    report_uri,
)

__all__ = ["ReportResult", "generate_report", "latest_gold_day", "report_link", "report_uri"]
