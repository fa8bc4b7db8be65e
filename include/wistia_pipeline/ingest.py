"""Ingest one data day ``D`` with lookback ``L`` from the Wistia API into bronze.

Fetches every requested stream concurrently through one rate-limited client, then writes all
parts and, only after every part is written, the manifests that make the run visible to silver.
The request plan, its cost per stream and the all-or-nothing write: docs/ingestion.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from wistia_pipeline import bronze
from wistia_pipeline.bronze import PendingManifest, RunContext
from wistia_pipeline.client import PER_PAGE, CallStats, Page, WistiaClient
from wistia_pipeline.config import Settings
from wistia_pipeline.dates import days_between, now_iso, range_window
from wistia_pipeline.errors import WistiaError, WistiaForbiddenError, WistiaNotFoundError
from wistia_pipeline.ratelimit import PRIORITY_CHAIN, PRIORITY_FIRST, PRIORITY_INDEPENDENT
from wistia_pipeline.storage import Storage, open_storage
from wistia_pipeline.streams import ALL_STREAMS, DAILY_STREAMS, select

log = logging.getLogger(__name__)

# Share of a day's by_date play count whose events pages are fetched concurrently as surely full.
HINT_SAFETY = 0.9
WRITE_WORKERS = 4


def events_request_days(
    logical_date: date, lookback_days: int, first_day: date | None = None
) -> list[date]:
    """The single-day ``/stats/events`` sub-requests: the padded window ``[D1-L-1, D+1]``
    (``first_day`` ``D1``; None: the daily run, ``D1 = D``)."""
    start, end = range_window(first_day or logical_date, logical_date, lookback_days)
    return days_between(start - timedelta(days=1), end + timedelta(days=1))


def list_requests(records: int, overlap: int = 0, per_page: int = PER_PAGE) -> int:
    """Requests a page-until-short listing of ``records`` needs (``floor(n/100)+1`` without
    overlap); with a live list that repeats ``overlap`` records per page boundary, page ``p``
    covers offsets ``[(p-1)(per_page-overlap), (p-1)(per_page-overlap)+per_page)``."""
    step = per_page - overlap
    if step < 1:
        raise ValueError(f"overlap must be < per_page, got {overlap}")
    pages = 1
    while records - (pages - 1) * step >= per_page:
        pages += 1
    return pages


def visitors_requests(visitors: int, active: int | None) -> int:
    """Requests of the ``visitors`` stream for an account of ``visitors`` listed visitors.

    ``active`` None (the run fetches no events): the listing, ``P(V)``. Otherwise ``active``
    visitors had events in the window: one ``/stats/visitors/{key}`` lookup each or the
    listing, whichever is fewer, plus the one probe that tells which (page ``active`` of the
    listing: it has rows exactly when ``P(V) >= active``); no probe for at most one visitor.
    """
    listing = list_requests(visitors)
    if active is None:
        return listing
    return min(active, listing) + (1 if active >= 2 else 0)


def design_minimum_requests(
    medias: int,
    visitors: int,
    events_per_request_day: Sequence[int],
    streams: Sequence[str] = ALL_STREAMS,
    analytics_available: bool = True,
    active_visitors: int | None = None,
) -> dict[str, int]:
    """The fewest requests per stream this design needs (docs/ingestion.md), given the
    catalogue size, the visitor count, the event count of each padded-window day and, when
    ``events`` and ``visitors`` are both fetched, the distinct visitors of the window's events.
    """
    wanted = set(streams)
    if {"events", "visitors"} <= wanted and active_visitors is None:
        raise ValueError("active_visitors is required when events and visitors are both fetched")
    out = {name: 0 for name in ALL_STREAMS}
    if wanted & {"medias", "media_by_date", "analytics"}:
        out["medias"] = list_requests(medias)
    if "media_by_date" in wanted:
        out["media_by_date"] = medias
    if "analytics" in wanted and medias:
        out["analytics"] = medias if analytics_available else 1
    if "events" in wanted:
        out["events"] = sum(list_requests(n) for n in events_per_request_day)
    if "visitors" in wanted:
        active = active_visitors if "events" in wanted else None
        out["visitors"] = visitors_requests(visitors, active)
    return out


def utc_instant(timestamp: Any) -> datetime | None:
    """An ISO-8601 timestamp (``...Z``, with or without milliseconds) as an aware UTC time."""
    if not isinstance(timestamp, str):
        return None
    try:
        parsed = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def utc_date_of(timestamp: Any) -> date | None:
    """UTC date of an ISO-8601 timestamp (``...Z``, with or without milliseconds)."""
    instant = utc_instant(timestamp)
    return None if instant is None else instant.date()


_NEVER = datetime.min.replace(tzinfo=UTC)


def active_visitor_keys(records: Iterable[Any]) -> list[str]:
    """The distinct ``visitor_key`` of event records, the most recently active first (by
    ``received_at``, then key): the visitors a run looks up one by one."""
    latest: dict[str, datetime] = {}
    for record in records:
        key = record.get("visitor_key") if isinstance(record, dict) else None
        if not isinstance(key, str) or not key:
            continue
        at = utc_instant(record.get("received_at")) or _NEVER
        if at > latest.get(key, _NEVER) or key not in latest:
            latest[key] = at
    return sorted(latest, key=lambda k: (latest[k], k), reverse=True)


def _bucket_date(value: Any) -> date | None:
    """The calendar date a record is labelled with (``date`` or a bucket ``timestamp``)."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@dataclass
