"""Athena on this server runs the SQL (moto's own Athena only returns queued, canned results).

:func:`install` patches moto's Athena backend and responses in-process:

- ``StartQueryExecution`` parses the statement and runs it on a worker thread: QUEUED ->
  RUNNING -> SUCCEEDED, or FAILED with Athena's ``StateChangeReason`` (parse errors, tables
  the Glue catalog lacks, engine errors); ``StopQueryExecution`` cancels (and interrupts DuckDB).
- DDL (``CREATE DATABASE``, ``CREATE EXTERNAL TABLE``, ``DROP ...``) changes this server's Glue
  Data Catalog (:mod:`.athena_ddl`); a SELECT reads the catalog's tables from this server's S3
  on DuckDB (:mod:`.athena_query`).
- Results go where Athena puts them: ``<output location>/<QueryExecutionId>.csv`` (``.txt``
  for DDL) under the request's ``ResultConfiguration.OutputLocation`` or the workgroup's (the
  workgroup's wins when it enforces its configuration); ``GetQueryResults`` pages them
  (:mod:`.athena_results`).

In-process callers (the Step Functions integration) use the same backend methods:
``start_query_execution``, ``get_query_execution`` (an :class:`AthenaRun`; see
:func:`describe_execution`) and ``get_query_results_page``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

import duckdb
from moto.athena.models import (
    AthenaBackend,
    Database,
    Execution,
    QueryResults,
    athena_backends,
)
from moto.athena.responses import AthenaResponse
from moto.glue.models import glue_backends
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.managed_state_model import ManagedState
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from .athena_catalog import AthenaError, split_s3
from .athena_ddl import run_ddl
from .athena_query import QueryCancelled, parse_query, run_query, session
from .athena_results import InvalidRequest, column_info, csv_text, results_page, to_text

_LOG = logging.getLogger(__name__)
_SETTINGS: dict[str, str] = {}
# Athena queues what it cannot run at once; so does this server.
_SLOTS = threading.BoundedSemaphore(max(2, min(8, os.cpu_count() or 2)))
FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
ENGINE_VERSION = {
    "SelectedEngineVersion": "AUTO",
    "EffectiveEngineVersion": "Athena engine version 3",
}


class AthenaRun(Execution):
    """One query execution: parsed at submission, run by a worker thread (:func:`_work`)."""

    def __init__(
        self,
        backend: AthenaBackend,
        query: str,
        context: dict[str, Any] | None,
        config: dict[str, Any] | None,
        workgroup: str | None,
        parameters: list[str] | None,
    ) -> None:
        ManagedState.__init__(self, "athena::execution", [("QUEUED", "RUNNING")])
        self.id = str(mock_random.uuid4())
        self.query, self.context, self.config = query, context or {}, dict(config or {})
        self.workgroup = backend.work_groups.get(workgroup or "primary")
        self.execution_parameters = parameters
        self.account_id, self.region = backend.account_id, backend.region_name
        self.parsed = parse_query(query, parameters)
        self.start_time, self.running_at, self.end_time = time.time(), None, None
        self.reason: str | None = None
        self.output_location = ""
        self.columns: list[tuple[str, str]] = []
        self.rows: list[list[str | None]] = []
        self.scanned_bytes = 0
        self._lock = threading.Lock()
        self._connection: duckdb.DuckDBPyConnection | None = None

    @property
    def status(self) -> str:  # no moto state-manager transitions: the worker sets it
        return str(self._status)

    @status.setter
    def status(self, value: str) -> None:
        self._status = value

    @property
    def database(self) -> str:
        return str(self.context.get("Database") or "default")

    def begin(self) -> bool:
        """QUEUED -> RUNNING; False when it was cancelled while queued."""
        with self._lock:
            if self._status != "QUEUED":
                return False
            self._status, self.running_at = "RUNNING", time.time()
            return True

    def attach(self, connection: duckdb.DuckDBPyConnection | None) -> bool:
        """Hold (or, with None, drop) the connection a cancel interrupts."""
        with self._lock:
            self._connection = connection
            return self._status not in FINAL_STATES

    def finish(self, state: str, reason: str | None = None) -> None:
        """Enter a final state (a no-op once final, e.g. after a cancel)."""
        with self._lock:
            if self._status in FINAL_STATES:
                return
            self._status, self.reason, self.end_time = state, reason, time.time()

    def cancelled(self) -> bool:
        return self._status == "CANCELLED"

    def cancel(self) -> None:
        with self._lock:
            if self._status in FINAL_STATES:
                return
            self._status, self.end_time = "CANCELLED", time.time()
            if self._connection is not None:
                self._connection.interrupt()


def _s3(account_id: str, region: str) -> Any:
    return s3_backends[account_id][get_partition(region)]


def _put(run: AthenaRun, body: bytes) -> None:
    bucket, key = split_s3(run.output_location)
    _s3(run.account_id, run.region).put_object(bucket, key, body)


def _mirror_databases(run: AthenaRun, glue: Any) -> None:
    """Keep moto's Athena ListDatabases/GetDatabase in step with the Glue catalog."""
    known = athena_backends[run.account_id][run.region].databases
    for name, database in list(glue.databases.items()):
        description = str(database.input.get("Description") or "")
        known.setdefault(("AwsDataCatalog", name), Database("AwsDataCatalog", name, description))
    for catalog, name in list(known):
        if catalog == "AwsDataCatalog" and name != "default" and name not in glue.databases:
            del known[(catalog, name)]


