"""The Wistia endpoints over a ``Dataset``: routing, parameters, response bodies.

Transport-free: ``WistiaApi.resolve`` maps a path (without the ``/modern`` or ``/v1`` prefix)
to a route, ``WistiaApi.call`` returns the JSON-ready body or raises ``ApiError``. The HTTP
server adds auth, rate limiting, faults and counting around it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from wistia_simulator.dataset import Dataset, utc_today
from wistia_simulator.deletions import MediaDeletions
from wistia_simulator.params import (
    ApiError,
    Query,
    date_range,
    first,
    pagination,
    parse_bool,
    parse_date,
)

MAX_ANALYTICS_DAYS = 731
GRANULARITIES = ("daily", "weekly", "monthly")
_MEDIA_SORT_KEYS = ("name", "created", "updated", "position")


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "GET /stats/medias/{id}/by_date", the key requests are counted under
    pattern: re.Pattern[str]
    handler: str  # name of the WistiaApi method


def _route(template: str, handler: str) -> Route:
    path = template.split(" ", 1)[1]
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return Route(template, re.compile(f"^{regex}$"), handler)


ROUTES: tuple[Route, ...] = (
    _route("GET /medias", "list_medias"),
    _route("GET /medias/{hashed_id}", "show_media"),
    _route("GET /stats/account", "account_stats"),
    _route("GET /stats/account/by_date", "account_by_date"),
    _route("GET /stats/medias/{id}", "media_stats"),
    _route("GET /stats/medias/{id}/by_date", "media_by_date"),
    _route("GET /stats/events", "list_events"),
    _route("GET /stats/events/{event_key}", "show_event"),
    _route("GET /stats/visitors", "list_visitors"),
    _route("GET /stats/visitors/{visitor_key}", "show_visitor"),
    _route("GET /analytics/medias/{id}", "media_analytics"),
    _route("GET /analytics/medias/{id}/timeseries", "media_timeseries"),
)


def page_slice(items: list, page: int, per_page: int, overlap: int = 0) -> list:
    """Offset pagination; with ``overlap`` K, page p>=2 starts at (p-1)*(per_page-K)."""
    step = per_page - min(max(overlap, 0), per_page - 1)
    offset = (page - 1) * step
    return items[offset : offset + per_page]


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


class WistiaApi:
    """Endpoint logic. ``late_released`` flips once via ``release_late_events``; media
    deleted with ``delete_media`` disappear from the catalogue once their instant passed."""

    def __init__(
        self,
        dataset: Dataset,
        analytics_forbidden: bool = False,
        deletions: MediaDeletions | None = None,
    ) -> None:
        self.dataset = dataset
        self.analytics_forbidden = analytics_forbidden
        self.deletions = deletions or MediaDeletions()
        self._late_released = threading.Event()

    @property
    def late_released(self) -> bool:
        return self._late_released.is_set()

    def release_late_events(self) -> None:
        self._late_released.set()

    def delete_media(self, media_id: str, at: datetime | None = None) -> tuple[str, datetime]:
        """Delete a media (hashed or numeric id) at ``at`` (default: now); ValueError if unknown.

        Returns its hashed id and the deletion instant.
        """
        media = self.dataset.media(media_id)
        if media is None:
            raise ValueError(f"unknown media {media_id!r}")
        return media["hashed_id"], self.deletions.delete(media["hashed_id"], at)

    @staticmethod
    def resolve(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        if method != "GET":
            return None
        for route in ROUTES:
            match = route.pattern.match(path)
            if match:
                return route, match.groupdict()
        return None

    def call(self, route: Route, path_params: dict[str, str], query: Query, overlap: int) -> Any:
        handler: Callable[..., Any] = getattr(self, route.handler)
        return handler(query=query, overlap=overlap, **path_params)

    # ------------------------------------------------------------ helpers

    def _media_or_404(self, media_id: str) -> dict[str, Any]:
        media = self.dataset.media(media_id)
        if media is None or self.deletions.is_deleted(media["hashed_id"]):
            raise ApiError(404, f"Media not found: {media_id}")
        return media

    def _check_analytics(self) -> None:
        if self.analytics_forbidden:
            raise ApiError(403, "Analytics are not available on your current plan")

    def _days(self, start: date, end: date) -> list[date]:
        return [start + timedelta(days=i) for i in range((end - start).days + 1)]

    def _data_bounds(self) -> tuple[date, date]:
        cfg = self.dataset.config
        assert cfg.start_date is not None and cfg.end_date is not None
        return cfg.start_date, cfg.end_date

    # ------------------------------------------------------------- medias

    def list_medias(self, query: Query, overlap: int) -> list[dict[str, Any]]:
        page, per_page = pagination(query)
        # Filtered before paging, so a deleted media shifts the pages as it does on Wistia.
        items = [m for m in self.dataset.medias() if not self.deletions.is_deleted(m["hashed_id"])]
        archived = parse_bool(query, "archived")
        if archived is not None:
            items = [m for m in items if m["archived"] is archived]
        hashed_ids = query.get("hashed_ids[]")
        if hashed_ids:
            wanted = set(hashed_ids)
            items = [m for m in items if m["hashed_id"] in wanted]
        name = first(query, "name")
        if name is not None:
            items = [m for m in items if m["name"] == name]
        media_type = first(query, "type")
        if media_type is not None:
            items = [m for m in items if m["type"] == media_type]
        sort_by = first(query, "sort_by")
        if sort_by is not None:
            if sort_by not in _MEDIA_SORT_KEYS:
                raise ApiError(422, f"sort_by must be one of {', '.join(_MEDIA_SORT_KEYS)}")
            key = "id" if sort_by == "position" else sort_by
            descending = first(query, "sort_direction") == "0"
            items = sorted(items, key=lambda m: (m[key], m["id"]), reverse=descending)
        return page_slice(items, page, per_page, overlap)

    def show_media(self, query: Query, overlap: int, hashed_id: str) -> dict[str, Any]:
        media = self._media_or_404(hashed_id)
        if media["hashed_id"] != hashed_id:
            raise ApiError(404, f"Media not found: {hashed_id}")
        return media

    # -------------------------------------------------------------- stats

    def account_stats(self, query: Query, overlap: int) -> dict[str, Any]:
        totals = self.dataset.totals()
        return {
            "load_count": totals["loads"],
            "play_count": totals["plays"],
            "hours_watched": round(totals["seconds"] / 3600.0, 6),
        }

    def account_by_date(self, query: Query, overlap: int) -> list[dict[str, Any]]:
        today = utc_today()
        start, end = date_range(query, today - timedelta(days=1), today)
        rows = []
        for day in self._days(start, end):
            data = self.dataset.day_data(day)
            rows.append(
                {
                    "date": day.isoformat(),
                    "load_count": sum(data.loads),
                    "play_count": sum(data.plays),
                    "hours_watched": round(sum(data.seconds) / 3600.0, 6),
                }
            )
        return rows

    def media_stats(self, query: Query, overlap: int, id: str) -> dict[str, Any]:
        self._media_or_404(id)
        totals = self.dataset.totals(id)
        return {
            "load_count": totals["loads"],
            "play_count": totals["plays"],
            "play_rate": _ratio(totals["plays"], totals["loads"]) or 0.0,
            "hours_watched": round(totals["seconds"] / 3600.0, 6),
            "engagement": _ratio(totals["percent_sum"], totals["plays"]) or 0.0,
            "visitors": totals["visitors"],
            "actions": [
                {
                    "type": "Call to Action",
                    "action_count": totals["conversions"],
                    "impression_count": totals["conversions"] + totals["plays"] // 4,
                    "rate": _ratio(
                        totals["conversions"], totals["conversions"] + totals["plays"] // 4
                    )
                    or 0.0,
                }
            ],
        }

    def media_by_date(self, query: Query, overlap: int, id: str) -> list[dict[str, Any]]:
        self._media_or_404(id)
        today = utc_today()
        start, end = date_range(query, today - timedelta(days=1), today)
        return [self.dataset.media_day_stats(id, day) for day in self._days(start, end)]

    # ------------------------------------------------------------- events

    def list_events(self, query: Query, overlap: int) -> list[dict[str, Any]]:
        page, per_page = pagination(query)
        lo, hi = self._data_bounds()
        start, end = date_range(query, lo, hi)
        rows = self.dataset.events(
            start,
            end,
            media_id=first(query, "media_id") or None,
            visitor_key=first(query, "visitor_key") or None,
            include_unreleased_late=self.late_released,
        )
        return [self.dataset.event_record(r) for r in page_slice(rows, page, per_page, overlap)]

    def show_event(self, query: Query, overlap: int, event_key: str) -> dict[str, Any]:
        row = self.dataset.event(event_key)
        if row is None or (row.late and not self.late_released):
            raise ApiError(404, f"Event not found: {event_key}")
        return self.dataset.event_record(row)

    # ----------------------------------------------------------- visitors

    def list_visitors(self, query: Query, overlap: int) -> list[dict[str, Any]]:
        # media_id is accepted and deliberately ignored, as by the real API.
        page, per_page = pagination(query)
        items = self.dataset.visitor_listing()
        kind = first(query, "filter")
        if kind is not None:
            if kind == "has_name":
                items = [v for v in items if v["visitor_identity"]["name"]]
            elif kind in ("has_email", "identified_by_email_gate"):
                items = [v for v in items if v["visitor_identity"]["email"]]
            else:
                raise ApiError(422, f"unknown filter {kind!r}")
        search = first(query, "search")
        if search:
            needle = search.lower()
            items = [
                v
                for v in items
                if needle in v["visitor_identity"]["name"].lower()
                or needle in (v["visitor_identity"]["email"] or "").lower()
            ]
        return page_slice(items, page, per_page, overlap)

    def show_visitor(self, query: Query, overlap: int, visitor_key: str) -> dict[str, Any]:
        visitor = self.dataset.visitor(visitor_key)
        if visitor is None:
            raise ApiError(404, f"Visitor not found: {visitor_key}")
        return visitor

    # ---------------------------------------------------------- analytics

    def _analytics_range(self, query: Query) -> tuple[date, date]:
        start = parse_date(query, "start_date")
        end = parse_date(query, "end_date")
        if start is None or end is None:
            raise ApiError(400, "start_date and end_date are required")
        if start > end:
            raise ApiError(422, f"start_date {start} is after end_date {end}")
        if (end - start).days > MAX_ANALYTICS_DAYS:
            raise ApiError(400, "The date range must not exceed 2 years")
        return start, end

    @staticmethod
    def _analytics_figures(parts: dict[str, Any]) -> dict[str, Any]:
        loads, plays, uniques = parts["loads"], parts["plays"], parts["unique_visitors"]
        impressions = parts["conversions"] + plays // 4
        return {
            "unique_loads": uniques + (loads - plays) * 4 // 5,
            "unique_plays": uniques,
            "plays": plays,
            "play_rate": _ratio(plays, loads),
            "played_time": int(parts["seconds"]),
            "unique_visitors": uniques,
            "engagement_rate": _ratio(parts["percent_sum"], plays),
            "cta_impressions": impressions,
            "cta_conversions": parts["conversions"],
            "cta_conversion_rate": _ratio(parts["conversions"], impressions),
            "form_conversions": parts["conversions"],
        }

    @staticmethod
    def _add(total: dict[str, Any], parts: dict[str, Any]) -> None:
        for key, value in parts.items():
            total[key] = total.get(key, 0) + value

    def media_analytics(self, query: Query, overlap: int, id: str) -> dict[str, Any]:
        self._check_analytics()
        self._media_or_404(id)
        start, end = self._analytics_range(query)
        total: dict[str, Any] = {}
        for day in self._days(start, end):
            self._add(total, self.dataset.media_analytics_day(id, day))
        return self._analytics_figures(total)

    def media_timeseries(self, query: Query, overlap: int, id: str) -> list[dict[str, Any]]:
        self._check_analytics()
        self._media_or_404(id)
        start, end = self._analytics_range(query)
        granularity = first(query, "granularity")
        if granularity not in GRANULARITIES:
            raise ApiError(400, f"granularity must be one of {', '.join(GRANULARITIES)}")
        buckets: dict[date, dict[str, Any]] = {}
        for day in self._days(start, end):
            if granularity == "daily":
                bucket = day
            elif granularity == "weekly":
                bucket = day - timedelta(days=day.weekday())
            else:
                bucket = day.replace(day=1)
            self._add(buckets.setdefault(bucket, {}), self.dataset.media_analytics_day(id, day))
        return [
            {
                "timestamp": datetime(b.year, b.month, b.day).strftime("%Y-%m-%dT%H:%M:%SZ"),
                **self._analytics_figures(parts),
            }
            for b, parts in buckets.items()
        ]
