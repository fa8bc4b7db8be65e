"""Triggers of ``wistia_daily``: the deferred wait of the aws target's ``ingest`` task.

:class:`IngestionRecordTrigger` reads the run's ingestion record (the run-state store:
DynamoDB on aws) every few seconds, each read one short call in a thread, and fires once the
record is finished or its lease lapsed (:func:`wistia_pipeline.state.ingestion.waiter_verdict`).
The task then resumes on a worker and concludes from the record itself, so the event carries
no data. Light at import: the DAG file never imports this module (the operator does, when it
defers).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


def open_record_store(target: str, state_table: str, state_db: str) -> Any:
    """The run-state store holding the ingestion records (what ``open_state_store`` opens for
    these settings), built from the trigger's serialised fields: the triggerer reads no
    Airflow Variable."""
    if target == "aws":
        from wistia_pipeline.state.dynamodb import DynamoDBRunStateStore

        return DynamoDBRunStateStore(state_table)
    from wistia_pipeline.state.sqlite_store import SQLiteRunStateStore

    return SQLiteRunStateStore(Path(state_db))


def record_finished(store: Any, run_id: str, invocation_id: str, function: str) -> bool:
    """One read of the record: has the waiter anything to conclude (done, failed, lapsed)?"""
    from wistia_pipeline.dates import utcnow
    from wistia_pipeline.state.ingestion import waiter_verdict

    record = store.get_ingestion(run_id)
    return waiter_verdict(record, invocation_id, utcnow(), function).done


class IngestionRecordTrigger(BaseTrigger):
    """Fire when invocation ``invocation_id`` of run ``run_id``'s ingestion has an outcome."""

    def __init__(
        self,
        run_id: str,
        invocation_id: str,
        function: str,
        target: str,
        state_table: str,
        state_db: str,
        poll_seconds: float,
    ) -> None:
        super().__init__()
        self.run_id, self.invocation_id, self.function = run_id, invocation_id, function
        self.target, self.state_table, self.state_db = target, state_table, state_db
        self.poll_seconds = poll_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "run_id": self.run_id,
                "invocation_id": self.invocation_id,
                "function": self.function,
                "target": self.target,
                "state_table": self.state_table,
                "state_db": self.state_db,
                "poll_seconds": self.poll_seconds,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        store = await asyncio.to_thread(
            open_record_store, self.target, self.state_table, self.state_db
        )
        while True:
            try:
                done = await asyncio.to_thread(
                    record_finished, store, self.run_id, self.invocation_id, self.function
                )
            except Exception as exc:  # a store hiccup: read again at the next poll
                self.log.warning("could not read the ingestion record: %s", exc)
                done = False
            if done:
                yield TriggerEvent({"run_id": self.run_id, "invocation_id": self.invocation_id})
                return
            await asyncio.sleep(self.poll_seconds)
