"""Safe parameter rendering for the project's Athena SQL templates.

Templates use ``${name}`` placeholders; ``$${name}`` is an escape that renders as a literal
``${name}`` (needed for Athena's ``storage.location.template``, which has its own ``${dt}``).
Every value is validated against the parameter's type *before* substitution, so a value can
never change the shape of the statement (no quotes, no whitespace, no comments, no ``;``).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal

_IDENTIFIER = re.compile(r"[a-z0-9_]{1,255}")
_S3_URI = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._=/-]*)?")
_LOCAL_PATH = re.compile(r"/[A-Za-z0-9._=/-]*")


class SqlParamError(ValueError):
    """A template parameter is missing, unknown or has an unsafe value."""


def _iso_date(name: str, value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise SqlParamError(f"{name} must be an ISO date YYYY-MM-DD, got {value!r}")


def _identifier(name: str, value: object) -> str:
    if isinstance(value, str) and _IDENTIFIER.fullmatch(value):
        return value
    raise SqlParamError(f"{name} must match [a-z0-9_]+ (a lowercase identifier), got {value!r}")


def _non_negative_number(name: str, value: object) -> str:
    if isinstance(value, bool):
        raise SqlParamError(f"{name} must be a number, got {value!r}")
    if isinstance(value, int | float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    elif isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?([eE][-+]?\d+)?", value):
        number = Decimal(value)
    else:
        raise SqlParamError(f"{name} must be a non-negative number, got {value!r}")
    if not number.is_finite() or number < 0 or not math.isfinite(float(number)):
        raise SqlParamError(f"{name} must be a finite non-negative number, got {value!r}")
    return format(number, "f")


def _positive_int(name: str, value: object) -> str:
    if isinstance(value, bool):
        raise SqlParamError(f"{name} must be a positive integer, got {value!r}")
    if isinstance(value, str) and re.fullmatch(r"\d{1,9}", value):
        value = int(value)
    if isinstance(value, int) and 1 <= value <= 1_000_000:
        return str(value)
    raise SqlParamError(f"{name} must be an integer in [1, 1000000], got {value!r}")


def _lake_uri(name: str, value: object) -> str:
    if isinstance(value, str):
        uri = value.rstrip("/") if len(value) > 1 else value
        if uri.startswith("file://"):
            uri = uri[len("file://") :]
        if _S3_URI.fullmatch(uri) or _LOCAL_PATH.fullmatch(uri):
            return uri
    raise SqlParamError(
        f"{name} must be s3://bucket/prefix or an absolute local path made of "
        f"[A-Za-z0-9._=/-], got {value!r}"
    )


#: Every parameter a template may use, with the validator that renders it.
PARAMETERS: dict[str, Callable[[str, object], str]] = {
    "start_date": _iso_date,
    "end_date": _iso_date,
    "database": _identifier,
    "tolerance": _non_negative_number,
    "top_n": _positive_int,
    "lake_uri": _lake_uri,
    "tables_uri": _lake_uri,  # the DDL's root: <lake>/published or <lake>/staging
}


class _SqlTemplate(string.Template):
    """Only ``${name}`` is a placeholder and ``$${name}`` renders a literal ``${name}``; any
    other ``$`` is SQL text (regex anchors such as ``'^[0-9a-f]{64}$'``), left as written."""

    pattern = r"""
        \$(?:
          (?P<escaped>\$)(?=\{[^}]*\})       # $${name} -> ${name}
        | \{(?P<braced>[^}]*)\}              # ${name}
        | (?P<named>(?!))(?P<invalid>(?!))   # never: bare $ and $name are not placeholders
        )
    """


def placeholders(template: str) -> set[str]:
    """Names of the parameters ``template`` needs (escaped ``$${x}`` excluded)."""
    return set(_SqlTemplate(template).get_identifiers())


def validate_params(params: Mapping[str, object]) -> dict[str, str]:
    """Validate and render every value; unknown names are errors (typo guard)."""
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise SqlParamError(f"unknown SQL parameter(s) {unknown}; known: {sorted(PARAMETERS)}")
    rendered = {name: PARAMETERS[name](name, value) for name, value in params.items()}
    start, end = rendered.get("start_date"), rendered.get("end_date")
    if start and end and start > end:
        raise SqlParamError(f"start_date {start} is after end_date {end}")
    return rendered


def render_template(template: str, params: Mapping[str, object], source: str = "<sql>") -> str:
    """Substitute validated ``params`` into ``template``.

    Parameters the template does not use are still validated (so callers can pass one set of
    parameters to every query) but are otherwise ignored. A placeholder without a value is an
    error naming the template.
    """
    values = validate_params(params)
    missing = sorted(name for name in placeholders(template) if name not in values)
    if missing:
        raise SqlParamError(f"{source} needs parameter(s) {missing}")
    return _SqlTemplate(template).substitute(values)
