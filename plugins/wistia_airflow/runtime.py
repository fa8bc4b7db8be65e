"""What a task needs to know about its run, derived from the Airflow context at run time."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from wistia_pipeline import dates, pipeline
from wistia_pipeline.config import MAX_LOOKBACK_DAYS, Settings, load_settings


@dataclass(frozen=True)
class RunInfo:
    """Data day ``D``, the Airflow run id, and the window ``[D - L, D]``."""

    day: date
    run_id: str
    lookback_days: int
    streams: list[str]

    @property
    def window(self) -> tuple[date, date]:
        return dates.window(self.day, self.lookback_days)


def data_day(context: Mapping[str, Any]) -> date:
    """``D`` = the UTC date of the start of the run's data interval (the brief's run semantics)."""
    start = context.get("data_interval_start")
    if start is None:
        raise ValueError(
            "the run has no data interval; wistia_daily needs a data-interval timetable "
            "(trigger it with a logical date)"
        )
    if isinstance(start, str):
        start = datetime.fromisoformat(start)
    if start.tzinfo is None:
        raise ValueError(f"data_interval_start {start!r} is not timezone-aware")
    return start.astimezone(UTC).date()


def _lookback(value: object, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValueError(f"lookback_days must be an integer, got {value!r}")
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValueError(f"lookback_days must be an integer, got {value!r}") from None
    if number < 0 or number > MAX_LOOKBACK_DAYS or str(number) != str(value).strip():
        raise ValueError(
            f"lookback_days must be an integer in 0..{MAX_LOOKBACK_DAYS}, got {value!r}"
        )
    return number


def run_info(context: Mapping[str, Any], default_lookback_days: int) -> RunInfo:
    """Build :class:`RunInfo` from the context and the run's params (``lookback_days`` None or
    absent means ``default_lookback_days``; ``streams`` absent means all)."""
    params = context.get("params") or {}
    lookback_days = params.get("lookback_days")
    streams: Sequence[str] | str | None = params.get("streams")
    if isinstance(streams, str):
        streams = [s.strip() for s in streams.split(",") if s.strip()]
    return RunInfo(
        day=data_day(context),
        run_id=str(context["run_id"]),
        lookback_days=_lookback(lookback_days, default_lookback_days),
        streams=pipeline.check_streams(streams),
    )


def lookup(name: str) -> str | None:
    """A setting by name: the environment first, then the Airflow Variable of the same name.

    On MWAA the Variables come from the Secrets Manager backend (``variables_prefix``). Only
    called inside ``execute()``, never at parse time.
    """
    value = os.environ.get(name)
    if value:
        return value
    from airflow.sdk import Variable

    return Variable.get(name, default=None) or None


def settings() -> Settings:
    """The run's settings, Airflow Variables filling what the environment leaves unset."""
    return load_settings(lookup=lookup)
