"""Data-check results: every ``checks/*.sql`` returns exactly one row
``(check_name varchar, failures bigint, detail varchar)`` and passes when ``failures = 0``.

Shared by the local runner (DuckDB) and the Athena adapter: both turn the rows they got into
:class:`CheckResult` with :func:`check_result_from_rows` and fail a run with
:func:`raise_for_failures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CHECK_COLUMNS = ("check_name", "failures", "detail")


class DataCheckFailed(Exception):
    """One or more data checks reported failures (or returned a malformed result)."""

    def __init__(self, message: str, results: Sequence[CheckResult] = ()) -> None:
        super().__init__(message)
        self.results = list(results)


@dataclass(frozen=True)
class CheckResult:
    check_name: str
    failures: int
    detail: str

    @property
    def passed(self) -> bool:
        return self.failures == 0


def check_result_from_rows(
    source: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> CheckResult:
    """Validate one check query's output shape and convert it."""
    names = tuple(str(c).lower() for c in columns)
    if names != CHECK_COLUMNS:
        raise DataCheckFailed(f"check {source} returned columns {names}, expected {CHECK_COLUMNS}")
    if len(rows) != 1:
        raise DataCheckFailed(f"check {source} returned {len(rows)} rows, expected exactly 1")
    check_name, failures, detail = rows[0]
    if failures is None:
        raise DataCheckFailed(f"check {source} returned failures = NULL")
    return CheckResult(str(check_name), int(failures), "" if detail is None else str(detail))


def raise_for_failures(results: Sequence[CheckResult]) -> None:
    """Raise :class:`DataCheckFailed` naming every failed check; return when all passed."""
    failed = [r for r in results if not r.passed]
    if failed:
        lines = "; ".join(f"{r.check_name}: {r.failures} failure(s) ({r.detail})" for r in failed)
        raise DataCheckFailed(
            f"{len(failed)} of {len(results)} data checks failed: {lines}", results
        )
