"""Run state per data day and the forward-only watermark (SQLite locally, DynamoDB on AWS).

``open_state_store(settings)`` picks the backend for ``settings.target``; both implement
:class:`RunStateStore` and pass the same contract tests (tests/state). Key design and item
shapes: docs/state-store.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wistia_pipeline.state.base import (
    DEFAULT_LEASE_SECONDS,
    MAX_ERROR_CHARS,
    AuditEntry,
    CheckOverride,
    DayAlreadyClaimed,
    DayRun,
    DayStatus,
    HolderAlive,
    NotClaimedByRun,
    RunStateStore,
    StateStoreError,
    WatermarkChanged,
)

if TYPE_CHECKING:
    from wistia_pipeline.config import Settings

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "MAX_ERROR_CHARS",
    "AuditEntry",
    "CheckOverride",
    "DayAlreadyClaimed",
    "DayRun",
    "DayStatus",
    "HolderAlive",
    "NotClaimedByRun",
    "RunStateStore",
    "StateStoreError",
    "WatermarkChanged",
    "create_table",
    "open_state_store",
]


def open_state_store(settings: Settings) -> RunStateStore:
    """SQLite at ``settings.state_db`` (target local) or DynamoDB ``settings.state_table`` (aws).

    The DynamoDB table must exist (the CloudFormation stack creates it); the SQLite file and its
    schema are created on first use.
    """
    if settings.target == "local":
        from wistia_pipeline.state.sqlite_store import SQLiteRunStateStore

        return SQLiteRunStateStore(settings.state_db)
    if settings.target == "aws":
        from wistia_pipeline.state.dynamodb import DynamoDBRunStateStore

        return DynamoDBRunStateStore(settings.state_table)
    raise ValueError(f"unknown target {settings.target!r}: expected 'local' or 'aws'")


def create_table(client_or_resource: Any, table_name: str) -> dict[str, Any]:
    """Create the DynamoDB state table; see :func:`wistia_pipeline.state.dynamodb.create_table`."""
    from wistia_pipeline.state import dynamodb

    return dynamodb.create_table(client_or_resource, table_name)
