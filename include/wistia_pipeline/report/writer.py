"""The report's edges: read gold (SQL layer) and the run state, write the page to the lake.

Layout (docs/architecture.md, "Reports")::

    <lake>/reports/wistia/dt=YYYY-MM-DD/index.html    the report of data day D
    <lake>/reports/wistia/dt=YYYY-MM-DD/summary.json  its status and totals (late-data deltas)
    <lake>/reports/wistia/latest/index.html           a copy of the newest day's report
    <lake>/reports/wistia/latest/summary.json

``latest`` only moves forward: rendering an older day (a backfill, ``make report DAY=``) leaves
it on the newest day. Written through :mod:`wistia_pipeline.storage`, so the same code writes a
local lake and ``s3://`` (as ``text/html``, so a browser shows it).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from wistia_pipeline.dates import days_between, utcnow
from wistia_pipeline.report.model import (
    TREND_DAYS,
    DayState,
    Report,
    Snapshot,
    as_date,
    build_report,
    day_state_from_record,
    not_published,
)
from wistia_pipeline.storage import Storage, open_storage

if TYPE_CHECKING:
    from collections.abc import Callable

    from wistia_pipeline.config import Settings
    from wistia_pipeline.report.queries import QueryRunner
    from wistia_pipeline.state import RunStateStore

REPORTS_PREFIX = "reports/wistia"
LATEST = "latest"
HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/json"


def report_dir(lake_uri: str, day: date | str) -> str:
    name = LATEST if day == LATEST else f"dt={as_date(day).isoformat()}"
    return Storage.join(lake_uri, REPORTS_PREFIX, name)


def report_uri(lake_uri: str, day: date | str) -> str:
    """``<lake>/reports/wistia/dt=D/index.html`` (``day="latest"``: the latest copy)."""
    return Storage.join(report_dir(lake_uri, day), "index.html")


def summary_uri(lake_uri: str, day: date | str) -> str:
    return Storage.join(report_dir(lake_uri, day), "summary.json")


def read_summary(storage: Storage, uri: str) -> dict[str, Any] | None:
    if not storage.exists(uri):
        return None
    try:
        value = json.loads(storage.read_bytes(uri))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def read_snapshots(storage: Storage, lake_uri: str, days: list[date]) -> dict[date, Snapshot]:
    """What the earlier reports of ``days`` showed (their ``summary.json``), when published."""
    out = {}
    for day in days:
        summary = read_summary(storage, summary_uri(lake_uri, day))
        if summary and summary.get("totals"):
            out[day] = Snapshot(
                day, str(summary.get("status")), summary["totals"], summary.get("generated_at")
            )
    return out


_DT = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/")


def latest_gold_day(lake_uri: str, storage: Storage | None = None) -> date | None:
    """The newest ``dt`` partition of ``gold/wistia/fact_media_daily`` (None: no gold yet)."""
    storage = storage or open_storage(lake_uri)
    prefix = Storage.join(lake_uri, "gold", "wistia", "fact_media_daily")
    days = {m.group(1) for uri in storage.list(prefix) if (m := _DT.search(uri))}
    return date.fromisoformat(max(days)) if days else None


def query_runner(settings: Settings, athena_client: Any = None) -> QueryRunner:
    """DuckDB over the local lake (target local) or Athena (target aws)."""
    from wistia_pipeline.report.queries import AthenaRunner, DuckDBRunner

    if settings.target == "local":
        return DuckDBRunner(settings.lake_uri, settings.athena_database)
    if athena_client is None:
        import boto3

        athena_client = boto3.client("athena")
    return AthenaRunner(
        athena_client,
        settings.athena_database,
        settings.athena_workgroup,
        settings.athena_output,
        poll_seconds=max(1.0, min(settings.poll_seconds, 5.0)),
    )


@dataclass(frozen=True)
class ReportResult:
    day: date
    status: str
    report_uri: str
    latest_uri: str | None  # None: latest already shows a newer day
    duration_s: float
    html_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "status": self.status,
            "report_uri": self.report_uri,
            "latest_uri": self.latest_uri,
            "duration_s": self.duration_s,
            "html_bytes": self.html_bytes,
        }


def resolve_state(store: RunStateStore, day: date, state: DayState | None) -> DayState:
    """The day's state: the caller's (the run knows best) or the store's, with the watermark."""
    watermark = store.get_watermark()
    if state is None:
        return day_state_from_record(store.get_day(day), watermark)
    return state if state.watermark else replace(state, watermark=watermark)


