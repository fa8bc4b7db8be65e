"""The Glue Data Catalog as Athena reads it: a table's columns, ``LOCATION`` and partitions,
and the objects in this server's S3 that hold its data.

A table becomes the same :class:`~wistia_pipeline.sql.schema.TableSpec` the local runner
builds from the DDL files, so both targets read a table through one code path. Partitioned
tables read only the partitions Athena would: with ``projection.enabled`` the values the
projection admits (``enum``, ``integer``, ``date`` with ``NOW`` ranges, ``injected``) under
``storage.location.template`` (default ``<LOCATION>/key=value/``); without projection, the
partitions registered in the catalog. Objects whose path below ``LOCATION`` has a part starting
with ``_`` or ``.`` are ignored, as Athena ignores them. A ``SymlinkTextInputFormat`` table's
objects are manifests: the data is the objects they list (one ``s3://`` URI per line), with the
partition values of the manifest's location.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.s3.exceptions import MissingBucket
from sqlglot import exp

from wistia_pipeline.sql.schema import SYMLINK_INPUT_FORMAT, Column, TableSpec


class AthenaError(Exception):
    """A query failed; ``str(exc)`` is Athena's ``StateChangeReason``."""


@dataclass(frozen=True)
class TableData:
    spec: TableSpec
    files: list[tuple[str, tuple[str, ...]]]  # s3:// URLs of the data, partition values
    size: int  # their total size in bytes (the query's DataScannedInBytes)


def glue_type(kind: exp.DataType) -> str:
    """A DDL column type in the spelling the Glue catalog stores (``struct<x:int>``)."""
    return re.sub(r"\s+", "", kind.sql("hive").lower())


def _column(field: Mapping[str, Any]) -> Column:
    declared = str(field["Type"])
    kind = exp.DataType.build(declared, dialect="hive")
    return Column(
        name=str(field["Name"]).lower(), athena_type=declared, duckdb_type=kind.sql("duckdb")
    )


def _enabled(parameters: Mapping[str, str]) -> bool:
    return str(parameters.get("projection.enabled", "")).lower() == "true"


def table_spec(table: Mapping[str, Any]) -> TableSpec:
    """The :class:`TableSpec` of a Glue table (``GetTable``'s ``Table`` shape)."""
    descriptor = table.get("StorageDescriptor") or {}
    parameters = table.get("Parameters") or {}
    location = str(descriptor.get("Location") or "")
    if not location.startswith("s3://"):
        raise AthenaError(
            f"HIVE_METASTORE_ERROR: Table {table['Name']} has no s3:// location: {location!r}"
        )
    location = location if location.endswith("/") else location + "/"
    partitions = tuple(_column(f) for f in table.get("PartitionKeys") or [])
    template = parameters.get("storage.location.template") if _enabled(parameters) else None
    if partitions and not template:
        template = location + "".join(f"{c.name}=${{{c.name}}}/" for c in partitions)
    columns = tuple(_column(f) for f in descriptor.get("Columns") or [])
    symlink = descriptor.get("InputFormat") == SYMLINK_INPUT_FORMAT
    return TableSpec(str(table["Name"]), location, columns, partitions, template, symlink)


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/key/prefix`` -> ``(bucket, "key/prefix")``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _hidden(relative: str) -> bool:
    return relative.endswith(("/", "_$folder$")) or any(
        part.startswith(("_", ".")) for part in relative.split("/")
    )


def table_data(
    s3: Any,
    table: Mapping[str, Any],
    registered: Iterable[Sequence[str]] = (),
    now: datetime | None = None,
) -> TableData:
    """The table's spec and the data objects a query reads (see the module docstring);
    ``registered`` are the values of the partitions the catalog holds for the table."""
    spec = table_spec(table)
    accept = partition_filter(table, registered, now or datetime.now(UTC))
    regex = re.compile(spec.partition_regex()) if spec.partitions else None
    bucket, prefix = split_s3(spec.location)
    try:
        keys, *_ = s3.list_objects(s3.get_bucket(bucket), prefix, None, None, None)
    except MissingBucket:
        raise AthenaError(
            f"HIVE_FILESYSTEM_ERROR: The specified bucket does not exist ({spec.location})"
        ) from None
    files: list[tuple[str, tuple[str, ...]]] = []
    size = 0
    for key in keys:
        url = f"s3://{bucket}/{key.name}"
        if _hidden(key.name[len(prefix) :]):
            continue
        values: tuple[str, ...] = ()
        if regex is not None:
            match = regex.search(url)
            if match is None or not accept(match.groups()):
                continue
            values = match.groups()
        if not spec.symlink:
            files.append((url, values))
            size += int(key.size)
            continue
        for data_url in _manifest_lines(s3, bucket, key.name):
            files.append((data_url, values))
            size += _object_size(s3, data_url)
    return TableData(spec, sorted(files), size)


