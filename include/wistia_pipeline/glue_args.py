"""Glue job arguments (``--name value``) for the Glue scripts, on AWS Glue and local Spark.

On Glue ``awsglue.utils.getResolvedOptions`` is used (it also understands the arguments Glue
adds itself, e.g. ``--JOB_NAME``); elsewhere an equivalent parser reads the same form. Unknown
arguments are ignored, as Glue does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence


class JobArgumentError(ValueError):
    """A required job argument is missing or malformed."""


def _fallback_resolve(argv: Sequence[str], names: Sequence[str]) -> dict[str, str]:
    wanted = set(names)
    found: dict[str, str] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if token.startswith("--"):
            name, eq, inline = token[2:].partition("=")
            if eq:
                value: str | None = inline
                i += 1
            elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                value = argv[i + 1]
                i += 2
            else:
                value = None
                i += 1
            if name in wanted:
                if value is None:
                    raise JobArgumentError(f"job argument --{name} has no value")
                found[name] = value  # last occurrence wins, as in getResolvedOptions
        else:
            i += 1
    missing = [n for n in names if n not in found]
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
        resolved = _fallback_resolve(argv, names)
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
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def parse_share(value: str | None, name: str) -> float:
    try:
        share = float(value or "")
    except ValueError:
        raise JobArgumentError(f"--{name} must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= share <= 1.0:
        raise JobArgumentError(f"--{name} must be within [0, 1], got {share}")
    return share
