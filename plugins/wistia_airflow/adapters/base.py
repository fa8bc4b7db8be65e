"""The adapter interface and the small value types the operators exchange with adapters."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class GlueRun:
    """A Glue job run: ``done`` when the adapter already waited for it (the local target)."""

    step: str
    job_name: str
    run_id: str
    done: bool
    state: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def result(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "job_name": self.job_name,
            "run_id": self.run_id,
            "state": self.state,
            **self.detail,
        }


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
    """What differs between the targets. Everything else is shared code."""

    @abc.abstractmethod
    def ingest(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run the ingestion for ``payload`` (the Lambda event) and return its summary."""

    @abc.abstractmethod
    def start_glue(self, step: str, args: dict[str, str]) -> GlueRun:
        """Start the Glue job of ``step`` with ``args`` (local: run it to completion)."""

    @abc.abstractmethod
    def wait_glue(self, run: GlueRun) -> GlueRun:
        """Block until ``run`` finishes; raise unless it SUCCEEDED."""

    def glue_trigger(self, run: GlueRun) -> Any:
        """A trigger that fires when ``run`` finishes (for deferrable waiting)."""
        raise NotImplementedError(f"{type(self).__name__} cannot defer Glue runs")

    def finish_glue(self, run: GlueRun) -> GlueRun:
        """Confirm a run reported finished by the trigger SUCCEEDED; raise otherwise."""
        return self.wait_glue(run)

    @abc.abstractmethod
    def run_checks(self, start: date, end: date) -> list[CheckOutcome]:
        """Run every data check over ``[start, end]`` and return all outcomes."""
