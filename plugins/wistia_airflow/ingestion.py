"""The aws target's ``ingest`` task: an asynchronous Lambda invocation and a wait on its record.

MWAA's traffic leaves through a NAT gateway or an interface endpoint, which drop a connection
idle for 350 s; a synchronous invoke of a 5-minute ingestion would hang there. So no call of
this task waits on the Lambda: it reads the run's ingestion record
(:mod:`wistia_pipeline.state.ingestion`), then

- SUCCEEDED for the same request (a retry after the Lambda finished): its summary, no invoke;
- a live invocation (INVOKED or RUNNING with a live lease; e.g. the task's worker died): wait
  on it;
- otherwise: write a new invocation INVOKED (conditional), invoke the function with
  ``InvocationType=Event`` (answered at once) and wait.

The wait reads the record every ``min(WISTIA_AWS_POLL_SECONDS, 15)`` seconds, deferred in the
triggerer (:class:`wistia_airflow.triggers.IngestionRecordTrigger`) or, with
``WISTIA_GLUE_DEFERRABLE=false``, in the worker. The outcome: the Lambda's summary (the XCom
the later tasks read, as with the local target), its error text, or a lapsed lease (a crash or
a start that never happened), naming the request id and the log group. Design:
docs/ingestion.md.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator

from wistia_airflow import runtime
from wistia_airflow.provider_settings import (
    INGEST_INVOKE_BOTOCORE_CONFIG,
    ingestion_poll_seconds,
)
from wistia_pipeline import pipeline


class IngestionFailed(RuntimeError):
    """The ingestion Lambda failed, timed out, crashed or never started (the message says)."""


class IngestionBusy(RuntimeError):
    """Another request's ingestion of this run is live (transient: the task's retry waits)."""


class AsyncIngestOperator(BaseOperator):
    """Invoke the ingestion Lambda asynchronously and wait on the run's ingestion record."""

    template_fields: Sequence[str] = ("function_name", "payload", "aws_conn_id", "claim_attempt")
    template_fields_renderers = {"payload": "json"}
    ui_color = "#ff9900"

    def __init__(
        self,
        *,
        function_name: str,
        payload: Any,
        aws_conn_id: str,
        claim_attempt: Any,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("task_id", pipeline.INGEST.task_id)
        kwargs.setdefault("doc_md", pipeline.INGEST.doc)
        super().__init__(**kwargs)
        self.function_name = function_name
        self.payload = payload
        self.aws_conn_id = aws_conn_id
        self.claim_attempt = claim_attempt

    def execute(self, context: Any) -> dict[str, Any]:
        from wistia_pipeline.dates import utcnow
        from wistia_pipeline.state.ingestion import IngestionStatus, request_key

        settings = runtime.settings()
        store = _store(settings)
        event = self._event()
        run_id = str(event["run_id"])
        key = request_key(event, self.claim_attempt)
        record = store.get_ingestion(run_id)
        if record is not None and record.request_key == key:
            if record.status is IngestionStatus.SUCCEEDED:
                self.log.info(
                    "run %s was ingested by invocation %s (request id %s, attempt %s): "
                    "reusing its summary, not invoking again",
                    run_id,
                    record.invocation_id,
                    record.request_id,
                    record.attempt,
                )
                return record.summary or {}
            if record.live(utcnow()):
                self.log.info(
                    "invocation %s of run %s is live (%s): waiting on it",
                    record.invocation_id,
                    run_id,
                    record.status.value,
                )
                return self._wait(context, settings, store, run_id, record.invocation_id)
        invocation_id = self._invoke(settings, store, event, key)
        return self._wait(context, settings, store, run_id, invocation_id)

    def execute_complete(
        self, context: Any, event: Any = None, run_id: str = "", invocation_id: str = ""
    ) -> dict[str, Any]:
        """Resumed from the trigger: conclude from the record. The ids come from the trigger's
        event (``dag.test()`` resumes with the event only, dropping the defer kwargs)."""
        if isinstance(event, Mapping):
            run_id = str(event.get("run_id") or run_id)
            invocation_id = str(event.get("invocation_id") or invocation_id)
        settings = runtime.settings()
        store = _store(settings)
        outcome = self._conclude(store, run_id, invocation_id)
        if outcome is None:  # the trigger fired on a record that is live again: wait more
            return self._wait(context, settings, store, run_id, invocation_id)
        return outcome

    def _event(self) -> dict[str, Any]:
        event = json.loads(self.payload) if isinstance(self.payload, str) else self.payload
        if not isinstance(event, Mapping) or "run_id" not in event:
            raise TypeError(f"the ingestion payload must be a JSON object with run_id: {event!r}")
        return dict(event)

    def _invoke(self, settings: Any, store: Any, event: dict[str, Any], key: str) -> str:
        """A new invocation: the record INVOKED (refused while another is live), then the
        asynchronous invoke; a failed invoke marks the record FAILED at once."""
        from wistia_pipeline.state.ingestion import IngestionRefused

        run_id = str(event["run_id"])
        invocation_id = uuid.uuid4().hex
        try:
            begun = store.begin_ingestion(run_id, invocation_id, key, settings.ingest_start_seconds)
        except IngestionRefused as exc:
            raise IngestionBusy(str(exc)) from exc
        payload = {
            **event,
            "invocation": {"id": invocation_id, "lease_seconds": settings.ingest_lease_seconds},
        }
        try:
            response = self._lambda_client().invoke(
                FunctionName=self.function_name,
                InvocationType="Event",
                Payload=json.dumps(payload).encode("utf-8"),
            )
        except Exception as exc:
            store.fail_ingestion(run_id, invocation_id, type(exc).__name__, f"invoke failed: {exc}")
            raise
        request_id = response.get("ResponseMetadata", {}).get("RequestId")
        self.log.info(
            "invoked %s asynchronously (status %s, request id %s): invocation %s, attempt %s",
            self.function_name,
            response.get("StatusCode"),
            request_id,
            invocation_id,
            begun.attempt,
        )
        return invocation_id

    def _lambda_client(self) -> Any:
        from airflow.providers.amazon.aws.hooks.lambda_function import LambdaHook
        from botocore.config import Config

        return LambdaHook(
            aws_conn_id=self.aws_conn_id, config=Config(**INGEST_INVOKE_BOTOCORE_CONFIG)
        ).conn

    def _wait(
        self, context: Any, settings: Any, store: Any, run_id: str, invocation_id: str
    ) -> dict[str, Any]:
        poll = ingestion_poll_seconds(settings.poll_seconds)
        if settings.glue_deferrable:
            from wistia_airflow.triggers import IngestionRecordTrigger

            self.defer(
                trigger=IngestionRecordTrigger(
                    run_id=run_id,
                    invocation_id=invocation_id,
                    function=self.function_name,
                    target=settings.target,
                    state_table=settings.state_table,
                    state_db=str(settings.state_db),
                    poll_seconds=poll,
                ),
                method_name="execute_complete",
                kwargs={"run_id": run_id, "invocation_id": invocation_id},
            )
        while True:
            outcome = self._conclude(store, run_id, invocation_id)
            if outcome is not None:
                return outcome
            time.sleep(poll)

    def _conclude(self, store: Any, run_id: str, invocation_id: str) -> dict[str, Any] | None:
        """The summary, None while the invocation is live, or :class:`IngestionFailed`."""
        from wistia_pipeline.dates import utcnow
        from wistia_pipeline.state.ingestion import IngestionRefused, waiter_verdict

        record = store.get_ingestion(run_id)
        now = utcnow()
        verdict = waiter_verdict(record, invocation_id, now, self.function_name)
        if not verdict.done:
            return None
        if verdict.error is None:
            self.log.info("ingestion summary: %s", verdict.summary)
            return verdict.summary or {}
        if record is not None and record.invocation_id == invocation_id and record.lapsed(now):
            try:  # so the next try invokes again instead of waiting on a dead invocation
                store.fail_ingestion(
                    run_id, invocation_id, "IngestionLambdaLost", verdict.error, lapsed_only=True
                )
            except IngestionRefused as exc:
                self.log.warning("the lapsed record changed meanwhile: %s", exc)
        raise IngestionFailed(verdict.error)


def _store(settings: Any) -> Any:
    from wistia_pipeline.state import open_state_store

    return open_state_store(settings)
