"""Deterministic, internally consistent Wistia account data.

Everything derives from ``DatasetConfig``: the catalogue (medias) and the visitors are built
once from ``(seed, "catalog")``; each day's events are generated lazily from ``(seed, day)``
and cached, so asking for one day never generates the others and the result does not depend
on the order days are asked for.

Consistency guarantees (tests rely on them):
- ``play_count(media, day)`` == number of that media's events whose ``received_at`` UTC date is
  ``day`` (late events included); ``load_count >= play_count``.
- ``hours_watched(media, day)`` == sum(percent_viewed * duration) / 3600 of those events
  (rounded to 6 decimals).
- visitor ``play_count`` / ``last_event_key`` / ``last_active_at`` come from the events.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from wistia_simulator import pools

DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1)
_HASH_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_LIST_CACHE_SIZE = 64
_CONTENT_TYPES = {"Video": "video/mp4", "Audio": "audio/mpeg", "Image": "image/png"}


def utc_today() -> date:
    return datetime.now(UTC).date()


def _day_ms(day: date) -> int:
    return (day - _EPOCH).days * DAY_MS


@dataclass(frozen=True)
class DatasetConfig:
    """What account to simulate. ``start_date``/``end_date`` default to the 30 UTC days ending
    today; give only one of them and the other is derived (30 days)."""

    seed: int = 1
    start_date: date | None = None
    end_date: date | None = None
    media_count: int = 40
    events_per_day: int = 2000
    visitor_count: int = 1500
    late_event_share: float = 0.0
    # Visitors last active before the data range: listed by /stats/visitors and shown by
    # /stats/visitors/{key}, never in an event (an account's visitor history; built lazily).
    historical_visitors: int = 0

    def __post_init__(self) -> None:
        start, end = self.start_date, self.end_date
        if start is None and end is None:
            end = utc_today()
        if start is None:
            assert end is not None
            start = end - timedelta(days=29)
        if end is None:
            end = start + timedelta(days=29)
        object.__setattr__(self, "start_date", start)
        object.__setattr__(self, "end_date", end)
        if start > end:
            raise ValueError(f"start_date {start} is after end_date {end}")
        if self.media_count < 1:
            raise ValueError(f"media_count must be >= 1, got {self.media_count}")
        if self.visitor_count < 1:
            raise ValueError(f"visitor_count must be >= 1, got {self.visitor_count}")
        if self.historical_visitors < 0:
            raise ValueError(f"historical_visitors must be >= 0, got {self.historical_visitors}")
        if self.events_per_day < 0:
            raise ValueError(f"events_per_day must be >= 0, got {self.events_per_day}")
        if not 0.0 <= self.late_event_share <= 1.0:
            raise ValueError(f"late_event_share must be in [0, 1], got {self.late_event_share}")

    @property
    def days(self) -> list[date]:
        assert self.start_date is not None and self.end_date is not None
        count = (self.end_date - self.start_date).days + 1
        return [self.start_date + timedelta(days=i) for i in range(count)]


class EventRow(NamedTuple):
    """One event in compact form; ``Dataset.event_record`` renders the API JSON object."""

    ms: int  # epoch milliseconds of received_at
    received_at: str
    event_key: str
    media: int  # media index
    visitor: int  # visitor index
    percent_viewed: float
    conversion: int  # -1: no conversion (conversion_type ""), else the integer type
    late: bool
    embed: int


@dataclass
class DayData:
    """One day's events (newest first) and per-media aggregates indexed by media index."""

    day: date
    events: list[EventRow]
    plays: list[int]
    loads: list[int]
    seconds: list[float]
    unique_visitors: list[int]
    conversions: list[int]
    percent_sum: list[float]


@dataclass
class _Media:
    index: int
    id: int
    hashed_id: str
    name: str
    duration: float | None
    record: dict[str, Any]
    thumbnail: dict[str, Any]
    media_url: str
    heatmap_base: str


@dataclass
class _Visitor:
    index: int
    key: str
    created_at: str
    identity: dict[str, Any]
    user_agent: dict[str, Any]
    ip: str
    org: str
    geo: tuple[str, str, str, float | None, float | None]
    email: str | None
    extra_loads: int


