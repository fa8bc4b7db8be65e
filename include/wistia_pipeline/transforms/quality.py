"""Reject accounting: the job fails instead of publishing when too many records are bad."""

from __future__ import annotations

from dataclasses import dataclass


class RejectShareExceeded(RuntimeError):
    """More records were rejected than ``--max_reject_share`` allows."""


@dataclass(frozen=True)
class RejectCount:
    table: str
    total: int
    rejected: int

    @property
    def share(self) -> float:
        return self.rejected / self.total if self.total else 0.0


def check_reject_shares(counts: list[RejectCount], max_share: float) -> None:
    """Raise :class:`RejectShareExceeded` naming every table above ``max_share``."""
    if not 0.0 <= max_share <= 1.0:
        raise ValueError(f"max_reject_share must be within [0, 1], got {max_share}")
    over = [c for c in counts if c.share > max_share]
    if over:
        detail = ", ".join(
            f"{c.table}: {c.rejected}/{c.total} rejected ({c.share:.2%})" for c in over
        )
        raise RejectShareExceeded(
            f"reject share above {max_share:.2%}: {detail}; see silver/wistia/_rejects/"
        )
