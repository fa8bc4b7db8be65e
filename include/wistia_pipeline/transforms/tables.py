"""Where silver and gold tables live under the lake root (docs/architecture.md)."""

from __future__ import annotations

from wistia_pipeline.streams import GOLD_TABLES, REJECT_TABLES, SILVER_TABLES

SILVER_PREFIX = "silver/wistia"
GOLD_PREFIX = "gold/wistia"


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def silver_uri(lake_uri: str, table: str) -> str:
    if table not in SILVER_TABLES:
        raise ValueError(f"unknown silver table {table!r}")
    return _join(lake_uri, SILVER_PREFIX, table)


def rejects_uri(lake_uri: str, table: str) -> str:
    if table not in REJECT_TABLES:
        raise ValueError(f"unknown rejects table {table!r}")
    return _join(lake_uri, SILVER_PREFIX, "_rejects", table)


def gold_uri(lake_uri: str, table: str) -> str:
    if table not in GOLD_TABLES:
        raise ValueError(f"unknown gold table {table!r}")
    return _join(lake_uri, GOLD_PREFIX, table)