def build(
    settings: Settings,
    day: date,
    lookback_days: int,
    state: DayState,
    storage: Storage,
    runner: QueryRunner | None = None,
    now: datetime | None = None,
    store: RunStateStore | None = None,
) -> Report:
    """The report model of ``day`` (queries gold only when its numbers are shown)."""
    from wistia_pipeline.report.queries import report_queries

    now = now or utcnow()
    lake = settings.lake_uri
    if state.status not in ("published", "unrecorded"):
        last = state.watermark if state.watermark and state.watermark != day else None
        return not_published(day, state, lookback_days, now, last)
    runner = runner or query_runner(settings)
    rows = runner.run_many(report_queries(day, lookback_days, settings.athena_database))
    earlier = days_between(day - timedelta(days=lookback_days), day)[:-1]
    previous = day - timedelta(days=1)
    unpublished = [
        r.day
        for r in (store.list_days(day - timedelta(days=TREND_DAYS), previous) if store else [])
        if str(getattr(r.status, "value", r.status)) != "SUCCEEDED"
    ]
    return build_report(
        day,
        state,
        rows,
        lookback_days,
        now,
        snapshots=read_snapshots(storage, lake, earlier),
        previous_report_day=previous if storage.exists(report_uri(lake, previous)) else None,
        unpublished=unpublished,
    )


def generate_report(
    settings: Settings,
    day: date,
    lookback_days: int | None = None,
    state: DayState | None = None,
    runner: QueryRunner | None = None,
    store: RunStateStore | None = None,
    svg_renderer: Callable[[Any], str] | None = None,
    now: datetime | None = None,
) -> ReportResult:
    """Render the report of ``day`` and write it (and ``latest`` when ``day`` is the newest)."""
    from wistia_pipeline.report.html import render_html

    started = time.monotonic()
    if store is None:
        from wistia_pipeline.state import open_state_store

        store = open_state_store(settings)
    lookback = settings.lookback_days if lookback_days is None else lookback_days
    lake = settings.lake_uri
    storage = open_storage(lake)
    resolved = resolve_state(store, day, state)
    report = build(settings, day, lookback, resolved, storage, runner, now, store)
    page = render_html(report, svg_renderer).encode("utf-8")
    summary = json.dumps(report.summary(), indent=2).encode("utf-8")
    storage.write_bytes(summary_uri(lake, day), summary, content_type=JSON_TYPE)
    storage.write_bytes(report_uri(lake, day), page, content_type=HTML_TYPE)
    current = read_summary(storage, summary_uri(lake, LATEST))
    latest = None
    if current is None or str(current.get("day", "")) <= day.isoformat():
        # The page links to its neighbours as ../dt=.../index.html: the same from latest/.
        storage.write_bytes(summary_uri(lake, LATEST), summary, content_type=JSON_TYPE)
        storage.write_bytes(report_uri(lake, LATEST), page, content_type=HTML_TYPE)
        latest = report_uri(lake, LATEST)
    return ReportResult(
        day=day,
        status=report.state.status,
        report_uri=report_uri(lake, day),
        latest_uri=latest,
        duration_s=round(time.monotonic() - started, 3),
        html_bytes=len(page),
    )


def report_link(settings: Settings, uri: str) -> str:
    """The link people get: ``WISTIA_REPORT_BASE_URL`` + the key under the lake, else the URI."""
    base = settings.report_base_url
    lake = settings.lake_uri.rstrip("/")
    if base and uri.startswith(lake + "/"):
        return base.rstrip("/") + "/" + uri[len(lake) + 1 :].removeprefix("reports/")
    return uri
