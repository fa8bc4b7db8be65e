"""What a task needs to know about its run, derived from the Airflow context at run time."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from wistia_pipeline import dates, pipeline
from wistia_pipeline.config import MAX_LOOKBACK_DAYS, MAX_RANGE_DAYS, Settings, load_settings

# The run state's bound for audit text (state.base.MAX_AUDIT_TEXT_CHARS); checked here so an
# over-long reason fails at claim_day, before any work, not at publish.
MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class RunInfo:
    """The run's data days ``[first_day, day]`` (``D1``, ``D2``; the daily run has ``D1 = D2``),
    the Airflow run id, and the window ``[D1 - L, D2]``."""

    day: date
    run_id: str
    lookback_days: int
    streams: list[str]
    first_day: date | None = None  # None: the daily run (first_day = day)

    @property
    def first(self) -> date:
        return self.day if self.first_day is None else self.first_day

    @property
    def days(self) -> list[date]:
        """Every data day the run covers (claims, publishes, marks)."""
        return dates.days_between(self.first, self.day)

    @property
    def window(self) -> tuple[date, date]:
        return dates.range_window(self.first, self.day, self.lookback_days)


def _utc(context: Mapping[str, Any], key: str) -> datetime | None:
    value = context.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        raise ValueError(f"{key} {value!r} is not timezone-aware")
    return value.astimezone(UTC)


def data_range(context: Mapping[str, Any]) -> tuple[date, date]:
    """``(D1, D2)``: the UTC data days of the run's data interval ``[D1 00:00, D2 + 1 00:00)``.

    A daily interval gives ``D1 = D2``; an interval without a later end (a zero-length one)
    is the day it starts.
    """
    start = _utc(context, "data_interval_start")
    if start is None:
        raise ValueError(
            "the run has no data interval; wistia_daily needs a data-interval timetable "
            "(trigger it with a logical date)"
        )
    first = start.date()
    end = _utc(context, "data_interval_end")
    if end is None or end <= start:
        return first, first
    last = (end - timedelta(microseconds=1)).date()  # the interval excludes its end
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValueError(
            f"the run's data interval {start.isoformat()}..{end.isoformat()} covers "
            f"{(last - first).days + 1} days; a run covers at most {MAX_RANGE_DAYS}"
        )
    return first, last


def data_day(context: Mapping[str, Any]) -> date:
    """``D`` = the last data day of the run (``D2``; the daily run's only day)."""
    return data_range(context)[1]


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
    first, last = data_range(context)
    return RunInfo(
        day=last,
        run_id=str(context["run_id"]),
        lookback_days=_lookback(lookback_days, default_lookback_days),
        streams=pipeline.check_streams(streams),
        first_day=first if first < last else None,
    )


@dataclass(frozen=True)
class RunOptions:
    """The operator's choices for a run beyond its window (DAG params, checked by claim_day).

    ``publish_only``: skip ingest, silver and gold; check and publish the stage the latest run
    of the same window left. ``accepted_checks``: data checks whose failure does not fail the
    run (each recorded with ``override_reason`` and who triggered the run).
    """

    publish_only: bool = False
    accepted_checks: tuple[str, ...] = ()
    override_reason: str | None = None


def _names(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):  # a comma-separated list from the CLI's --conf
        return [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"accept_failed_checks must be a list of check names, got {value!r}")
    return [v.strip() for v in value if v.strip()]


def run_options(params: Mapping[str, Any], known_checks: Sequence[str]) -> RunOptions:
    """Validate the run's override and publish-only params against ``known_checks`` (the
    names of ``checks/*.sql``). A named check needs a reason: an override is only ever taken
    on purpose, and the reason is what the run state and the report show."""
    publish_only = params.get("publish_only", False)
    if publish_only in (None, ""):
        publish_only = False
    if not isinstance(publish_only, bool):
        raise ValueError(f"publish_only must be true or false, got {publish_only!r}")
    names = list(dict.fromkeys(_names(params.get("accept_failed_checks"))))
    unknown = [n for n in names if n not in known_checks]
    if unknown:
        raise ValueError(
            f"accept_failed_checks names unknown checks {unknown}; the checks are "
            f"{list(known_checks)}"
        )
    reason = params.get("override_reason")
    if reason is not None and not isinstance(reason, str):
        raise ValueError(f"override_reason must be text, got {reason!r}")
    reason = (reason or "").strip() or None
    if names and reason is None:
        raise ValueError(
            f"accept_failed_checks names {names}: override_reason must say why (it is recorded "
            "with the day's run state and shown in its report)"
        )
    if reason is not None and not names:
        raise ValueError("override_reason is set but accept_failed_checks names no check")
    if reason is not None and len(reason) > MAX_REASON_CHARS:
        raise ValueError(f"override_reason is longer than {MAX_REASON_CHARS} characters")
    return RunOptions(publish_only, tuple(names), reason)


def triggered_by(context: Mapping[str, Any]) -> str:
    """Who an override is recorded as: the user who triggered the run when Airflow knows it
    (``DagRun.triggering_user_name``, Airflow 3.1+), and the run id."""
    run_id = str(context["run_id"])
    user = getattr(context.get("dag_run"), "triggering_user_name", None)
    return f"{user} (run {run_id})" if user else f"run {run_id}"


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
