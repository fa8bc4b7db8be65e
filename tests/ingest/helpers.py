"""Shared helpers of the ingestion tests: settings for a simulator, the design minimum of
requests, and reading what landed in bronze."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from wistia_pipeline import bronze
from wistia_pipeline.client import RetryPolicy, WistiaClient
from wistia_pipeline.config import Settings, load_settings
from wistia_pipeline.dates import days_between
from wistia_pipeline.storage import open_storage

FAST_RETRY = RetryPolicy(backoff_base_s=0.01, backoff_cap_s=0.1)


def settings_for(sim, lake: str, **env: str) -> Settings:
    return load_settings(
        {
            "WISTIA_API_URL": sim.url,
            "WISTIA_API_TOKEN": sim.token,
            "WISTIA_LAKE_URI": lake,
            "WISTIA_RATE_LIMIT_PER_MINUTE": "60000",
            **env,
        }
    )


def client_for(settings: Settings, **kwargs) -> WistiaClient:
    kwargs.setdefault("retry", FAST_RETRY)
    return WistiaClient.from_settings(settings, **kwargs)


def list_pages(n: int, overlap: int = 0, per_page: int = 100) -> int:
    """Requests a page-until-short listing of ``n`` records needs when page p covers offsets
    [(p-1)(per_page-K), (p-1)(per_page-K)+per_page)."""
    step = per_page - overlap
    p = 1
    while min(per_page, max(0, n - (p - 1) * step)) == per_page:
        p += 1
    return p


def landed(lake: str, stream: str, dts: list[date]) -> dict[date, list[dict]]:
    """Envelope lines of the selected complete run per dt."""
    storage = open_storage(lake)
    runs = bronze.select_complete_runs(storage, lake, stream, dts)
    return {run.dt: list(bronze.read_run_lines(storage, run)) for run in runs}


def visitor_requests(listed: int, window_events: list[dict], overlap: int) -> Counter:
    """The visitors stream's minimum per endpoint: a probe of page K (K = the window's active
    visitors) when K >= 2, then K lookups when that page has rows, else the whole listing."""
    active = len({e["visitor_key"] for e in window_events})
    out: Counter = Counter()
    if active >= 2:
        out["GET /stats/visitors"] += 1
    if active <= 1 or (active - 1) * (100 - overlap) < listed:
        out["GET /stats/visitors/{visitor_key}"] += active
    else:
        out["GET /stats/visitors"] += list_pages(listed, overlap)
    return +out


def expected_minimum(sim, logical_date: date, lookback: int, overlap: int) -> Counter:
    """The design minimum of requests per endpoint template, from the simulator's dataset."""
    medias = sim.admin("GET", "dataset", params={"kind": "medias"})
    visitors = sim.admin("GET", "dataset", params={"kind": "visitors"})
    start = logical_date - timedelta(days=lookback)
    minimum: Counter = Counter()
    minimum["GET /medias"] = list_pages(len(medias), overlap)
    minimum["GET /stats/medias/{id}/by_date"] = len(medias)
    minimum["GET /analytics/medias/{id}/timeseries"] = len(medias)
    window_events = sim.admin(
        "GET",
        "dataset",
        params={
            "kind": "events",
            "start_date": start.isoformat(),
            "end_date": logical_date.isoformat(),
        },
    )
    minimum.update(visitor_requests(len(visitors), window_events, overlap))
    for day in days_between(start - timedelta(days=1), logical_date + timedelta(days=1)):
        n = len(
            sim.admin(
                "GET",
                "dataset",
                params={
                    "kind": "events",
                    "start_date": day.isoformat(),
                    "end_date": day.isoformat(),
                },
            )
        )
        minimum["GET /stats/events"] += list_pages(n, overlap)
    return minimum
