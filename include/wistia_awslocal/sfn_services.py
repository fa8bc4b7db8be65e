"""Step Functions' optimized Glue and Athena integrations, waiting on this server's real runs.

``arn:aws:states:::glue:startJobRun.sync``: moto has the handler but it never ran (its ``.sync``
path dereferences a callback endpoint Glue does not have); :class:`GlueService` starts the run,
polls ``GetJobRun`` until the run ends and returns the ``JobRun`` (``Id``, ``JobRunState``, ...,
plus ``JobName`` as Step Functions adds it). A run that ends ``FAILED``, ``TIMEOUT``, ``ERROR`` or
``STOPPED`` fails the state with ``States.TaskFailed`` and the run as JSON for ``Cause`` (its
``ErrorMessage`` included), as on AWS.

``arn:aws:states:::athena:...``: moto has no Athena integration (it forwards the call and cannot
wait). :class:`AthenaService` implements ``startQueryExecution`` (``.sync``: poll
``GetQueryExecution`` until ``SUCCEEDED`` -> the ``GetQueryExecution`` output, or
``FAILED``/``CANCELLED`` -> ``States.TaskFailed`` with that output as ``Cause``, its
``StateChangeReason`` included), ``getQueryResults``, ``getQueryExecution`` and
``stopQueryExecution``.

Both call the services through boto3 against this server (the same path as every other moto
integration, see :mod:`.stepfunctions`), so a run is the real one of :mod:`.glue_exec` or
:mod:`.athena`. An API error becomes ``Glue.<Code>`` / ``Athena.<Code>`` (what the definition's
``Retry`` lists). When the task stops waiting (its ``TimeoutSeconds``, or the execution is
stopped), the run or query is stopped too, as Step Functions does for ``.sync`` tasks.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from typing import Any, Final

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import (
    StateCredentials,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
    ResourceRuntimePart,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue import (
    StateTaskServiceGlue,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

log = logging.getLogger(__name__)

POLL_SECONDS: Final[float] = 0.5
Resolver = Callable[[], Any]

GLUE_FAILED_STATES: Final = frozenset({"FAILED", "TIMEOUT", "ERROR", "STOPPED"})
GLUE_FINAL_STATES: Final = GLUE_FAILED_STATES | {"SUCCEEDED"}
ATHENA_FAILED_STATES: Final = frozenset({"FAILED", "CANCELLED"})

ATHENA_PARAMETERS: Final[dict[str, set[str]]] = {
    "startqueryexecution": {
        "ClientRequestToken",
        "ExecutionParameters",
        "QueryExecutionContext",
        "QueryString",
        "ResultConfiguration",
        "ResultReuseConfiguration",
        "WorkGroup",
    },
    "stopqueryexecution": {"QueryExecutionId"},
    "getqueryexecution": {"QueryExecutionId"},
    "getqueryresults": {"MaxResults", "NextToken", "QueryExecutionId"},
}


def _client(service: str, runtime: ResourceRuntimePart, credentials: StateCredentials) -> Any:
    # Looked up at call time: stepfunctions.install() points it at this server.
    from moto.stepfunctions.parser.asl.utils import boto_client

    return boto_client.boto_client_for(
        region=runtime.region, service=service, state_credentials=credentials
    )


def _plain(value: Any) -> Any:
    """A boto3 response as Step Functions hands it on: timestamps as ISO text, no metadata."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


class _SyncService(StateTaskServiceCallback):
    """``.sync`` without moto's callback plumbing: poll the resolver until it returns a value."""

    def _cancel(self, env: Environment, runtime: ResourceRuntimePart, credentials: Any) -> None:
        """Stop what the task started (the task stopped waiting)."""

    def _task_failed(self, env: Environment, cause: Any) -> FailureEventException:
        error = StatesErrorNameType.StatesTaskFailed.to_name()
        return FailureEventException(
            FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(
                    taskFailedEventDetails=TaskFailedEventDetails(
                        resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type(),
                        error=error,
                        cause=to_json_str(cause),
                    )
                ),
            )
        )

    def _client_error(self, env: Environment, prefix: str, ex: ClientError) -> FailureEvent:
        error = f"{prefix}.{ex.response['Error']['Code']}"
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=error,
                    cause=ex.response["Error"].get("Message", ""),
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                )
            ),
        )

    def _eval_integration_pattern(
        self,
        env: Environment,
        resource_runtime_part: ResourceRuntimePart,
        normalised_parameters: dict,
        state_credentials: StateCredentials,
    ) -> None:
        if self.resource.condition != ResourceCondition.Sync:
            super()._eval_integration_pattern(
                env, resource_runtime_part, normalised_parameters, state_credentials
            )
            return
        # The start call's output is on the stack; the resolver builder takes it.
        resolver: Resolver = self._build_sync_resolver(
            env, resource_runtime_part, normalised_parameters, state_credentials
        )
        while env.is_running():
            result = resolver()
            if result is not None:
                env.stack.append(result)
                return
            time.sleep(POLL_SECONDS)
        # The state timed out or the execution was stopped: nobody reads a result any more.
        try:
            self._cancel(env, resource_runtime_part, state_credentials)
        except Exception:  # best effort, as on AWS
            log.warning("could not stop %s", self.resource.resource_arn, exc_info=True)
        env.stack.append({})


