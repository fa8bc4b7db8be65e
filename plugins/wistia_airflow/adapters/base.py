"""The checks-adapter interface and the outcome types the ``checks`` task exchanges with it."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class CheckOutcome:
    check_name: str
    failures: int
    detail: str

    @property
    def ok(self) -> bool:
        return self.failures == 0


class ChecksFailed(RuntimeError):
    """At least one data check found failures."""

    def __init__(self, start: date, end: date, failed: Sequence[CheckOutcome]) -> None:
        self.failed = list(failed)
        lines = "; ".join(f"{c.check_name}: {c.failures} failure(s) ({c.detail})" for c in failed)
        super().__init__(f"data checks failed for {start}..{end}: {lines}")


class Adapter(abc.ABC):
    """Where the data checks run: Athena (aws) or DuckDB over the local lake (local)."""

    @abc.abstractmethod
    def run_checks(self, start: date, end: date) -> list[CheckOutcome]:
        """Run every data check over ``[start, end]`` and return all outcomes."""
