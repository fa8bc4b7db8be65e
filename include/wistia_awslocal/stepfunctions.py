"""Step Functions on this server executes state machines, with the services doing the work.

moto 5.2.5 ships an ASL interpreter (``moto/stepfunctions/parser``, a port of LocalStack's), off
by default: ``default_user_config["stepfunctions"]["execute_state_machine"]`` (what
``POST /moto-api/config {"stepfunctions": {"execute_state_machine": true}}`` sets) routes the
API to ``stepfunctions_parser_backends``, whose ``StartExecution`` runs the definition on a
thread of this server. Its service integrations are boto3 calls back to the server
(``boto_client_for``: ``http://localhost:$MOTO_PORT``), so Lambda ``Invoke`` reaches
:mod:`.lambda_exec`, Glue :mod:`.glue_exec`, Athena :mod:`.athena`, DynamoDB moto's own.

:func:`install` turns it on and fills what the twin (``include/stepfunctions/wistia_daily.asl.json``,
run unmodified) needs and moto lacks or gets wrong:

- the API and CloudFormation (``AWS::StepFunctions::StateMachine``, whose moto model writes to
  the other backend and ignores ``Definition``/``DefinitionS3Location``/
  ``DefinitionSubstitutions``; resolved here from this server's S3 as CloudFormation does) use
  the interpreting backend;
- the integrations' clients go to this server's own endpoint (:func:`.env.endpoint_url`);
- ``glue:startJobRun.sync`` waits on the real run, ``athena:startQueryExecution.sync`` (which
  moto lacks), ``athena:getQueryResults``, ... (:mod:`.sfn_services`);
- JSONata (``QueryLanguage: JSONata``): moto's ``eval_jsonata_expression`` has no engine in
  5.2.5; jsonata-python is plugged in (:mod:`.sfn_jsonata`); an evaluation error fails the state
  with ``States.QueryEvaluationError`` as on AWS;
- JSONPath: a *definite* path (only names and literal indexes, e.g.
  ``$.ResultSet.Rows[1].Data[0].VarCharValue``) selects one value, as Step Functions' Jayway
  JsonPath does; moto wraps a value found under an array index in a one-element list;
- a ``States.*`` error passed on, by a ``Fail`` state's ``ErrorPath`` (the twin's
  ``RunFailed`` re-raises the caught error) or a failed ``Parallel`` branch (``Checks``), keeps
  its name; moto rejects it as an illegal custom error name (``States.Runtime``);
- the context object's ``Execution.StartTime`` and ``State.EnteredTime`` are rendered as Step
  Functions renders them (``2026-04-21T00:30:07.250Z``; a whole second without fraction), not
  as Python's ``isoformat()``;
- Choice rules' ``Timestamp*`` operators read RFC 3339 timestamps with fractional seconds (the
  run-state store's ``...:00.123Z``), not only whole seconds;
- ``lambda:invoke`` passes ``InvocationType`` on (moto drops it, so an ``Event`` invocation,
  the twin's ingestion, ran synchronously).

The DynamoDB (``dynamodb:updateItem``/``putItem``/``getItem``/``deleteItem`` and
``aws-sdk:dynamodb:*``) and Lambda (``lambda:invoke``) integrations are moto's, unchanged.
"""

from __future__ import annotations

import datetime
import importlib
import json
import logging
import pkgutil
import re
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import Any

from wistia_awslocal.env import ACCESS_KEY, SECRET_KEY, endpoint_url

log = logging.getLogger(__name__)
_installed = False
_ready = threading.Event()
_failure: BaseException | None = None
# boto3's default session is not safe to build clients from on several threads at once (the
# branches of a Parallel state do); a client, once built, is.
_CLIENT_LOCK = threading.Lock()

PARSER = "moto.stepfunctions.parser"
# Only names ($.a.b, $['a']) and literal indexes ($.a[0]) after the root: a definite path.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_DEFINITE_PATH = re.compile(r"^\$(?:\.[^.\[\]*?()@,:'\"\s]+|\[\d+\]|\['[^']*'\]|\[\"[^\"]*\"\])*$")


# --- timestamps as Step Functions writes them ------------------------------------------------


