"""Glue job arguments (``--name value``) for the Glue scripts, on AWS Glue and local Spark.

On Glue ``awsglue.utils.getResolvedOptions`` is used (it also understands the arguments Glue
adds itself, e.g. ``--JOB_NAME``); elsewhere ``argparse`` reads the same form. Unknown
arguments are ignored, as Glue does.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import NoReturn

from wistia_pipeline.dates import days_between


class JobArgumentError(ValueError):
    """A required job argument is missing or malformed."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse would print usage and exit
        raise JobArgumentError(f"job arguments: {message}")


def _parse_locally(argv: Sequence[str], names: Sequence[str]) -> dict[str, str]:
    """``getResolvedOptions`` without Glue: the last ``--name value`` wins, others are ignored."""
    parser = _Parser(add_help=False, allow_abbrev=False)
    for name in names:
        parser.add_argument(f"--{name}", dest=name)
    known, _ = parser.parse_known_args(argv)
    found = {name: getattr(known, name) for name in names}
    missing = [name for name, value in found.items() if value is None]
    if missing:
        raise JobArgumentError("missing job argument(s): " + ", ".join(f"--{n}" for n in missing))
    return found


def _present(argv: Sequence[str], name: str) -> bool:
    return any(a == f"--{name}" or a.startswith(f"--{name}=") for a in argv)


def resolve_options(
    argv: Sequence[str], required: Sequence[str], optional: Mapping[str, str | None]
) -> dict[str, str | None]:
    """Resolve ``required`` and (when given) ``optional`` arguments from ``argv``.

    ``optional`` maps a name to its default (``None`` = absent). Uses Glue's own resolver when
    ``awsglue`` is importable, the local parser otherwise.
    """
    names = [*required, *(n for n in optional if _present(argv, n))]
    try:
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
    except ImportError:
        resolved = _parse_locally(argv, names)
    else:
        resolved = getResolvedOptions(list(argv), names)
    out: dict[str, str | None] = dict(optional)
    out.update({n: resolved[n] for n in names})
    return out


def parse_date(value: str | None, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        raise JobArgumentError(f"--{name} must be YYYY-MM-DD, got {value!r}") from None


def window_dates(start: dt.date, end: dt.date) -> list[dt.date]:
    """The inclusive day range; ``start`` after ``end`` is an error."""
    if start > end:
        raise JobArgumentError(f"--start_date {start} is after --end_date {end}")
    return days_between(start, end)


def parse_share(value: str | None, name: str) -> float:
    try:
        share = float(value or "")
    except ValueError:
        raise JobArgumentError(f"--{name} must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= share <= 1.0:
        raise JobArgumentError(f"--{name} must be within [0, 1], got {share}")
    return share


# The arguments both Glue jobs take.
WINDOW_ARGS = ("start_date", "end_date", "lake_uri", "run_id")


def job_window(args: Mapping[str, str | None]) -> tuple[list[dt.date], str, str]:
    """The window's days (``--start_date`` .. ``--end_date``), the lake root (no ``/`` end) and
    the run id (whose stage the job writes)."""
    start = parse_date(args["start_date"], "start_date")
    end = parse_date(args["end_date"], "end_date")
    run_id = str(args["run_id"] or "").strip()
    if not run_id:
        raise JobArgumentError("--run_id must be non-empty")
    return window_dates(start, end), str(args["lake_uri"]).rstrip("/"), run_id