class _Fetched:
    """What one stream fetched: envelope args grouped by dt."""

    stats: CallStats = field(default_factory=CallStats)
    status: str = "ok"
    rows: dict[date, list[tuple[Any, str, str, str | None]]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, dt: date, record: Any, page: Page, media_id: str | None = None) -> None:
        with self.lock:
            self.rows.setdefault(dt, []).append((record, page.path, page.fetched_at, media_id))

    @property
    def records(self) -> int:
        return sum(len(v) for v in self.rows.values())


class _EventDay:
    """The pages of one single-day ``/stats/events`` listing, fetched by its sequential chain
    and, once a hint says how many pages are surely full, by concurrent page requests."""

    def __init__(self, day: date) -> None:
        self.day = day
        self.params = {"start_date": day.isoformat(), "end_date": day.isoformat()}
        self.pages: dict[int, Page] = {}
        self.end: int | None = None  # the first short page seen by the chain
        self._claimed: set[int] = set()
        self._lock = threading.Lock()

    def claim_from(self, page_no: int) -> int:
        """The first unclaimed page number >= ``page_no``, now claimed by the caller."""
        with self._lock:
            while page_no in self._claimed:
                page_no += 1
            self._claimed.add(page_no)
            return page_no

    def claim_up_to(self, last: int) -> list[int]:
        with self._lock:
            if self.end is not None:
                last = min(last, self.end - 1)
            new = [p for p in range(1, last + 1) if p not in self._claimed]
            self._claimed.update(new)
            return new

    def store(self, page_no: int, page: Page) -> None:
        with self._lock:
            self.pages[page_no] = page
            if len(page.body) < PER_PAGE and (self.end is None or page_no < self.end):
                self.end = page_no

    def records(self) -> list[tuple[Any, Page]]:
        return [(r, self.pages[n]) for n in sorted(self.pages) for r in self.pages[n].body]