def sfn_timestamp(value: datetime.datetime) -> str:
    """``2026-04-21T00:30:07.250Z`` (UTC, milliseconds; ``...:07Z`` on a whole second)."""
    value = value.astimezone(datetime.UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    millis = value.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


class _Instant(datetime.datetime):
    """``datetime`` whose ``isoformat()`` is Step Functions' rendering (for ``EnteredTime``)."""

    def isoformat(self, *args: Any, **kwargs: Any) -> str:
        return sfn_timestamp(self)


# --- JSONPath ----------------------------------------------------------------------------------


def _extract_json_with(original: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    from jsonpath_ng.ext import parse
    from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

    def extract_json(path: str, data: Any) -> Any:
        if not _DEFINITE_PATH.match(path) or path == "$":
            return original(path, data)
        matches = parse(path).find(data)
        if not matches:
            raise NoSuchJsonPathError(json_path=path, data=data)
        return matches[0].value

    return extract_json


# --- the integrations' clients ---------------------------------------------------------------


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's ``boto_client_for`` aimed at this server's endpoint (not ``localhost:$MOTO_PORT``)."""
    import boto3
    from botocore.config import Config
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    with _CLIENT_LOCK:
        return boto3.client(
            service_name=service,
            region_name=region,
            endpoint_url=endpoint_url(),
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(
                parameter_validation=False,
                retries={"max_attempts": 0, "total_max_attempts": 1},
                connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            ),
        )


# --- JSONata ----------------------------------------------------------------------------------


def eval_jsonata_expression(expression: str) -> Any:
    """moto's hook, evaluated by jsonata-python; errors as moto's ``JSONataException``."""
    from moto.stepfunctions.parser.asl.jsonata.jsonata import JSONataException

    from wistia_awslocal.sfn_jsonata import JSONataEvaluationError, evaluate

    try:
        return evaluate(expression)
    except JSONataEvaluationError as exc:
        raise JSONataException(exc.code or "UNKNOWN", exc.message) from None


def _fail_on_jsonata_error(eval_body: Callable[..., None]) -> Callable[..., None]:
    """Wrap a JSONata string's ``_eval_body``: an evaluation error -> States.QueryEvaluationError."""
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
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
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.jsonata.jsonata import JSONataException

    def _eval_body(self: Any, env: Any) -> None:
        try:
            eval_body(self, env)
        except JSONataException as exc:
            error = StatesErrorNameType.StatesQueryEvaluationError
            details = EvaluationFailedEventDetails(
                error=error.to_name(),
                cause=f"An error occurred while evaluating the expression "
                f"'{self.expression}': {exc.details}",
            )
            env.event_manager.add_event(
                context=env.event_history_context,
                event_type=HistoryEventType.EvaluationFailed,
                event_details=EventDetails(evaluationFailedEventDetails=details),
            )
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=error),
                    event_type=HistoryEventType.EvaluationFailed,
                    event_details=EventDetails(evaluationFailedEventDetails=details),
                )
            ) from None

    return _eval_body


# --- States.* errors passed on (Fail state's ErrorPath, a failed Parallel branch or Map item) ---


def propagated_error_name(error_name: str | None) -> Any:
    """The error name of a failure passed on by a ``Fail`` state (``"ErrorPath": "$.error.Error"``
    re-raises a caught error), a ``Parallel`` branch or a ``Map`` iteration. It may be a
    ``States.*`` error; moto builds these as custom names, which must not start with
    ``States.``, and fails the execution with ``States.Runtime`` instead."""
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )

    if error_name and error_name.startswith("States."):
        try:
            return StatesErrorName.from_name(error_name)
        except Exception:  # not one of the predefined names: keep it as given
            return ErrorName(error_name)
    return CustomErrorName(error_name)


# --- integrations moto lacks or cannot run ------------------------------------------------


def _service_factory(original: Callable[[str], Any]) -> Callable[[str], Any]:
    from wistia_awslocal.sfn_services import AthenaService, GlueService

    ours = {"glue": GlueService, "athena": AthenaService}

    def state_task_service_for(service_name: str) -> Any:
        service = ours.get(service_name)
        return service() if service else original(service_name)

    return state_task_service_for


# --- CloudFormation: DefinitionS3Location / Definition / DefinitionSubstitutions -----------------


