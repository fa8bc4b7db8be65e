"""Media deleted from the simulated account at a given instant.

Once a media's instant has passed, ``/medias`` stops listing it and every per-media endpoint
(``/medias/{id}``, ``/stats/medias/{id}``, ``.../by_date``, analytics) answers 404, while
``/stats/events`` keeps returning its past events, as Wistia does. The dataset itself is left
alone, so ``/_admin/dataset`` still tells what happened before the deletion.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_instant(raw: str) -> datetime:
    """ISO 8601 instant (``...Z`` or an offset); a zone-less value is taken as UTC."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"not an ISO 8601 instant: {raw!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_deletion(spec: str) -> tuple[str, datetime | None]:
    """``MEDIA_ID`` (deleted when given) or ``MEDIA_ID@INSTANT`` -> (media id, instant)."""
    media_id, sep, instant = spec.partition("@")
    if not media_id:
        raise ValueError(f"no media id in {spec!r}")
    return media_id, parse_instant(instant) if sep else None


class MediaDeletions:
    """Thread-safe ``hashed_id -> deletion instant``; ``clock`` is replaceable for tests."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self._at: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def delete(self, hashed_id: str, at: datetime | None = None) -> datetime:
        """Delete ``hashed_id`` at ``at`` (default: now); an earlier instant already set stays."""
        instant = self._clock() if at is None else at
        with self._lock:
            kept = self._at.get(hashed_id)
            self._at[hashed_id] = instant if kept is None else min(kept, instant)
            return self._at[hashed_id]

    def is_deleted(self, hashed_id: str) -> bool:
        with self._lock:
            at = self._at.get(hashed_id)
        return at is not None and self._clock() >= at

    def as_dict(self) -> dict[str, str]:
        """``hashed_id -> instant`` (ISO UTC) of every scheduled or past deletion."""
        with self._lock:
            return {k: v.strftime("%Y-%m-%dT%H:%M:%SZ") for k, v in sorted(self._at.items())}
