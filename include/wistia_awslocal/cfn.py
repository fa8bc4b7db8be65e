"""A moto server that also creates, through CloudFormation, five resource types moto 5.2.5 has
APIs for but no CloudFormation support: Secrets Manager secrets, Glue jobs, the Glue database,
the Athena workgroup and a Lambda function's asynchronous invocation settings
(``AWS::Lambda::EventInvokeConfig``). Without them moto silently skips those resources (and drops every
output and environment variable that references them), so a deployed stack could not be used.

Each model maps the template's properties onto moto's own backend call, as CloudFormation maps
them onto the service API; the stack then really owns the resources (created, updated, deleted
with it). Installed by :func:`install` (``python -m wistia_awslocal`` does so before serving).
"""

from __future__ import annotations

import json
from typing import Any

from moto.athena.models import athena_backends
from moto.core.common_models import CloudFormationModel
from moto.glue.models import glue_backends
from moto.secretsmanager.models import secretsmanager_backends


def _props(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
    return cloudformation_json.get("Properties", {})


def _int_or_none(props: dict[str, Any], key: str) -> int | None:
    return int(props[key]) if key in props else None


class _Model:
    """moto's CloudFormation plumbing, once: each model defines ``_create`` and ``_delete``
    (classmethods taking the name, the properties, account and region); an update replaces the
    resource unless the model defines ``_update``.

    A mixin, not a CloudFormationModel subclass: moto registers every subclass of that as a
    resource type. Models known by their name have no Fn::GetAtt attributes.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def _update(cls, old: _Model, props: dict[str, Any], account: str, region: str) -> _Model:
        cls._delete(old.name, props, account, region)  # type: ignore[attr-defined]
        return cls._create(old.name, props, account, region)  # type: ignore[attr-defined]

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
        **kwargs: Any,
    ) -> _Model:  # fmt: skip
        props = _props(cloudformation_json)
        return cls._create(resource_name, props, account_id, region_name)  # type: ignore[attr-defined]

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
        account_id: str, region_name: str,
    ) -> _Model:  # fmt: skip
        return cls._update(original_resource, _props(cloudformation_json), account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        props = _props(cloudformation_json)
        cls._delete(resource_name, props, account_id, region_name)  # type: ignore[attr-defined]


class CfnSecret(_Model, CloudFormationModel):
    # moto files models by the second part of their module name (moto.<service>....).
    __module__ = "moto.secretsmanager.cfn_extras"

    def __init__(self, name: str, arn: str) -> None:
        super().__init__(name)
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn  # Ref of AWS::SecretsManager::Secret is the ARN

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Id",)

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account: str, region: str) -> CfnSecret:
        created = secretsmanager_backends[account][region].create_secret(
            name=name,
            secret_string=props.get("SecretString"),
            secret_binary=None,
            description=props.get("Description"),
            tags=props.get("Tags"),
            kms_key_id=props.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(name, json.loads(created)["ARN"])

    @classmethod
    def _update(cls, old: _Model, props: dict[str, Any], account: str, region: str) -> _Model:
        return old  # the value is set outside CloudFormation (deploy fills the secret)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account: str, region: str) -> None:
        secretsmanager_backends[account][region].delete_secret(
            name, recovery_window_in_days=None, force_delete_without_recovery=True
        )


class CfnGlueJob(_Model, CloudFormationModel):
    __module__ = "moto.glue.cfn_extras"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Glue::Job"

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account: str, region: str) -> CfnGlueJob:
        glue_backends[account][region].create_job(
            name=name,
            role=props["Role"],
            command=props["Command"],
            description=props.get("Description"),
            log_uri=props.get("LogUri"),
            execution_property=props.get("ExecutionProperty"),
            default_arguments=props.get("DefaultArguments"),
            non_overridable_arguments=props.get("NonOverridableArguments"),
            connections=props.get("Connections"),
            max_retries=int(props.get("MaxRetries", 0)),
            allocated_capacity=props.get("AllocatedCapacity"),
            timeout=_int_or_none(props, "Timeout"),
            max_capacity=props.get("MaxCapacity"),
            security_configuration=props.get("SecurityConfiguration"),
            tags=props.get("Tags", {}),
            notification_property=props.get("NotificationProperty"),
            glue_version=props.get("GlueVersion"),
            number_of_workers=_int_or_none(props, "NumberOfWorkers"),
            worker_type=props.get("WorkerType"),
            code_gen_configuration_nodes=None,
            execution_class=props.get("ExecutionClass"),
            source_control_details=None,
        )
        return cls(name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account: str, region: str) -> None:
        glue_backends[account][region].delete_job(name)


class CfnGlueDatabase(_Model, CloudFormationModel):
    __module__ = "moto.glue.cfn_extras"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""  # named by DatabaseInput, not a Name property

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Glue::Database"

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account: str, region: str
    ) -> CfnGlueDatabase:
        database_input = dict(props["DatabaseInput"])
        glue_backends[account][region].create_database(database_input["Name"], database_input)
        return cls(database_input["Name"])

    @classmethod
    def _update(cls, old: _Model, props: dict[str, Any], account: str, region: str) -> _Model:
        glue_backends[account][region].update_database(old.name, dict(props["DatabaseInput"]))
        return old

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account: str, region: str) -> None:
        glue_backends[account][region].delete_database(props["DatabaseInput"]["Name"])


class CfnAthenaWorkGroup(_Model, CloudFormationModel):
    __module__ = "moto.athena.cfn_extras"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Athena::WorkGroup"

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account: str, region: str
    ) -> CfnAthenaWorkGroup:
        athena_backends[account][region].create_work_group(
            name=name,
            configuration=props.get("WorkGroupConfiguration", {}),
            description=props.get("Description", ""),
            tags=props.get("Tags", []),
        )
        return cls(name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account: str, region: str) -> None:
        athena_backends[account][region].delete_work_group(name)


class CfnLambdaEventInvokeConfig(_Model, CloudFormationModel):
    """``AWS::Lambda::EventInvokeConfig``: the asynchronous invocation settings of a function
    (the ingestion Lambda's: no retries, a bounded event age)."""

    __module__ = "moto.awslambda.cfn_extras"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""  # named by FunctionName and Qualifier

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account: str, region: str
    ) -> CfnLambdaEventInvokeConfig:
        from moto.awslambda.models import lambda_backends

        config = {
            key: props[key]
            for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
            if key in props
        }
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
            if key in config:
                config[key] = int(config[key])
        backend = lambda_backends[account][region]
        function = props["FunctionName"]
        backend.get_function(function).event_invoke_config.clear()  # one config per function
        backend.put_function_event_invoke_config(function, config)
        return cls(function)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account: str, region: str) -> None:
        from moto.awslambda.models import lambda_backends

        lambda_backends[account][region].get_function(name).event_invoke_config.clear()


def install() -> None:
    """Register the four models with moto's CloudFormation.

    moto collects every :class:`CloudFormationModel` subclass when it parses a template, so
    defining the classes (importing this module) is the registration; this function exists so
    the server installs every extension the same way.
    """