class _Run:
    """The fetching half of one run: its concurrent tasks, what they fetched, the page hint."""

    def __init__(
        self,
        client: WistiaClient,
        logical_date: date,
        lookback_days: int,
        streams: Sequence[str],
        visitors_max_pages: int | None,
        first_day: date | None = None,
    ) -> None:
        self.client = client
        # the client may be shared: the summary counts only this run's requests
        self.requests_before = client.stats.requests
        self.retries_before = client.stats.retries
        self.logical_date = logical_date
        # The run's data days [D1, D]: snapshots are stamped on each (see _write_parts).
        self.first_day = first_day or logical_date
        self.window_start, self.window_end = range_window(
            self.first_day, logical_date, lookback_days
        )
        self.streams = list(streams)
        self.visitors_max_pages = visitors_max_pages
        self.fetched = {name: _Fetched() for name in ALL_STREAMS}
        self.cancelled = threading.Event()
        self.futures: list[Future] = []
        self.failures: list[Future] = []
        self.event_days = {
            d: _EventDay(d)
            for d in events_request_days(logical_date, lookback_days, self.first_day)
        }
        # by_date play counts summed per day: the page hint for the events listings
        self.use_hints = {"events", "media_by_date"} <= set(streams)
        self.plays_by_day: dict[date, int] = {}
        self._hint_lock = threading.Lock()

    def in_window(self, dt: date) -> bool:
        return self.window_start <= dt <= self.window_end

    # -- page chains -----------------------------------------------------------------------

    def _pages(
        self,
        stream: str,
        path: str,
        params: dict[str, Any],
        max_pages: int | None = None,
        priority: int = PRIORITY_CHAIN,
    ):
        return self.client.iter_pages(
            path,
            params,
            stats=self.fetched[stream].stats,
            priority=priority,
            max_pages=max_pages,
            should_stop=self.cancelled.is_set,
        )

    def fetch_medias(self) -> list[str]:
        """The catalogue; returns the media ids in listing order, without duplicates."""
        out = self.fetched["medias"]
        seen: set[str] = set()
        ids: list[str] = []
        for page in self._pages("medias", "/medias", {}, priority=PRIORITY_FIRST):
            for record in page.body:
                hashed_id = record.get("hashed_id") if isinstance(record, dict) else None
                if not isinstance(hashed_id, str) or not hashed_id:
                    raise WistiaError(f"media without hashed_id in {page.path}", path=page.path)
                if hashed_id in seen:
                    continue
                seen.add(hashed_id)
                ids.append(hashed_id)
                out.add(self.logical_date, record, page)
        return ids

    def _events_page(self, state: _EventDay, page_no: int, priority: int) -> Page:
        page = self.client.get_list(
            "/stats/events",
            {**state.params, "page": page_no, "per_page": PER_PAGE},
            stats=self.fetched["events"].stats,
            priority=priority,
        )
        state.store(page_no, page)
        return page

    def fetch_events_chain(self, day: date) -> None:
        """Page through one day until a short page, skipping pages fetched by hint tasks."""
        state = self.event_days[day]
        page_no = 1
        while not self.cancelled.is_set():
            page_no = state.claim_from(page_no)
            if len(self._events_page(state, page_no, PRIORITY_CHAIN).body) < PER_PAGE:
                return
            page_no += 1

    def fetch_events_page(self, day: date, page_no: int) -> None:
        if not self.cancelled.is_set():
            self._events_page(self.event_days[day], page_no, PRIORITY_INDEPENDENT)

    def fetch_visitors_list(self) -> None:
        """The whole account-wide listing, capped at ``visitors_max_pages`` pages."""
        out = self.fetched["visitors"]
        out.extra["mode"] = "list"
        seen: set[str] = set()
        pages = 0
        last_full = False
        for page in self._pages("visitors", "/stats/visitors", {}, self.visitors_max_pages):
            pages += 1
            last_full = len(page.body) >= PER_PAGE
            for record in page.body:
                key = record.get("visitor_key") if isinstance(record, dict) else None
                if isinstance(key, str):
                    if key in seen:
                        continue
                    seen.add(key)
                out.add(self.logical_date, record, page)
        cap = self.visitors_max_pages
        out.extra["truncated"] = bool(cap is not None and pages >= cap and last_full)

    def fetch_active_visitors(self, pool: ThreadPoolExecutor) -> None:
        """After the events: look up each visitor they name (most recent first, at most
        ``visitors_max_pages``), or list the account when the listing is fewer requests."""
        out = self.fetched["visitors"]
        records = (r[0] for rows in self.fetched["events"].rows.values() for r in rows)
        keys = active_visitor_keys(records)
        out.extra["active_visitors"] = len(keys)
        if len(keys) >= 2 and not self._listing_reaches(len(keys)):
            self.fetch_visitors_list()
            return
        chosen = keys if self.visitors_max_pages is None else keys[: self.visitors_max_pages]
        out.extra.update(mode="lookup", not_found=0, truncated=len(chosen) < len(keys))
        for future in [self._submit(pool, self.fetch_visitor, key) for key in chosen]:
            self._result(future)

    def _listing_reaches(self, page_no: int) -> bool:
        """Whether page ``page_no`` of ``/stats/visitors`` has rows: the listing then takes at
        least ``page_no`` requests, no fewer than one lookup per active visitor."""
        page = self.client.get_list(
            "/stats/visitors",
            {"page": page_no, "per_page": PER_PAGE},
            stats=self.fetched["visitors"].stats,
            priority=PRIORITY_CHAIN,
        )
        return bool(page.body)

    def fetch_visitor(self, key: str) -> None:
        """``GET /stats/visitors/{key}``; a 404 (a visitor deleted since) is counted, not fatal."""
        if self.cancelled.is_set():
            return
        out = self.fetched["visitors"]
        path = f"/stats/visitors/{quote(key, safe='')}"
        try:
            page = self.client.get(path, stats=out.stats, priority=PRIORITY_INDEPENDENT)
        except WistiaNotFoundError:
            with out.lock:
                out.extra["not_found"] += 1
            return
        if not isinstance(page.body, dict) or page.body.get("visitor_key") != key:
            raise WistiaError(f"{page.path} did not answer that visitor's object", path=page.path)
        out.add(self.logical_date, page.body, page)

    # -- per-media requests ----------------------------------------------------------------

    def _window_params(self) -> dict[str, str]:
        return {
            "start_date": self.window_start.isoformat(),
            "end_date": self.window_end.isoformat(),
        }

    def fetch_by_date(self, media_id: str) -> None:
        if self.cancelled.is_set():
            return
        out = self.fetched["media_by_date"]
        path = f"/stats/medias/{quote(media_id, safe='')}/by_date"
        params = self._window_params()
        if self.use_hints:  # the same single request, over the padded events window
            days = list(self.event_days)
            params = {"start_date": days[0].isoformat(), "end_date": days[-1].isoformat()}
        page = self.client.get_list(
            path, params, stats=out.stats,
            priority=PRIORITY_FIRST if self.use_hints else PRIORITY_INDEPENDENT,
        )  # fmt: skip
        for record in page.body:
            dt = _bucket_date(record.get("date") if isinstance(record, dict) else None)
            if dt is None:
                raise WistiaError(f"by_date row without a valid date in {page.path}", path=path)
            plays = record.get("play_count")
            if isinstance(plays, int) and not isinstance(plays, bool):
                with self._hint_lock:
                    self.plays_by_day[dt] = self.plays_by_day.get(dt, 0) + plays
            if self.in_window(dt):
                out.add(dt, record, page, media_id)

    def fetch_analytics(self, media_id: str) -> None:
        if self.cancelled.is_set():
            return
        out = self.fetched["analytics"]
        path = f"/analytics/medias/{quote(media_id, safe='')}/timeseries"
        params = {**self._window_params(), "granularity": "daily"}
        page = self.client.get_list(path, params, stats=out.stats, priority=PRIORITY_INDEPENDENT)
        for record in page.body:
            dt = _bucket_date(record.get("timestamp") if isinstance(record, dict) else None)
            if dt is None:
                raise WistiaError(f"analytics bucket without timestamp in {page.path}", path=path)
            if self.in_window(dt):
                out.add(dt, record, page, media_id)

    # -- orchestration ---------------------------------------------------------------------

    def _submit(self, pool: ThreadPoolExecutor, fn: Callable, *args: Any) -> Future:
        future = pool.submit(fn, *args)
        future.add_done_callback(self._note_failure)
        self.futures.append(future)
        return future

    def _note_failure(self, future: Future) -> None:
        if not future.cancelled() and future.exception() is not None:
            with self._hint_lock:
                self.failures.append(future)

    def _result(self, future: Future) -> Any:
        """Wait for ``future``, but fail fast if another task of the run failed meanwhile."""
        while True:
            wait([future], timeout=0.1)
            if future.done():
                return future.result()
            with self._hint_lock:
                failed = [f for f in self.failures if f in self.futures]
            if failed:
                raise failed[0].exception()  # type: ignore[misc]

    def _submit_hinted_pages(self, pool: ThreadPoolExecutor) -> None:
        """Fetch concurrently the events pages the by_date play counts say are surely full."""
        hinted = 0
        for day, state in self.event_days.items():
            expected = self.plays_by_day.get(day, 0)
            surely_full = int(expected * HINT_SAFETY) // PER_PAGE
            for page_no in state.claim_up_to(surely_full):
                self._submit(pool, self.fetch_events_page, day, page_no)
                hinted += 1
        self.fetched["events"].extra["hinted_pages"] = hinted

    def fetch_all(self) -> None:
        wanted = set(self.streams)
        pool = ThreadPoolExecutor(self.client.max_workers, thread_name_prefix="wistia-ingest")
        try:
            if "events" in wanted:
                for day in self.event_days:
                    self._submit(pool, self.fetch_events_chain, day)
            if "visitors" in wanted and "events" not in wanted:
                self._submit(pool, self.fetch_visitors_list)
            if wanted & {"medias", "media_by_date", "analytics"}:
                media_ids = self._result(self._submit(pool, self.fetch_medias))
                probe = None
                if "analytics" in wanted and media_ids:
                    # not registered for fail-fast: its 403 is an answer, not a failure
                    probe = pool.submit(self.fetch_analytics, media_ids[0])
                by_date = []
                if "media_by_date" in wanted:
                    by_date = [self._submit(pool, self.fetch_by_date, m) for m in media_ids]
                if self.use_hints:
                    for future in by_date:
                        self._result(future)
                    self._submit_hinted_pages(pool)
                if probe is not None:
                    self._finish_analytics(pool, probe, media_ids)
            for future in list(self.futures):
                self._result(future)
            if "events" in wanted:
                self._merge_events()
                if "visitors" in wanted:  # the events name the visitors active in the window
                    self.fetch_active_visitors(pool)
        except BaseException:
            self.cancelled.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _finish_analytics(
        self, pool: ThreadPoolExecutor, probe: Future, media_ids: list[str]
    ) -> None:
        """After the first media's answer: on 403 the stream is unavailable (one request spent),
        otherwise fetch the other media."""
        try:
            self._result(probe)
        except WistiaForbiddenError as exc:
            self.fetched["analytics"].status = "unavailable"
            self.fetched["analytics"].extra["reason"] = exc.error_message
            log.warning("analytics unavailable on this plan: %s", exc)
            return
        for media_id in media_ids[1:]:
            self._submit(pool, self.fetch_analytics, media_id)

    def _merge_events(self) -> None:
        out = self.fetched["events"]
        seen: set[str] = set()
        duplicates = outside = unparsed = 0
        for day in sorted(self.event_days):
            for record, page in self.event_days[day].records():
                key = record.get("event_key") if isinstance(record, dict) else None
                if isinstance(key, str):
                    if key in seen:
                        duplicates += 1
                        continue
                    seen.add(key)
                dt = utc_date_of(record.get("received_at") if isinstance(record, dict) else None)
                if dt is None:
                    unparsed += 1
                    dt = self.logical_date
                elif not self.in_window(dt):
                    outside += 1
                    continue
                out.add(dt, record, page)
        out.extra.update(
            duplicates_dropped=duplicates,
            outside_window_dropped=outside,
            unparsed_received_at=unparsed,
        )
        if unparsed:
            log.warning(
                "%d event(s) with unparseable received_at kept under dt=%s",
                unparsed,
                self.logical_date,
            )