def _manifest_lines(s3: Any, bucket: str, key: str) -> list[str]:
    body = s3.get_object(bucket, key).value.decode("utf-8")
    return [line.strip() for line in body.splitlines() if line.strip()]


def _object_size(s3: Any, url: str) -> int:
    """A listed data object's size; a manifest naming a missing object fails the query."""
    bucket, key = split_s3(url)
    found = s3.get_object(bucket, key)
    if found is None:
        raise AthenaError(f"HIVE_CANNOT_OPEN_SPLIT: manifest lists a missing object {url}")
    return int(found.size)


def partition_filter(
    table: Mapping[str, Any], registered: Iterable[Sequence[str]], now: datetime
) -> Callable[[tuple[str, ...]], bool]:
    """Whether a tuple of partition values (in key order) is one Athena reads."""
    parameters = table.get("Parameters") or {}
    keys = [str(f["Name"]).lower() for f in table.get("PartitionKeys") or []]
    if not _enabled(parameters):
        known = {tuple(values) for values in registered}
        return lambda values: tuple(values) in known
    checks = [_projection(parameters, key, now) for key in keys]
    return lambda values: all(check(v) for check, v in zip(checks, values, strict=True))


def _projection(parameters: Mapping[str, str], key: str, now: datetime) -> Callable[[str], bool]:
    def prop(name: str, default: str = "") -> str:
        return str(parameters.get(f"projection.{key}.{name}", default))

    kind = prop("type").lower()
    if kind == "enum":
        allowed = {v.strip() for v in prop("values").split(",")}
        return lambda value: value in allowed
    if kind == "integer":
        low, _, high = prop("range").partition(",")
        digits = int(prop("digits", "0") or 0)
        return lambda value: (
            re.fullmatch(r"-?\d+", value) is not None
            and int(low) <= int(value) <= int(high)
            and len(value.lstrip("-")) >= digits
        )
    if kind == "date":
        return _date_projection(
            prop("format"), prop("range"), prop("interval", "1"), prop("interval.unit", "DAYS"), now
        )
    if kind == "injected":
        return lambda value: True
    raise AthenaError(
        f"HIVE_METASTORE_ERROR: partition projection of column {key!r} has no valid type ({kind!r})"
    )


_JAVA_DATE = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_UNITS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400, "WEEK": 604800}


def _strftime_format(java: str) -> str:
    return re.sub("|".join(_JAVA_DATE), lambda m: _JAVA_DATE[m.group(0)], java.replace("%", "%%"))


def _add_months(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.month - 1 + months, 12)
    day = min(moment.day, calendar.monthrange(moment.year + year, month + 1)[1])
    return moment.replace(year=moment.year + year, month=month + 1, day=day)


def _bound(text: str, fmt: str, now: datetime) -> datetime:
    """One end of a date projection range: a date in the format, or NOW[+-N UNIT[S]]."""
    match = re.fullmatch(
        r"NOW(?:([+-])(\d+)(YEAR|MONTH|WEEK|DAY|HOUR|MINUTE|SECOND)S?)?", text.strip().upper()
    )
    if match is None:
        return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
    sign, amount, unit = match.groups()
    if not sign:
        return now
    step = int(amount) * (1 if sign == "+" else -1)
    if unit in ("YEAR", "MONTH"):
        return _add_months(now, step * (12 if unit == "YEAR" else 1))
    return now + timedelta(seconds=step * _UNITS[unit])


def _date_projection(
    java_format: str, bounds: str, interval: str, unit: str, now: datetime
) -> Callable[[str], bool]:
    fmt = _strftime_format(java_format)
    low_text, _, high_text = bounds.partition(",")
    low, high = _bound(low_text, fmt, now), _bound(high_text, fmt, now)
    # Values step from a fixed start (a NOW-relative start has no fixed grid to check).
    fixed = not low_text.strip().upper().startswith("NOW")
    step = int(interval or 1) * _UNITS.get(unit.upper().rstrip("S"), 0) if fixed else 0

    def accept(value: str) -> bool:
        try:
            moment = datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            return False
        if moment.strftime(fmt) != value or not low <= moment <= high:
            return False
        return step == 0 or (moment - low).total_seconds() % step == 0

    return accept