def definition_from_properties(properties: dict[str, Any], account_id: str, region: str) -> str:
    """The definition text a stack gives, substitutions applied (as CloudFormation does)."""
    if properties.get("DefinitionString"):
        text = str(properties["DefinitionString"])
    elif properties.get("Definition") is not None:
        text = json.dumps(properties["Definition"])
    elif properties.get("DefinitionS3Location"):
        from moto.s3.models import s3_backends
        from moto.utilities.utils import get_partition

        location = properties["DefinitionS3Location"]
        s3 = s3_backends[account_id][get_partition(region)]
        obj = s3.get_object(location["Bucket"], location["Key"], location.get("Version"))
        if obj is None:
            raise ValueError(f"s3://{location['Bucket']}/{location['Key']} does not exist")
        text = obj.value.decode("utf-8")
    else:
        text = ""
    for name, value in (properties.get("DefinitionSubstitutions") or {}).items():
        text = text.replace("${" + name + "}", value if isinstance(value, str) else str(value))
    return text


def _patch_cloudformation() -> None:
    """moto's ``AWS::StepFunctions::StateMachine`` on the interpreting backend, with the
    definition from ``DefinitionString``, ``Definition`` or ``DefinitionS3Location``."""
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.utils import cfn_to_api_tags

    def backend(account_id: str, region_name: str) -> Any:
        wait_ready()
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        return stepfunctions_parser_backends[account_id][region_name]

    def create(
        cls: type, resource_name: str, cloudformation_json: Any, account_id: str,
        region_name: str, **kwargs: Any,
    ) -> Any:  # fmt: skip
        properties = cloudformation_json["Properties"]
        return backend(account_id, region_name).create_state_machine(
            name=properties.get("StateMachineName", resource_name),
            definition=definition_from_properties(properties, account_id, region_name),
            roleArn=properties.get("RoleArn", ""),
            tags=cfn_to_api_tags(properties.get("Tags", [])),
            sm_type=properties.get("StateMachineType"),
        )

    def delete(
        cls: type, resource_name: str, cloudformation_json: Any, account_id: str,
        region_name: str,
    ) -> None:  # fmt: skip
        backend(account_id, region_name).delete_state_machine(resource_name)

    def update(
        cls: type, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
        account_id: str, region_name: str,
    ) -> Any:  # fmt: skip
        properties = cloudformation_json.get("Properties", {})
        name = properties.get("StateMachineName", original_resource.name)
        if name != original_resource.name:  # replacement
            new = create(cls, name, cloudformation_json, account_id, region_name)
            delete(cls, original_resource.arn, cloudformation_json, account_id, region_name)
            return new
        machines = backend(account_id, region_name)
        state_machine = machines.update_state_machine(
            original_resource.arn,
            definition=definition_from_properties(properties, account_id, region_name) or None,
            role_arn=properties.get("RoleArn"),
        )
        machines.tagger.tag_resource(state_machine.arn, cfn_to_api_tags(properties.get("Tags", [])))
        return state_machine

    StateMachine.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]
    StateMachine.delete_from_cloudformation_json = classmethod(delete)  # type: ignore[method-assign,assignment]
    StateMachine.update_from_cloudformation_json = classmethod(update)  # type: ignore[method-assign,assignment]


# --- install ----------------------------------------------------------------------------------


def _import_parser() -> None:
    """Import every module of moto's interpreter, so each name rebinding below reaches all."""
    package = importlib.import_module(PARSER)
    for info in pkgutil.walk_packages(package.__path__, PARSER + "."):
        if ".antlr" in info.name or ".test_state" in info.name:
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # a few LocalStack leftovers moto does not ship the deps of
            log.debug("skipped %s", info.name)


def _rebind(name: str, original: Any, replacement: Any) -> int:
    """Point every ``moto.stepfunctions`` module attribute ``name`` that is ``original`` at
    ``replacement`` (modules import these functions by name); how many were changed."""
    changed = 0
    for module_name, module in list(sys.modules.items()):
        inside = module_name.startswith("moto.stepfunctions") and module is not None
        if inside and getattr(module, name, None) is original:
            setattr(module, name, replacement)
            changed += 1
    return changed


def install() -> None:
    """Turn on moto's interpreter with the fixes above (see the module docstring); once.

    Loading the interpreter takes ~2 s (its ANTLR parsers; its Batch integration imports moto's
    EC2), so it loads on a thread while the server starts serving; Step Functions requests (and
    CloudFormation state machines) wait for it (:func:`wait_ready`).
    """
    global _installed
    if _installed:
        return
    _installed = True
    from moto.core.config import default_user_config
    from moto.stepfunctions import responses

    # The API (moto's config flag) and CloudFormation use the interpreting backend.
    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    _patch_cloudformation()
    get_backend = responses.get_backend

    def get_ready_backend(account: str, region: str) -> Any:
        wait_ready()
        return get_backend(account, region)

    responses.get_backend = get_ready_backend  # type: ignore[assignment]
    threading.Thread(target=_load, name="awslocal-stepfunctions", daemon=True).start()