def _visitors_cap(settings: Settings, visitors_max_pages: int | None) -> int | None:
    """The page cap of ``/stats/visitors``: the argument, else the setting; None means no cap."""
    if visitors_max_pages is None:
        visitors_max_pages = settings.visitors_max_pages
    if visitors_max_pages is not None and visitors_max_pages < 1:
        raise ValueError(f"visitors_max_pages must be >= 1, got {visitors_max_pages}")
    return visitors_max_pages


def _write_parts(
    storage: Storage, lake_uri: str, ctx: RunContext, run: _Run, names: Sequence[str]
) -> list[PendingManifest]:
    """Write the part files of every (stream, dt) of the run, a few in parallel (compression
    and uploads overlap); return the manifests to write once all of them succeeded."""
    window_days = days_between(run.window_start, run.window_end)
    # A snapshot (medias, visitors) is the listing as the run saw it, stamped on every data day
    # of the run: what the daily runs of those days would have stamped (a backfill's daily runs
    # list today's catalogue too), so a range run's dim_media equals theirs.
    snapshot_days = days_between(run.first_day, run.logical_date)
    jobs: list[tuple[str, date]] = []
    for name in names:
        if run.fetched[name].status != "ok":
            continue
        dts = set(run.fetched[name].rows)
        dts |= set(window_days if name in DAILY_STREAMS else snapshot_days)
        jobs.extend((name, dt) for dt in sorted(dts))

    def write(job: tuple[str, date]) -> PendingManifest:
        name, dt = job
        fetched = run.fetched[name]
        # snapshot rows are collected under D; the other days of a range get the same rows
        rows_dt = dt if name in DAILY_STREAMS else ctx.logical_date
        lines = [
            bronze.envelope(ctx, name, dt, rec, fetched_at=at, request_path=path, media_id=mid)
            for rec, path, at, mid in fetched.rows.get(rows_dt, [])
        ]
        files = bronze.write_parts(storage, lake_uri, name, dt, ctx.run_id, lines)
        return PendingManifest(name, dt, files, fetched.stats.pages, fetched.stats.requests)

    with ThreadPoolExecutor(max_workers=WRITE_WORKERS, thread_name_prefix="bronze-write") as pool:
        return list(pool.map(write, jobs))


