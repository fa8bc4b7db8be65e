"""Query-parameter parsing with Wistia's error semantics (422 for bad values)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Query = Mapping[str, list[str]]


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def first(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def positive_int(query: Query, name: str, default: int) -> int:
    raw = first(query, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, f"{name} must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise ApiError(422, f"{name} must be a positive integer, got {raw!r}")
    return value


def pagination(query: Query) -> tuple[int, int]:
    """(page, per_page): page from 1, per_page default 10, values above 100 capped at 100."""
    page = positive_int(query, "page", 1)
    per_page = min(positive_int(query, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
    return page, per_page


def parse_date(query: Query, name: str) -> date | None:
    raw = first(query, name)
    if raw is None or raw == "":
        return None
    if not _DATE_RE.match(raw):
        raise ApiError(422, f"{name} must be a date formatted YYYY-MM-DD, got {raw!r}")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(422, f"{name} is not a valid date: {raw!r}") from None


def date_range(query: Query, default_start: date, default_end: date) -> tuple[date, date]:
    """Inclusive (start_date, end_date); missing bounds take the defaults; start > end -> 422."""
    start = parse_date(query, "start_date") or default_start
    end = parse_date(query, "end_date") or default_end
    if start > end:
        raise ApiError(422, f"start_date {start} is after end_date {end}")
    return start, end


def parse_bool(query: Query, name: str) -> bool | None:
    raw = first(query, name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ApiError(422, f"{name} must be true or false, got {raw!r}")