def _execute(run: AthenaRun) -> None:
    parsed = run.parsed
    if parsed.error or parsed.statement is None:
        raise AthenaError(parsed.error or "SYNTAX_ERROR: no statement")
    glue = glue_backends[run.account_id][run.region]
    if parsed.statement_type == "DDL":
        run_ddl(parsed.statement, glue, run.database)
        _mirror_databases(run, glue)
        _put(run, b"")
        return
    with session(_SETTINGS["endpoint_url"], run.region) as con:
        if not run.attach(con):
            return
        try:
            catalog = (glue, _s3(run.account_id, run.region))
            output = run_query(con, parsed, run.database, catalog, run.cancelled)
        finally:
            run.attach(None)
    run.columns, run.scanned_bytes = output.columns, output.scanned_bytes
    run.rows = [[to_text(value) for value in row] for row in output.rows]
    _put(run, csv_text([name for name, _ in run.columns], run.rows).encode())


def _work(run: AthenaRun) -> None:
    """The worker thread of one execution."""
    with _SLOTS:
        if not run.begin():
            return
        try:
            _execute(run)
        except (duckdb.InterruptException, QueryCancelled):
            run.finish("CANCELLED")
        except AthenaError as exc:
            run.finish("FAILED", str(exc))
        except Exception as exc:  # any other crash is the query's failure, as on Athena
            _LOG.exception("Athena query %s failed unexpectedly", run.id)
            run.finish("FAILED", f"GENERIC_INTERNAL_ERROR: {exc}")
        else:
            run.finish("SUCCEEDED")


def _output_location(run: AthenaRun) -> str:
    group = run.workgroup.configuration if run.workgroup else {}
    group_location = (group.get("ResultConfiguration") or {}).get("OutputLocation")
    enforced = group_location and group.get("EnforceWorkGroupConfiguration", True)
    location = group_location if enforced else run.config.get("OutputLocation") or group_location
    if not location:
        raise InvalidRequest(
            "No output location provided. An output location is required either through the "
            "Workgroup result configuration setting or as an API input."
        )
    bucket, _ = split_s3(location)
    try:
        _s3(run.account_id, run.region).get_bucket(bucket)
    except MissingBucket:
        raise InvalidRequest(f"Unable to verify/create output bucket {bucket}") from None
    suffix = ".txt" if run.parsed.statement_type == "DDL" else ".csv"
    return f"{location.rstrip('/')}/{run.id}{suffix}"


def _start_query_execution(
    self: AthenaBackend,
    query: str,
    context: dict[str, Any] | None,
    config: dict[str, Any] | None,
    workgroup: str | None,
    execution_parameters: list[str] | None,
) -> str:
    run = AthenaRun(self, query, context, config, workgroup, execution_parameters)
    run.output_location = _output_location(run)
    self.executions[run.id] = run
    threading.Thread(target=_work, args=(run,), name=f"athena-{run.id[:8]}", daemon=True).start()
    return run.id


def _get_query_execution(self: AthenaBackend, exec_id: str) -> AthenaRun:
    run = self.executions.get(exec_id)
    if not isinstance(run, AthenaRun):
        raise InvalidRequest(f"QueryExecution {exec_id} was not found")
    return run


def _stop_query_execution(self: AthenaBackend, exec_id: str) -> None:
    self.get_query_execution(exec_id).cancel()


