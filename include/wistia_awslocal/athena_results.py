"""Query results as Athena hands them out: values as text (Trino's rendering: ``true``, doubles
as Java prints them, timestamps with milliseconds), ``ColumnInfo`` with Athena's type names, the
result CSV (quoted header and values, NULL as an empty unquoted field) and ``GetQueryResults``
pages (at most 1000 rows, the header row first on the first page, ``NextToken`` to go on).
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from moto.core.exceptions import JsonRESTError

MAX_RESULTS = 1000

# DuckDB type -> (Athena type name, Precision, Scale) as ColumnInfo reports them.
_TYPES = {
    "VARCHAR": ("varchar", 2147483647, 0),
    "BIGINT": ("bigint", 19, 0),
    "HUGEINT": ("bigint", 19, 0),  # DuckDB's SUM(BIGINT); Athena's is bigint
    "UBIGINT": ("bigint", 19, 0),
    "INTEGER": ("integer", 10, 0),
    "UINTEGER": ("bigint", 19, 0),
    "SMALLINT": ("smallint", 5, 0),
    "TINYINT": ("tinyint", 3, 0),
    "DOUBLE": ("double", 17, 0),
    "FLOAT": ("float", 7, 0),
    "BOOLEAN": ("boolean", 0, 0),
    "DATE": ("date", 0, 0),
    "TIMESTAMP": ("timestamp", 3, 0),
    "TIMESTAMP_MS": ("timestamp", 3, 0),
    "TIMESTAMP_NS": ("timestamp", 3, 0),
    "TIMESTAMP WITH TIME ZONE": ("timestamp with time zone", 3, 0),
    "TIME": ("time", 3, 0),
    "BLOB": ("varbinary", 2147483647, 0),
    "INTERVAL": ("interval day to second", 0, 0),
    "UUID": ("uuid", 0, 0),
    "JSON": ("json", 0, 0),
    "NULL": ("unknown", 0, 0),
}


class InvalidRequest(JsonRESTError):
    """Athena's InvalidRequestException (HTTP 400)."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidRequestException", message)


def athena_type(duckdb_type: str) -> tuple[str, int, int]:
    """``(type, precision, scale)`` of a DuckDB result column, in Athena's names."""
    name = duckdb_type.upper()
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", name)
    if decimal:
        return "decimal", int(decimal.group(1)), int(decimal.group(2))
    if name.endswith("]"):
        return "array", 0, 0
    if name.startswith(("STRUCT", "UNION")):
        return "row", 0, 0
    if name.startswith("MAP"):
        return "map", 0, 0
    return _TYPES.get(name, ("varchar", 2147483647, 0))


def column_info(columns: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """``ResultSetMetadata.ColumnInfo`` for ``(name, DuckDB type)`` columns."""
    info = []
    for name, duckdb_type in columns:
        kind, precision, scale = athena_type(duckdb_type)
        info.append(
            {
                "CatalogName": "hive",
                "SchemaName": "",
                "TableName": "",
                "Name": name,
                "Label": name,
                "Type": kind,
                "Precision": precision,
                "Scale": scale,
                "Nullable": "UNKNOWN",
                "CaseSensitive": kind in ("varchar", "char"),
            }
        )
    return info


def java_double(value: float) -> str:
    """A double as Java's ``Double.toString`` writes it (``1.0``, ``0.5``, ``1.0E-5``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    mantissa = "".join(map(str, digits))
    power = len(mantissa) - 1 + int(exponent)
    return f"{'-' if sign else ''}{mantissa[0]}.{mantissa[1:] or '0'}E{power}"


def _timestamp(value: datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S") + f".{value.microsecond // 1000:03d}"
    return text if value.tzinfo is None else f"{text} {value.tzname() or 'UTC'}"


def _nested(value: Any) -> str:
    text = to_text(value)
    return "null" if text is None else text


def to_text(value: Any) -> str | None:
    """One value as Athena's ``VarCharValue`` (None for NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return _timestamp(value)
    if isinstance(value, date | time):
        return value.isoformat(timespec="milliseconds") if isinstance(value, time) else str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_nested(k)}={_nested(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes | bytearray):
        return " ".join(f"{b:02x}" for b in value)
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str | None]]) -> str:
    """Athena's result CSV: every value quoted (quotes doubled), NULL an empty field."""

    def line(values: Sequence[str | None]) -> str:
        return ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in values)

    return "".join(line(values) + "\n" for values in [header, *rows])


def _token(execution_id: str, offset: int) -> str:
    raw = json.dumps({"q": execution_id, "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _offset(token: str, execution_id: str) -> int:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        if decoded["q"] == execution_id and int(decoded["o"]) >= 0:
            return int(decoded["o"])
    except (ValueError, KeyError, TypeError):
        pass
    raise InvalidRequest("Invalid NextToken")


def results_page(
    execution_id: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[str | None]],
    max_results: int | None = None,
    next_token: str | None = None,
) -> dict[str, Any]:
    """One ``GetQueryResults`` response over text ``rows``; the header row is row 0."""
    size = MAX_RESULTS if max_results is None else int(max_results)
    if not 1 <= size <= MAX_RESULTS:
        raise JsonRESTError(
            "ValidationException",
            f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_RESULTS}",
        )
    offset = _offset(next_token, execution_id) if next_token else 0
    table: list[Sequence[str | None]] = [[c for c, _ in columns], *rows] if columns else []
    page = table[offset : offset + size]
    response: dict[str, Any] = {
        "ResultSet": {
            "Rows": [
                {"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in page
            ],
            "ResultSetMetadata": {"ColumnInfo": column_info(columns)},
        },
        "UpdateCount": 0,
    }
    if offset + size < len(table):
        response["NextToken"] = _token(execution_id, offset + size)
    return response
