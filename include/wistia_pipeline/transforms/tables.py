"""Where silver and gold tables live under the lake root (docs/architecture.md)."""

from __future__ import annotations

SILVER_PREFIX = "silver/wistia"
GOLD_PREFIX = "gold/wistia"

SILVER_TABLES = (
    "events",
    "media_daily_stats",
    "media_analytics_daily",
    "medias",
    "medias_history",
    "medias_snapshots",
    "visitors",
    "visitors_snapshots",
)
GOLD_TABLES = ("fact_media_daily", "dim_media", "reconciliation")
# Bronze stream -> the silver table its rejects are filed under.
REJECT_TABLES = {
    "events": "events",
    "media_by_date": "media_daily_stats",
    "analytics": "media_analytics_daily",
    "medias": "medias",
    "visitors": "visitors",
}


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def silver_uri(lake_uri: str, table: str) -> str:
    if table not in SILVER_TABLES:
        raise ValueError(f"unknown silver table {table!r}")
    return _join(lake_uri, SILVER_PREFIX, table)


def rejects_uri(lake_uri: str, table: str) -> str:
    if table not in REJECT_TABLES.values():
        raise ValueError(f"unknown rejects table {table!r}")
    return _join(lake_uri, SILVER_PREFIX, "_rejects", table)


def gold_uri(lake_uri: str, table: str) -> str:
    if table not in GOLD_TABLES:
        raise ValueError(f"unknown gold table {table!r}")
    return _join(lake_uri, GOLD_PREFIX, table)