def _publish(
    storage: Storage, lake_uri: str, ctx: RunContext, run: _Run, names: Sequence[str]
) -> dict[str, list[str]]:
    """Write every part, then every manifest; return the manifest URIs per stream."""
    pending = _write_parts(storage, lake_uri, ctx, run, names)
    # Only now, with every part of every stream written, do manifests make the run visible.
    completed_at = now_iso()
    uris: dict[str, list[str]] = {name: [] for name in ALL_STREAMS}
    for item in pending:
        uris[item.stream].append(bronze.write_manifest(storage, lake_uri, ctx, item, completed_at))
    return uris


def _stream_summaries(
    run: _Run, names: Sequence[str], uris: dict[str, list[str]]
) -> dict[str, dict[str, Any]]:
    """The per-stream part of the run summary; streams not asked for are ``"skipped"``."""
    out: dict[str, dict[str, Any]] = {}
    for name in ALL_STREAMS:
        fetched = run.fetched[name]
        stats = fetched.stats.as_dict()
        status = fetched.status if name in names else "skipped"
        out[name] = {
            "status": status,
            "records": fetched.records if status == "ok" else 0,
            "pages": stats["pages"],
            "requests": stats["requests"],
            "retries": stats["retries"],
            "bronze_uris": uris[name],
            **fetched.extra,
        }
    return out