class GlueService(_SyncService, StateTaskServiceGlue):
    """``glue:startJobRun`` (``.sync``) against this server's real Glue runs."""

    _run: tuple[str, str] | None = None

    def _from_error(self, env: Environment, ex: Exception) -> FailureEvent:
        if isinstance(ex, ClientError):
            return self._client_error(env, "Glue", ex)
        return super()._from_error(env=env, ex=ex)

    def _sync_to_start_job_run(
        self,
        env: Environment,
        resource_runtime_part: ResourceRuntimePart,
        normalised_parameters: dict,
        state_credentials: StateCredentials,
    ) -> Resolver:
        started: dict = env.stack.pop()
        job_name, run_id = started["JobName"], started["JobRunId"]
        glue = _client("glue", resource_runtime_part, state_credentials)

        def resolve() -> dict | None:
            run = glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
            if run["JobRunState"] not in GLUE_FINAL_STATES:
                return None
            run = {**_plain(run), "JobName": job_name}
            if run["JobRunState"] in GLUE_FAILED_STATES:
                raise self._task_failed(env, run)
            return run

        env.heap[id(self)] = (job_name, run_id)
        return resolve

    def _cancel(self, env: Environment, runtime: ResourceRuntimePart, credentials: Any) -> None:
        job_name, run_id = env.heap.get(id(self), (None, None))
        if job_name:
            glue = _client("glue", runtime, credentials)
            glue.batch_stop_job_run(JobName=job_name, JobRunIds=[run_id])


class AthenaService(_SyncService):
    """``athena:startQueryExecution`` (``.sync``), ``getQueryResults``, ``getQueryExecution``,
    ``stopQueryExecution`` against this server's Athena."""

    def __init__(self) -> None:
        super().__init__(supported_integration_patterns={ResourceCondition.Sync})

    def _get_supported_parameters(self) -> set[str] | None:
        return ATHENA_PARAMETERS.get(self.resource.api_action.lower())

    def _from_error(self, env: Environment, ex: Exception) -> FailureEvent:
        if isinstance(ex, ClientError):
            return self._client_error(env, "Athena", ex)
        return super()._from_error(env=env, ex=ex)

    def _eval_service_task(
        self,
        env: Environment,
        resource_runtime_part: ResourceRuntimePart,
        normalised_parameters: dict,
        state_credentials: StateCredentials,
    ) -> None:
        athena = _client("athena", resource_runtime_part, state_credentials)
        action = self._get_boto_service_action()
        if self.resource.condition == ResourceCondition.Sync and action != "start_query_execution":
            raise ValueError(f"{self.resource.resource_arn}: .sync is for startQueryExecution")
        response = getattr(athena, action)(**normalised_parameters)
        env.stack.append(_plain(response))

    def _build_sync_resolver(
        self,
        env: Environment,
        resource_runtime_part: ResourceRuntimePart,
        normalised_parameters: dict,
        state_credentials: StateCredentials,
    ) -> Resolver:
        query_id: str = env.stack.pop()["QueryExecutionId"]
        athena = _client("athena", resource_runtime_part, state_credentials)
        env.heap[id(self)] = query_id

        def resolve() -> dict | None:
            execution = _plain(athena.get_query_execution(QueryExecutionId=query_id))
            state = execution["QueryExecution"]["Status"]["State"]
            if state in ATHENA_FAILED_STATES:
                raise self._task_failed(env, execution)
            return execution if state == "SUCCEEDED" else None

        return resolve

    def _cancel(self, env: Environment, runtime: ResourceRuntimePart, credentials: Any) -> None:
        query_id = env.heap.get(id(self))
        if query_id:
            _client("athena", runtime, credentials).stop_query_execution(QueryExecutionId=query_id)


__all__ = ["AthenaService", "GlueService"]
