"""A moto server that also creates, through CloudFormation, four resource types moto 5.2.5 has
APIs for but no CloudFormation support: Secrets Manager secrets, Glue jobs, the Glue database
and the Athena workgroup. Without them moto silently skips those resources (and drops every
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


class _NamedResource:
    """Shared by models known by their name with no Fn::GetAtt attributes. A mixin, not a
    CloudFormationModel subclass: moto registers every subclass of that as a resource type."""

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


class CfnSecret(CloudFormationModel):
    # moto files models by the second part of their module name (moto.<service>....).
    __module__ = "moto.secretsmanager.cfn_extras"

    def __init__(self, name: str, arn: str) -> None:
        self.name = name
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn  # Ref of AWS::SecretsManager::Secret is the ARN

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Id",)

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CfnSecret:
        props = _props(cloudformation_json)
        created = secretsmanager_backends[account_id][region_name].create_secret(
            name=resource_name,
            secret_string=props.get("SecretString"),
            secret_binary=None,
            description=props.get("Description"),
            tags=props.get("Tags"),
            kms_key_id=props.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(resource_name, json.loads(created)["ARN"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> CfnSecret:
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        secretsmanager_backends[account_id][region_name].delete_secret(
            resource_name, recovery_window_in_days=None, force_delete_without_recovery=True
        )


class CfnGlueJob(_NamedResource, CloudFormationModel):
    # moto files models by the second part of their module name (moto.<service>....).
    __module__ = "moto.glue.cfn_extras"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Glue::Job"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CfnGlueJob:
        p = _props(cloudformation_json)
        glue_backends[account_id][region_name].create_job(
            name=resource_name,
            role=p["Role"],
            command=p["Command"],
            description=p.get("Description"),
            log_uri=p.get("LogUri"),
            execution_property=p.get("ExecutionProperty"),
            default_arguments=p.get("DefaultArguments"),
            non_overridable_arguments=p.get("NonOverridableArguments"),
            connections=p.get("Connections"),
            max_retries=int(p.get("MaxRetries", 0)),
            allocated_capacity=p.get("AllocatedCapacity"),
            timeout=int(p["Timeout"]) if "Timeout" in p else None,
            max_capacity=p.get("MaxCapacity"),
            security_configuration=p.get("SecurityConfiguration"),
            tags=p.get("Tags", {}),
            notification_property=p.get("NotificationProperty"),
            glue_version=p.get("GlueVersion"),
            number_of_workers=int(p["NumberOfWorkers"]) if "NumberOfWorkers" in p else None,
            worker_type=p.get("WorkerType"),
            code_gen_configuration_nodes=None,
            execution_class=p.get("ExecutionClass"),
            source_control_details=None,
        )
        return cls(resource_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> CfnGlueJob:
        glue_backends[account_id][region_name].delete_job(original_resource.name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        glue_backends[account_id][region_name].delete_job(resource_name)


class CfnGlueDatabase(_NamedResource, CloudFormationModel):
    # moto files models by the second part of their module name (moto.<service>....).
    __module__ = "moto.glue.cfn_extras"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""  # named by DatabaseInput, not a Name property

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Glue::Database"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CfnGlueDatabase:
        database_input = dict(_props(cloudformation_json)["DatabaseInput"])
        name = database_input["Name"]
        glue_backends[account_id][region_name].create_database(name, database_input)
        return cls(name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> CfnGlueDatabase:
        database_input = dict(_props(cloudformation_json)["DatabaseInput"])
        glue_backends[account_id][region_name].update_database(
            original_resource.name, database_input
        )
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        name = _props(cloudformation_json)["DatabaseInput"]["Name"]
        glue_backends[account_id][region_name].delete_database(name)


class CfnAthenaWorkGroup(_NamedResource, CloudFormationModel):
    # moto files models by the second part of their module name (moto.<service>....).
    __module__ = "moto.athena.cfn_extras"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Athena::WorkGroup"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CfnAthenaWorkGroup:
        p = _props(cloudformation_json)
        athena_backends[account_id][region_name].create_work_group(
            name=resource_name,
            configuration=p.get("WorkGroupConfiguration", {}),
            description=p.get("Description", ""),
            tags=p.get("Tags", []),
        )
        return cls(resource_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> CfnAthenaWorkGroup:
        athena_backends[account_id][region_name].delete_work_group(original_resource.name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        athena_backends[account_id][region_name].delete_work_group(resource_name)


def install() -> None:
    """Register the four models with moto's CloudFormation.

    moto collects every :class:`CloudFormationModel` subclass when it parses a template, so
    defining the classes (importing this module) is the registration; this function exists so
    the server installs every extension the same way.
    """