def _summary(
    run: _Run,
    run_id: str,
    streams: dict[str, dict[str, Any]],
    started: float,
    fetched_at: float,
) -> dict[str, Any]:
    """The run summary; ``started`` and ``fetched_at`` are ``time.monotonic()`` values."""
    stats = run.client.stats
    return {
        "run_id": run_id,
        "logical_date": run.logical_date.isoformat(),
        "range_start": run.first_day.isoformat(),
        "window_start": run.window_start.isoformat(),
        "window_end": run.window_end.isoformat(),
        "streams": streams,
        "requests_total": stats.requests - run.requests_before,
        "retries_total": stats.retries - run.retries_before,
        "duration_s": round(time.monotonic() - started, 3),
        "fetch_s": round(fetched_at - started, 3),
        "write_s": round(time.monotonic() - fetched_at, 3),
    }


def ingest_day(
    settings: Settings,
    logical_date: date,
    lookback_days: int,
    streams: Sequence[str],
    run_id: str,
    client: WistiaClient | None = None,
    *,
    visitors_max_pages: int | None = None,
    storage: Storage | None = None,
    first_day: date | None = None,
) -> dict[str, Any]:
    """Ingest ``[D1-L, D]`` into bronze under ``settings.lake_uri``; return the run summary
    (its shape: docs/ingestion.md). ``first_day`` ``D1`` (None: ``D``) is a range run's first
    data day: its window is fetched once, its snapshots stamped on every day of ``[D1, D]``.

    ``client`` defaults to one built from ``settings`` (closed afterwards); ``storage`` defaults
    to :func:`~wistia_pipeline.storage.open_storage` of the lake URI. Raises on any failure, in
    which case no manifest of this run was written.
    """
    started = time.monotonic()
    names = select(streams)
    if not names:
        raise ValueError("streams must name at least one stream")
    visitors_cap = _visitors_cap(settings, visitors_max_pages)
    safe_id = bronze.safe_run_id(run_id)
    storage = storage or open_storage(settings.lake_uri)
    own_client = client is None
    client = client or WistiaClient.from_settings(settings)
    run = _Run(client, logical_date, lookback_days, names, visitors_cap, first_day)
    ctx = RunContext(
        run_id=safe_id,
        logical_date=logical_date,
        window_start=run.window_start,
        window_end=run.window_end,
        api_version=client.api_version,
        started_at=now_iso(),
    )
    log.info(
        "ingest run %s: D=%s window=[%s, %s] streams=%s lake=%s",
        safe_id, logical_date, run.window_start, run.window_end, names, settings.lake_uri,
    )  # fmt: skip
    try:
        run.fetch_all()
    finally:
        if own_client:
            client.close()

    fetched_at_s = time.monotonic()
    uris = _publish(storage, settings.lake_uri, ctx, run, names)
    summary = _summary(run, safe_id, _stream_summaries(run, names, uris), started, fetched_at_s)
    log.info(
        "ingest run %s done: %s requests (%s retries) in %.1fs; records %s",
        safe_id, summary["requests_total"], summary["retries_total"], summary["duration_s"],
        {n: s["records"] for n, s in summary["streams"].items() if s["status"] == "ok"},
    )  # fmt: skip
    return summary


def check_access(client: WistiaClient) -> dict[str, Any]:
    """Credentials smoke test: ``GET /medias`` page 1 only; writes nothing."""
    page = client.get_list("/medias", {"page": 1, "per_page": 1}, priority=PRIORITY_FIRST)
    return {"credentials": "ok", "medias_page1_records": len(page.body), "request_path": page.path}