def wait_ready(timeout: float = 120.0) -> None:
    """Return once the interpreter is loaded and patched; raise if that failed."""
    if not _ready.wait(timeout):
        raise RuntimeError(f"the Step Functions interpreter did not load within {timeout}s")
    if _failure is not None:
        raise RuntimeError(f"the Step Functions extension failed to install: {_failure!r}")


def _load() -> None:
    global _failure
    started = time.monotonic()
    try:
        _patch_interpreter()
    except BaseException as exc:
        _failure = exc
        log.exception("Step Functions: the interpreter could not be installed")
    else:
        log.info(
            "Step Functions: executing state machines (moto's interpreter, jsonata-python; "
            "loaded in %.1fs)",
            time.monotonic() - started,
        )
    finally:
        _ready.set()


def _patch_interpreter() -> None:
    """Import moto's interpreter and apply the fixes of the module docstring."""
    _import_parser()
    from moto.stepfunctions.parser.asl.component.common.string import string_expression
    from moto.stepfunctions.parser.asl.component.state import state as state_module
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        iteration_worker,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_factory as factory,
    )
    from moto.stepfunctions.parser.asl.component.state.fail import state_fail
    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata
    from moto.stepfunctions.parser.asl.utils import boto_client, json_path
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    _rebind("boto_client_for", boto_client.boto_client_for, boto_client_for)
    _rebind("extract_json", json_path.extract_json, _extract_json_with(json_path.extract_json))
    _rebind(
        "eval_jsonata_expression", moto_jsonata.eval_jsonata_expression, eval_jsonata_expression
    )
    for cls in (string_expression.StringJSONata, string_expression.StringVariableSample):
        cls._eval_body = _fail_on_jsonata_error(cls._eval_body)  # type: ignore[method-assign]
    for module in (state_fail, branches_decl, iteration_worker):
        module.CustomErrorName = propagated_error_name  # type: ignore[attr-defined]
    _rebind(
        "state_task_service_for",
        factory.state_task_service_for,
        _service_factory(factory.state_task_service_for),
    )

    # Context timestamps as Step Functions renders them.
    state_module.datetime = types.SimpleNamespace(  # type: ignore[attr-defined]
        datetime=_Instant, timezone=datetime.timezone
    )
    original_environment = ExecutionWorker._get_evaluation_environment

    def _get_evaluation_environment(self: ExecutionWorker) -> Any:
        env = original_environment(self)
        execution = env.states.context_object.context_object_data["Execution"]
        if isinstance(execution.get("StartTime"), datetime.datetime):
            execution["StartTime"] = sfn_timestamp(execution["StartTime"])
        return env

    ExecutionWorker._get_evaluation_environment = _get_evaluation_environment  # type: ignore[method-assign]
    _patch_timestamps_and_lambda()


def rfc3339_timestamp(text: Any) -> datetime.datetime | None:
    """A Choice rule's timestamp as Step Functions reads it: RFC 3339 with an upper-case ``T``
    and ``Z`` or an offset, fractional seconds allowed (``2026-03-10T01:00:00.123Z``); moto
    accepts only ``%Y-%m-%dT%H:%M:%SZ``, so every run-state lease (milliseconds) compared as
    not-a-timestamp. Naive UTC, as moto compares them."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        return None
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.astimezone(datetime.UTC).replace(tzinfo=None)


def _patch_timestamps_and_lambda() -> None:
    """Choice timestamps per RFC 3339 (:func:`rfc3339_timestamp`), and ``InvocationType`` on
    ``lambda:invoke`` (moto drops it as unsupported, so an ``Event`` invoke ran synchronously;
    Step Functions passes it to Lambda's Invoke: ``Event`` answers 202 at once)."""
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations import (
        is_operator,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_lambda as lambda_service,
    )

    is_operator.IsTimestamp.string_to_timestamp = staticmethod(rfc3339_timestamp)  # type: ignore[method-assign]
    lambda_service._SUPPORTED_API_PARAM_BINDINGS["invoke"].add("InvocationType")