def _succeeded(backend: AthenaBackend, exec_id: str) -> AthenaRun:
    run = backend.get_query_execution(exec_id)
    if run.status in ("QUEUED", "RUNNING"):
        raise InvalidRequest(f"Query has not yet finished. Current state: {run.status}")
    if run.status != "SUCCEEDED":
        raise InvalidRequest(f"Query did not finish successfully. Final query state: {run.status}")
    return run


def _get_query_results_page(
    self: AthenaBackend,
    exec_id: str,
    max_results: int | None = None,
    next_token: str | None = None,
) -> dict[str, Any]:
    """One page of ``GetQueryResults`` (the response body)."""
    run = _succeeded(self, exec_id)
    return results_page(run.id, run.columns, run.rows, max_results, next_token)


def _get_query_results(self: AthenaBackend, exec_id: str) -> QueryResults:
    """Every row at once, in moto's own result type (for moto-internal callers)."""
    run = _succeeded(self, exec_id)
    header = [name for name, _ in run.columns]
    rows = [header, *run.rows] if run.columns else []
    cells = [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]
    return QueryResults(rows=cells, column_info=column_info(run.columns))


def _status(run: AthenaRun) -> dict[str, Any]:
    status: dict[str, Any] = {"State": run.status, "SubmissionDateTime": run.start_time}
    if run.end_time is not None:
        status["CompletionDateTime"] = run.end_time
    if run.reason:
        internal = run.reason.startswith("GENERIC_INTERNAL_ERROR")
        status["StateChangeReason"] = run.reason
        status["AthenaError"] = {
            "ErrorCategory": 1 if internal else 2,  # 1 system, 2 user
            "Retryable": False,
            "ErrorMessage": run.reason,
        }
    return status


def _statistics(run: AthenaRun) -> dict[str, Any]:
    end = run.end_time or time.time()
    started = run.running_at or end
    return {
        "EngineExecutionTimeInMillis": int((end - started) * 1000),
        "DataScannedInBytes": run.scanned_bytes,
        "TotalExecutionTimeInMillis": int((end - run.start_time) * 1000),
        "QueryQueueTimeInMillis": int((started - run.start_time) * 1000),
        "ServicePreProcessingTimeInMillis": 0,
        "QueryPlanningTimeInMillis": 0,
        "ServiceProcessingTimeInMillis": 0,
        "ResultReuseInformation": {"ReusedPreviousResult": False},
    }


def describe_execution(run: AthenaRun) -> dict[str, Any]:
    """``GetQueryExecution``'s ``QueryExecution`` for ``run``."""
    result_config = {k: v for k, v in run.config.items() if k != "OutputLocation"}
    described: dict[str, Any] = {
        "QueryExecutionId": run.id,
        "Query": run.query,
        "StatementType": run.parsed.statement_type,
        "SubstatementType": run.parsed.substatement_type,
        "ResultConfiguration": {**result_config, "OutputLocation": run.output_location},
        "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
        "QueryExecutionContext": run.context,
        "Status": _status(run),
        "Statistics": _statistics(run),
        "WorkGroup": run.workgroup.name if run.workgroup else "primary",
        "EngineVersion": ENGINE_VERSION,
    }
    if run.execution_parameters is not None:
        described["ExecutionParameters"] = run.execution_parameters
    return described


def _response_get_query_execution(self: AthenaResponse) -> str:
    run = self.athena_backend.get_query_execution(self._get_param("QueryExecutionId"))
    return json.dumps({"QueryExecution": describe_execution(run)})


def _response_get_query_results(self: AthenaResponse) -> str:
    page = self.athena_backend.get_query_results_page(
        self._get_param("QueryExecutionId"),
        self._get_param("MaxResults"),
        self._get_param("NextToken"),
    )
    return json.dumps(page)


def install(endpoint_url: str) -> None:
    """Make moto's Athena in this process run queries (idempotent).

    ``endpoint_url`` (``http://127.0.0.1:PORT``) is where this server listens: DuckDB reads the
    tables' ``s3://`` objects through it.
    """
    _SETTINGS["endpoint_url"] = endpoint_url.rstrip("/")
    AthenaBackend.start_query_execution = _start_query_execution
    AthenaBackend.get_query_execution = _get_query_execution
    AthenaBackend.stop_query_execution = _stop_query_execution
    AthenaBackend.get_query_results = _get_query_results
    AthenaBackend.get_query_results_page = _get_query_results_page
    AthenaResponse.get_query_execution = _response_get_query_execution
    AthenaResponse.get_query_results = _response_get_query_results