@dataclass
class _VisitorStats:
    plays: list[int] = field(default_factory=list)
    last: list[EventRow | None] = field(default_factory=list)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hashed_id(rng: random.Random, taken: set[str]) -> str:
    while True:
        value = "".join(rng.choice(_HASH_ALPHABET) for _ in range(10))
        if value not in taken:
            taken.add(value)
            return value


def _uuid4(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


# The helpers below draw from the catalogue rng; the order of their draws is part of the
# seed -> data contract, so keep it when editing.


def _media_type(rng: random.Random, i: int) -> tuple[str, float | None]:
    """Type and duration (seconds; None for images) of the i-th media."""
    kind = rng.random()
    if i % 17 == 16:
        return "Image", None
    if kind < 0.12:
        return "Audio", round(rng.uniform(60, 3600), 3)
    return "Video", round(rng.uniform(8, 2400), 3)


def _created_and_updated(
    rng: random.Random, range_start: datetime, range_end: datetime
) -> tuple[datetime, datetime]:
    """Created up to 400 days before the data range; updated before it ends."""
    created = range_start - timedelta(seconds=rng.randrange(1, 400 * 86_400))
    span = max(1, int((range_end - created).total_seconds()) - 1)
    return created, created + timedelta(seconds=rng.randrange(0, span))


def _folder(rng: random.Random) -> dict[str, Any] | None:
    """One of the folders, or None (no folder)."""
    choice = rng.randrange(len(pools.FOLDER_NAMES) + 1)
    if choice == len(pools.FOLDER_NAMES):
        return None
    return {"id": 22_000 + choice, "name": pools.FOLDER_NAMES[choice], "hashedId": f"f{choice:09d}"}


def _original_asset(rng: random.Random, file_hex: str, media_type: str) -> dict[str, Any]:
    video = media_type == "Video"
    return {
        "url": f"https://embed-ssl.wistia.com/deliveries/{file_hex[:32]}.bin",
        "width": 1920 if video else None,
        "height": 1080 if video else None,
        "file_size": rng.randrange(100_000, 900_000_000),
        "content_type": _CONTENT_TYPES[media_type],
        "type": "OriginalFile",
    }


def _subfolder(i: int, created: datetime, updated: datetime) -> dict[str, Any]:
    return {
        "hashed_id": f"s{i:09d}",
        "name": f"Subfolder {i}",
        "description": None,
        "position": i % 7,
        "created": _iso(created),
        "updated": _iso(updated),
        "cursor": None,
    }


def _media_record(
    rng: random.Random, i: int, hashed: str, range_start: datetime, range_end: datetime
) -> dict[str, Any]:
    """The i-th media as ``/medias`` returns it."""
    template = pools.MEDIA_NAME_TEMPLATES[i % len(pools.MEDIA_NAME_TEMPLATES)]
    name = template.format(n=i + 1, q=i % 4 + 1)
    media_type, duration = _media_type(rng, i)
    created, updated = _created_and_updated(rng, range_start, range_end)
    file_hex = f"{rng.getrandbits(160):040x}"
    folder = _folder(rng)
    record: dict[str, Any] = {
        "id": 90_000_000 + i * 13 + rng.randrange(13),
        "name": name,
        "type": media_type,
        "archived": i % 9 == 8,
        "created": _iso(created),
        "updated": _iso(updated),
        "duration": duration,
        "hashed_id": hashed,
        "description": "" if i % 3 == 0 else f"<p>{name} — description</p>",
        "progress": 1.0,
        "status": "ready",
        "section": pools.SECTIONS[i % 3] if i % 5 == 0 else None,
        "thumbnail": {
            "url": f"https://embed-ssl.wistia.com/deliveries/{file_hex}.jpg"
            "?image_crop_resized=200x120",
            "width": 200,
            "height": 120,
        },
        "folder": folder,
        "assets": [_original_asset(rng, file_hex, media_type)],
        "tags": [{"name": pools.TAG_NAMES[(i + k) % len(pools.TAG_NAMES)]} for k in range(i % 3)],
    }
    if i % 4 == 1:
        record["subfolder"] = _subfolder(i, created, updated)
    return record


def _build_media(
    rng: random.Random, i: int, taken: set[str], range_start: datetime, range_end: datetime
) -> _Media:
    hashed = _hashed_id(rng, taken)
    record = _media_record(rng, i, hashed, range_start, range_end)
    return _Media(
        index=i,
        id=record["id"],
        hashed_id=hashed,
        name=record["name"],
        duration=record["duration"],
        record=record,
        thumbnail={
            **record["thumbnail"],
            "fileSize": 15_000 + i,
            "contentType": "image/jpeg",
            "type": "StillImageFile",
        },
        media_url=f"https://home.wistia.com/medias/{hashed}",
        heatmap_base=f"https://home.wistia.com/stats/medias/{hashed}/heatmap",
    )


def _visitor_identity(rng: random.Random, i: int) -> dict[str, Any]:
    """Name, email and org; about a third of visitors are named, most of those have an email."""
    first = pools.FIRST_NAMES[rng.randrange(len(pools.FIRST_NAMES))]
    last = pools.LAST_NAMES[rng.randrange(len(pools.LAST_NAMES))]
    named = rng.random() < 0.35
    email = (
        f"{first.lower()}.{i}@{pools.EMAIL_DOMAINS[i % len(pools.EMAIL_DOMAINS)]}"
        if named and rng.random() < 0.7
        else None
    )
    return {
        "name": f"{first} {last}" if named else "",
        "email": email,
        "org": {
            "name": pools.ORGS[i % len(pools.ORGS)] or None,
            "title": pools.ORG_TITLES[i % len(pools.ORG_TITLES)] if named else None,
        },
    }


def _user_agent(rng: random.Random) -> dict[str, Any]:
    browser, version, platform, mobile = pools.USER_AGENTS[rng.randrange(len(pools.USER_AGENTS))]
    return {
        "browser": browser,
        "browser_version": version,
        "platform": platform,
        "mobile": mobile,
    }


def _ip_address(rng: random.Random) -> str:
    """An IPv6 documentation address one time in ten, else an IPv4 address."""
    if rng.random() < 0.1:
        return f"2001:db8:{rng.randrange(65536):x}::{rng.randrange(65536):x}"
    return (
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    )


# Per-day helpers: they draw from the day's rng, in event order.


def _event_offset(rand: Callable[[], float], i: int) -> tuple[int, bool]:
    """Milliseconds into the day and whether the stamp has no millis. The first two events
    sit exactly on midnight and on 23:59:59.999, the day's edges."""
    if i == 0:
        offset = 0
    elif i == 1:
        offset = DAY_MS - 1
    else:
        offset = int(rand() * DAY_MS)
    no_millis = i != 1 and rand() < 0.08
    if no_millis:
        offset -= offset % 1000
    return offset, no_millis


def _received_at(prefix: str, offset: int, no_millis: bool) -> str:
    secs, millis = divmod(offset, 1000)
    hours, rem = divmod(secs, 3600)
    minutes, sec = divmod(rem, 60)
    if no_millis:
        return f"{prefix}{hours:02d}:{minutes:02d}:{sec:02d}Z"
    return f"{prefix}{hours:02d}:{minutes:02d}:{sec:02d}.{millis:03d}Z"


class Dataset:
    """The simulated account. Thread-safe; day data is generated on first use and cached."""

    def __init__(self, config: DatasetConfig) -> None:
        self.config = config
        self.days: list[date] = config.days
        self.account_prefix = str(1_000_000 + (config.seed * 7_919) % 8_999_999)
        rng = random.Random(f"wistia-sim:{config.seed}:catalog")
        self._medias = self._build_medias(rng)
        self._visitors = self._build_visitors(rng)
        self._media_by_hashed = {m.hashed_id: m for m in self._medias}
        self._media_by_id = {str(m.id): m for m in self._medias}
        self._visitor_by_key = {v.key: v for v in self._visitors}
        self._media_cum = self._media_weights(rng)
        self._visitor_cum = self._cumulative(
            [1.0 / (rank + 3) ** 0.8 for rank in range(len(self._visitors))]
        )
        self._lock = threading.RLock()
        self._day_cache: dict[date, DayData] = {}
        self._list_cache: OrderedDict[tuple, list[EventRow]] = OrderedDict()
        self._event_index: dict[str, EventRow] | None = None
        self._visitor_stats: _VisitorStats | None = None

    # ---------------------------------------------------------------- catalogue

    def _build_medias(self, rng: random.Random) -> list[_Media]:
        cfg = self.config
        assert cfg.start_date is not None and cfg.end_date is not None
        range_start, range_end = _midnight(cfg.start_date), _midnight(cfg.end_date)
        taken: set[str] = set()
        return [_build_media(rng, i, taken, range_start, range_end) for i in range(cfg.media_count)]

    def _media_weights(self, rng: random.Random) -> list[float]:
        """Zipf-like popularity; images and every 11th media never get plays."""
        order = list(range(len(self._medias)))
        rng.shuffle(order)
        weights = [0.0] * len(self._medias)
        for rank, index in enumerate(order):
            media = self._medias[index]
            if media.duration is None or index % 11 == 10:
                continue
            weights[index] = 1.0 / (rank + 1) ** 1.1
        if not any(weights):
            weights[0] = 1.0
        return self._cumulative(weights)

    @staticmethod
    def _cumulative(weights: list[float]) -> list[float]:
        total, out = 0.0, []
        for w in weights:
            total += w
            out.append(total)
        return out

    def _build_visitors(self, rng: random.Random) -> list[_Visitor]:
        cfg = self.config
        assert cfg.start_date is not None
        range_start = _midnight(cfg.start_date)
        return [self._build_visitor(rng, i, range_start) for i in range(cfg.visitor_count)]

    def _build_visitor(self, rng: random.Random, i: int, range_start: datetime) -> _Visitor:
        key = f"{self.account_prefix}_{_uuid4(rng)}"
        created = range_start - timedelta(seconds=rng.randrange(1, 200 * 86_400))
        identity = _visitor_identity(rng, i)
        user_agent = _user_agent(rng)
        geo = pools.GEO[rng.randrange(len(pools.GEO))]
        ip = _ip_address(rng)
        org = pools.ORGS[rng.randrange(len(pools.ORGS))]
        return _Visitor(
            index=i,
            key=key,
            created_at=_iso(created),
            identity=identity,
            user_agent=user_agent,
            ip=ip,
            org=org,
            geo=geo,
            email=identity["email"],
            extra_loads=rng.randrange(0, 4),
        )

    # ------------------------------------------------------------------ days

    def in_range(self, day: date) -> bool:
        assert self.config.start_date is not None and self.config.end_date is not None
        return self.config.start_date <= day <= self.config.end_date

    def day_data(self, day: date) -> DayData:
        """The day's events and aggregates (empty for days outside the data range)."""
        with self._lock:
            cached = self._day_cache.get(day)
            if cached is None:
                cached = self._generate_day(day)
                self._day_cache[day] = cached
            return cached

    def _generate_day(self, day: date) -> DayData:
        """The day's data from its own rng: events first, then loads (keep that draw order)."""
        rng = random.Random(f"wistia-sim:{self.config.seed}:day:{day.isoformat()}")
        events = self._draw_events(rng, day)
        data = self._tally(day, events)
        data.loads = self._draw_loads(rng, day, data.plays)
        events.sort(key=lambda e: (e.ms, e.event_key), reverse=True)
        return data

    def _draw_events(self, rng: random.Random, day: date) -> list[EventRow]:
        """The day's events in draw order: about ``events_per_day`` (+-20 %) of them."""
        cfg = self.config
        if self.in_range(day) and cfg.events_per_day > 0:
            count = max(0, round(cfg.events_per_day * rng.uniform(0.8, 1.2)))
        else:
            count = 0
        media_idx = rng.choices(range(len(self._medias)), cum_weights=self._media_cum, k=count)
        visitor_idx = rng.choices(
            range(len(self._visitors)), cum_weights=self._visitor_cum, k=count
        )
        base_ms = _day_ms(day)
        prefix = day.isoformat() + "T"
        return [
            self._draw_event(rng, i, base_ms, prefix, media_idx[i], visitor_idx[i])
            for i in range(count)
        ]

    def _draw_event(
        self, rng: random.Random, i: int, base_ms: int, prefix: str, media: int, visitor: int
    ) -> EventRow:
        rand = rng.random
        offset, no_millis = _event_offset(rand, i)
        percent_viewed = round(rand() ** 0.6, 4)
        conversion = 1 + int(rand() * 4) if rand() < 0.04 else -1
        late = rand() < self.config.late_event_share
        return EventRow(
            ms=base_ms + offset,
            received_at=_received_at(prefix, offset, no_millis),
            event_key=f"{self.account_prefix}_{_uuid4(rng)}",
            media=media,
            visitor=visitor,
            percent_viewed=percent_viewed,
            conversion=conversion,
            late=late,
            embed=int(rand() * len(pools.EMBED_HOSTS)),
        )

    def _tally(self, day: date, events: list[EventRow]) -> DayData:
        """Per-media aggregates of the events (in draw order); loads are drawn afterwards."""
        media_count = len(self._medias)
        durations = [m.duration or 0.0 for m in self._medias]
        plays = [0] * media_count
        seconds = [0.0] * media_count
        percent_sum = [0.0] * media_count
        conversions = [0] * media_count
        unique = [0] * media_count
        for row in events:
            plays[row.media] += 1
            seconds[row.media] += row.percent_viewed * durations[row.media]
            percent_sum[row.media] += row.percent_viewed
            if row.conversion >= 0:
                conversions[row.media] += 1
        for m, _v in {(row.media, row.visitor) for row in events}:
            unique[m] += 1
        return DayData(day, events, plays, [], seconds, unique, conversions, percent_sum)

    def _draw_loads(self, rng: random.Random, day: date, plays: list[int]) -> list[int]:
        """Loads per media: more than its plays; a few unplayed media are loaded anyway."""
        loads = []
        for media_plays in plays:
            if media_plays:
                loads.append(media_plays + int(media_plays * rng.uniform(0.1, 1.5)))
            elif self.in_range(day) and rng.random() < 0.15:
                loads.append(rng.randrange(1, 4))  # loaded but never played
            else:
                loads.append(0)
        return loads

    # ---------------------------------------------------------------- medias

    def medias(self) -> list[dict[str, Any]]:
        """All media records (id order), as ``/medias`` returns them."""
        return [m.record for m in self._medias]

    def media(self, media_id: str) -> dict[str, Any] | None:
        """A media by hashed id or numeric id, or None."""
        found = self._find_media(media_id)
        return found.record if found else None

    def _find_media(self, media_id: str) -> _Media | None:
        return self._media_by_hashed.get(media_id) or self._media_by_id.get(media_id)

    def media_index(self, media_id: str) -> int | None:
        found = self._find_media(media_id)
        return found.index if found else None

    # ---------------------------------------------------------------- events

    def event_record(self, row: EventRow) -> dict[str, Any]:
        """Render one event as the API returns it."""
        media = self._medias[row.media]
        visitor = self._visitors[row.visitor]
        country, region, city, lat, lon = visitor.geo
        if row.conversion >= 0:
            first, _, last = (visitor.identity["name"] or "Anon Ymous").partition(" ")
            conversion_data: dict[str, Any] = {
                "email": visitor.email or f"lead.{row.visitor}@example.com",
                "first_name": first,
                "last_name": last,
                "is_new_lead": row.conversion % 2 == 1,
            }
        else:
            conversion_data = {}
        return {
            "received_at": row.received_at,
            "event_key": row.event_key,
            "visitor_key": visitor.key,
            "embed_url": f"{pools.EMBED_HOSTS[row.embed]}{media.hashed_id}",
            "percent_viewed": row.percent_viewed,
            "ip": visitor.ip,
            "org": visitor.org,
            "country": country,
            "region": region,
            "city": city,
            "lat": lat,
            "lon": lon,
            "email": visitor.email,
            "media_id": media.hashed_id,
            "media_name": media.name,
            "media_url": media.media_url,
            "iframe_heatmap_url": f"{media.heatmap_base}?event_key={row.event_key}",
            "thumbnail": media.thumbnail,
            "conversion_type": row.conversion if row.conversion >= 0 else "",
            "conversion_data": conversion_data,
            "user_agent_details": visitor.user_agent,
        }

    def events(
        self,
        start: date,
        end: date,
        media_id: str | None = None,
        visitor_key: str | None = None,
        include_unreleased_late: bool = True,
    ) -> list[EventRow]:
        """Events whose received_at UTC date is in [start, end], newest first (cached)."""
        cache_key = (start, end, media_id, visitor_key, include_unreleased_late)
        with self._lock:
            hit = self._list_cache.get(cache_key)
            if hit is not None:
                self._list_cache.move_to_end(cache_key)
                return hit
        media_idx = self.media_index(media_id) if media_id is not None else None
        visitor = self._visitor_by_key.get(visitor_key) if visitor_key is not None else None
        result: list[EventRow] = []
        if (media_id is None or media_idx is not None) and (
            visitor_key is None or visitor is not None
        ):
            assert self.config.start_date is not None and self.config.end_date is not None
            first = max(start, self.config.start_date)
            day = min(end, self.config.end_date)
            while day >= first:
                for row in self.day_data(day).events:
                    if media_idx is not None and row.media != media_idx:
                        continue
                    if visitor is not None and row.visitor != visitor.index:
                        continue
                    if row.late and not include_unreleased_late:
                        continue
                    result.append(row)
                day -= timedelta(days=1)
        with self._lock:
            self._list_cache[cache_key] = result
            while len(self._list_cache) > _LIST_CACHE_SIZE:
                self._list_cache.popitem(last=False)
        return result

    def event_records(self, start: date, end: date, **filters: Any) -> list[dict[str, Any]]:
        """``events(start, end, **filters)`` rendered as API JSON objects (the ground truth for
        tests/benchmarks)."""
        return [self.event_record(r) for r in self.events(start, end, **filters)]

    def event(self, event_key: str) -> EventRow | None:
        with self._lock:
            if self._event_index is None:
                index: dict[str, EventRow] = {}
                for day in self.days:
                    for row in self.day_data(day).events:
                        index[row.event_key] = row
                self._event_index = index
            return self._event_index.get(event_key)

    # ------------------------------------------------------------- stats

    def _media_day(self, media_id: str, day: date) -> tuple[int, DayData]:
        """The media's index and the day's data; KeyError for an unknown media."""
        index = self.media_index(media_id)
        if index is None:
            raise KeyError(media_id)
        return index, self.day_data(day)

    def media_day_stats(self, media_id: str, day: date) -> dict[str, Any]:
        """by_date row: load_count, play_count, hours_watched (late events included)."""
        index, data = self._media_day(media_id, day)
        return {
            "date": day.isoformat(),
            "load_count": data.loads[index],
            "play_count": data.plays[index],
            "hours_watched": round(data.seconds[index] / 3600.0, 6),
        }

    def media_analytics_day(self, media_id: str, day: date) -> dict[str, Any]:
        """Wistia's own analytics figures for one media and day, as raw additive parts."""
        index, data = self._media_day(media_id, day)
        return {
            "loads": data.loads[index],
            "plays": data.plays[index],
            "unique_visitors": data.unique_visitors[index],
            "seconds": data.seconds[index],
            "percent_sum": data.percent_sum[index],
            "conversions": data.conversions[index],
        }

    def totals(self, media_id: str | None = None) -> dict[str, Any]:
        """Loads, plays, seconds over the whole data range (one media or the account)."""
        index = self.media_index(media_id) if media_id is not None else None
        loads = plays = conversions = 0
        seconds = percent = 0.0
        for day in self.days:
            data = self.day_data(day)
            indices = range(len(self._medias)) if index is None else (index,)
            for i in indices:
                loads += data.loads[i]
                plays += data.plays[i]
                seconds += data.seconds[i]
                percent += data.percent_sum[i]
                conversions += data.conversions[i]
        visitors = len(
            {
                row.visitor
                for day in self.days
                for row in self.day_data(day).events
                if index is None or row.media == index
            }
        )
        return {
            "loads": loads,
            "plays": plays,
            "seconds": seconds,
            "percent_sum": percent,
            "conversions": conversions,
            "visitors": visitors,
        }

    # ------------------------------------------------------------- visitors

    def _stats(self) -> _VisitorStats:
        with self._lock:
            if self._visitor_stats is None:
                stats = _VisitorStats(
                    plays=[0] * len(self._visitors), last=[None] * len(self._visitors)
                )
                for day in self.days:
                    for row in self.day_data(day).events:
                        stats.plays[row.visitor] += 1
                        last = stats.last[row.visitor]
                        if last is None or (row.ms, row.event_key) > (last.ms, last.event_key):
                            stats.last[row.visitor] = row
                self._visitor_stats = stats
            return self._visitor_stats

    def _visitor_record(self, visitor: _Visitor, stats: _VisitorStats) -> dict[str, Any]:
        last = stats.last[visitor.index]
        assert last is not None
        plays = stats.plays[visitor.index]
        return {
            "visitor_key": visitor.key,
            "created_at": visitor.created_at,
            "last_active_at": last.received_at,
            "last_event_key": last.event_key,
            "load_count": plays + visitor.extra_loads,
            "play_count": plays,
            "visitor_identity": visitor.identity,
            "user_agent_details": visitor.user_agent,
        }

    def visitors(self) -> list[dict[str, Any]]:
        """Visitors with at least one play in the data range (index order)."""
        stats = self._stats()
        return [self._visitor_record(v, stats) for v in self._visitors if stats.plays[v.index]]

    def visitor_listing(self) -> Sequence[dict[str, Any]]:
        """What ``/stats/visitors`` lists: :meth:`visitors`, then the historical visitors
        (rendered when a page asks for them, so a long history costs no memory)."""
        return _VisitorListing(self.visitors(), self.config.historical_visitors, self._historical)

    def _historical(self, i: int) -> dict[str, Any]:
        """Historical visitor ``i``: from its own rng, its key ends with ``i`` in hex."""
        rng = random.Random(f"wistia-sim:{self.config.seed}:historical:{i}")
        assert self.config.start_date is not None
        range_start = _midnight(self.config.start_date)
        uuid = _uuid4(rng)
        last = range_start - timedelta(seconds=rng.randrange(1, 365 * 86_400))
        created = last - timedelta(seconds=rng.randrange(0, 365 * 86_400))
        plays = 1 + rng.randrange(20)
        return {
            "visitor_key": f"{self.account_prefix}_{uuid[:-12]}{i:012x}",
            "created_at": _iso(created),
            "last_active_at": _iso(last),
            "last_event_key": f"{self.account_prefix}_{_uuid4(rng)}",
            "load_count": plays + rng.randrange(4),
            "play_count": plays,
            "visitor_identity": _visitor_identity(rng, self.config.visitor_count + i),
            "user_agent_details": _user_agent(rng),
        }

    def _historical_by_key(self, visitor_key: str) -> dict[str, Any] | None:
        try:
            i = int(visitor_key[-12:], 16)
        except ValueError:
            return None
        if not 0 <= i < self.config.historical_visitors:
            return None
        record = self._historical(i)
        return record if record["visitor_key"] == visitor_key else None

    def visitor(self, visitor_key: str) -> dict[str, Any] | None:
        found = self._visitor_by_key.get(visitor_key)
        if found is None:
            return self._historical_by_key(visitor_key)
        stats = self._stats()
        return self._visitor_record(found, stats) if stats.plays[found.index] else None


class _VisitorListing(Sequence):
    """The active visitors followed by ``count`` historical ones rendered on access."""

    def __init__(
        self, active: list[dict[str, Any]], count: int, render: Callable[[int], dict[str, Any]]
    ) -> None:
        self._active = active
        self._count = count
        self._render = render

    def __len__(self) -> int:
        return len(self._active) + self._count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index < len(self._active):
            return self._active[index]
        return self._render(index - len(self._active))
