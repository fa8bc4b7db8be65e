"""Data-check results: every ``checks/*.sql`` returns exactly one row
``(check_name varchar, failures bigint, detail varchar)`` and passes when ``failures = 0``.

The one result type of both targets: DuckDB rows (:func:`check_result_from_rows`) and Athena's
``GetQueryResults`` (:func:`check_result_from_athena`) become :class:`CheckResult`, and
:func:`raise_for_failures` fails a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

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
    if len(rows[0]) != len(CHECK_COLUMNS):
        raise DataCheckFailed(f"check {source} returned a row of {len(rows[0])} values: {rows[0]}")
    check_name, failures, detail = rows[0]
    if failures is None:
        raise DataCheckFailed(f"check {source} returned failures = NULL")
    try:
        count = int(failures)  # Athena returns every value as text
    except (TypeError, ValueError):
        raise DataCheckFailed(
            f"check {source} returned failures = {failures!r}, not an integer"
        ) from None
    return CheckResult(str(check_name), count, "" if detail is None else str(detail))


def check_result_from_athena(source: str, response: Mapping[str, Any] | None) -> CheckResult:
    """One check's Athena ``GetQueryResults`` response; its first row is the column header."""
    rows = ((response or {}).get("ResultSet") or {}).get("Rows") or []
    values = [[cell.get("VarCharValue") for cell in row.get("Data", [])] for row in rows]
    header, body = (values[0], values[1:]) if values else ([], [])
    return check_result_from_rows(source, header, body)


@dataclass(frozen=True)
class CheckVerdict:
    """The checks of a run judged against the checks an operator accepted for it."""

    results: tuple[CheckResult, ...]
    failed: tuple[CheckResult, ...]  # failed and not accepted: the run fails
    overridden: tuple[CheckResult, ...]  # failed, accepted: the run goes on, recorded
    unused: tuple[str, ...]  # accepted but passed (or did not run): recorded as unused

    @property
    def passed(self) -> bool:
        return not self.failed


def judge_checks(results: Sequence[CheckResult], accepted: Iterable[str] = ()) -> CheckVerdict:
    """Split ``results`` by the ``accepted`` check names (the run's override)."""
    names = list(dict.fromkeys(accepted))  # ordered, once each
    failing = [r for r in results if not r.passed]
    overridden = tuple(r for r in failing if r.check_name in names)
    used = {r.check_name for r in overridden}
    return CheckVerdict(
        results=tuple(results),
        failed=tuple(r for r in failing if r.check_name not in used),
        overridden=overridden,
        unused=tuple(n for n in names if n not in used),
    )


def raise_for_failures(
    results: Sequence[CheckResult],
    window: tuple[date, date] | None = None,
    accepted: Iterable[str] = (),
) -> CheckVerdict:
    """Raise :class:`DataCheckFailed` naming every failed check that is not ``accepted`` (and
    the checked ``window``, when given); else return the verdict."""
    verdict = judge_checks(results, accepted)
    if verdict.failed:
        scope = f" for {window[0]}..{window[1]}" if window else ""
        lines = "; ".join(
            f"{r.check_name}: {r.failures} failure(s) ({r.detail})" for r in verdict.failed
        )
        note = f" ({len(verdict.overridden)} more overridden)" if verdict.overridden else ""
        raise DataCheckFailed(
            f"{len(verdict.failed)} of {len(results)} data checks failed{scope}{note}: {lines}",
            results,
        )
    return verdict
