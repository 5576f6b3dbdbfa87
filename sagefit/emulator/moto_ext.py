"""Extensions to moto 5.2.5 so that sagefit's SageMaker stacks deploy into the local emulator.

FOR THE LOCAL EMULATOR AND TESTS ONLY. This module monkey-patches moto, an in-memory fake of
AWS; it must never be imported by code that talks to real AWS. Nothing changes until
:func:`install_moto_extensions` is called (importing the module patches nothing). The call is
idempotent and affects the whole process: the in-process ``mock_aws()`` and a
``ThreadedMotoServer`` running in the same process both see the extensions.

sagefit deploys one model per endpoint as an *inference component* on an endpoint config whose
production variant names no model, and scales the component's copy count down to zero with
Application Auto Scaling. moto 5.2.5 cannot take that shape:

* ``FakeEndpointConfig.validate_instance_type`` knows only an old list of instance types
  (no ``ml.g5``, ``ml.g6``, ``ml.g6e``, ``ml.p4d``, ``ml.p5``, ``ml.inf2``);
* ``SageMakerModelBackend.validate_production_variants`` raises ``KeyError: 'ModelName'`` on a
  variant without a model;
* the endpoint config drops ``ExecutionRoleArn`` and the endpoint drops the variant's
  ``ManagedInstanceScaling`` and ``RoutingConfig``;
* the ``*InferenceComponent*`` API is not implemented and CloudFormation skips
  ``AWS::SageMaker::InferenceComponent`` with only a warning;
* Application Auto Scaling rejects the ``sagemaker:inference-component:DesiredCopyCount``
  dimension;
* CloudFormation ignores the explicit ``ModelName``/``EndpointConfigName``/``EndpointName`` of
  SageMaker resources (so a stack's outputs name an endpoint that does not exist) and fails a
  stack on a tagged ``AWS::KMS::Key`` (every CDK stack tags its key).

:data:`EXTENSIONS` lists what is added, one line each. Everything else is moto's own behaviour
(for example: endpoints and components are ``InService`` at once, no container runs, nothing is
checked against capacity, quotas or IAM). The patches are written against moto 5.2.5
(``moto[server]==5.2.5`` in pyproject.toml) and wrap moto's functions rather than copy them, so a
moto upgrade should be re-checked with ``tests/test_moto_ext.py``.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
from collections.abc import Callable
from datetime import datetime
from enum import Enum, unique
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import (
    FakeEndpoint,
    FakeEndpointConfig,
    SageMakerModelBackend,
    sagemaker_backends,
)
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter
from moto.utilities.paginator import paginate

INFERENCE_COMPONENT_CFN_TYPE = "AWS::SageMaker::InferenceComponent"
IC_COPY_COUNT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"

EXTENSIONS: list[str] = [
    "SageMaker endpoint configs accept every instance type in sagefit's catalog "
    "(sagefit/data/instances.yaml) besides moto's own list; other types are still rejected",
    "SageMaker endpoint configs accept production variants without ModelName (the "
    "inference-component shape); ModelName is still checked when given",
    "SageMaker keeps ExecutionRoleArn on endpoint configs, and ManagedInstanceScaling and "
    "RoutingConfig on endpoint variants, and returns them from DescribeEndpointConfig/DescribeEndpoint",
    "SageMaker inference components: Create, Describe, List, Update, UpdateRuntimeConfig and Delete "
    "InferenceComponent (in-memory, InService at once; endpoint and model must exist)",
    "CloudFormation creates, updates and deletes AWS::SageMaker::InferenceComponent "
    "(Ref is the ARN; GetAtt InferenceComponentName, InferenceComponentArn, InferenceComponentStatus)",
    "Application Auto Scaling accepts the sagemaker:inference-component:DesiredCopyCount dimension "
    "(resource id inference-component/<name>, MinCapacity 0 allowed)",
    "CloudFormation uses the ModelName, EndpointConfigName and EndpointName properties of "
    "AWS::SageMaker::Model/EndpointConfig/Endpoint as the resource names (moto generated new names)",
    "CloudFormation accepts Tags on AWS::KMS::Key (moto failed the stack with KeyError 'TagKey')",
    "Service Quotas: ListServiceQuotas, GetServiceQuota and RequestServiceQuotaIncrease for service "
    "code sagemaker, with one '<instance type> for endpoint usage' quota per catalog instance type "
    "(catalog quota codes), each 0 like many new accounts; an increase request is approved at once",
]

# Set on moto's sagemaker models module, not here, so a re-imported copy of this module still
# sees that moto is already patched and does not wrap moto's functions twice.
_MARKER = "_sagefit_moto_extensions_installed"
_install_lock = threading.Lock()

# Instance types accepted on top of moto's list; filled from the catalog by install.
_extra_instance_types: frozenset[str] = frozenset()

_NAME_PATTERN = re.compile(r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?")
_NAME_MAX = 63
_IC_STATUS = "InService"
# Where the components live on a SageMaker backend. moto's reset() replaces the backend's
# __dict__, so the store disappears with the rest of moto's state.
_STORE_ATTR = "sagefit_inference_components"
_PAGINATION_MODEL = {
    "list_inference_components": {
        "input_token": "next_token",
        "limit_key": "max_results",
        "limit_default": 10,
        "unique_attribute": "arn",
    }
}


# --------------------------------------------------------------------------------------------
# The inference component model
# --------------------------------------------------------------------------------------------


class FakeInferenceComponent:
    """One inference component in a moto SageMaker backend.

    It also carries the CloudFormation hooks (``create_from_cloudformation_json`` ...).
    It deliberately does not subclass moto's ``CloudFormationModel``: moto finds CloudFormation
    resource types through ``CloudFormationModel.__subclasses__()``, so subclassing here would
    register the type on import. :func:`install_moto_extensions` creates that subclass instead.
    """

    def __init__(
        self,
        account_id: str,
        region_name: str,
        name: str,
        endpoint: FakeEndpoint,
        variant_name: str,
        specification: dict[str, Any] | None,
        specifications: list[dict[str, Any]] | None,
        runtime_config: dict[str, Any] | None,
        tags: list[dict[str, str]] | None,
    ) -> None:
        self.name = name
        self.arn = arn_formatter("inference-component", name, account_id, region_name)
        self.endpoint_name = endpoint.endpoint_name
        self.endpoint_arn = endpoint.arn
        self.variant_name = variant_name
        self.specification = copy.deepcopy(specification)
        self.specifications = copy.deepcopy(specifications)
        self.copy_count: int | None = None
        if runtime_config is not None:
            self.copy_count = int(runtime_config["CopyCount"])
        self.tags: list[dict[str, str]] = list(tags or [])
        self.status = _IC_STATUS
        self.last_deployment_config: dict[str, Any] | None = None
        self.creation_time = self.last_modified_time = utcnow()

    # -- API shapes ---------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """DescribeInferenceComponentOutput. Desired and current copy counts are equal: moto has
        no deployment in flight, so the desired count is reached at once."""
        out: dict[str, Any] = {
            "InferenceComponentName": self.name,
            "InferenceComponentArn": self.arn,
            "EndpointName": self.endpoint_name,
            "EndpointArn": self.endpoint_arn,
            "VariantName": self.variant_name,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "InferenceComponentStatus": self.status,
        }
        if self.specification is not None:
            out["Specification"] = self._specification_summary(self.specification)
        if self.specifications is not None:
            out["Specifications"] = [self._specification_summary(s) for s in self.specifications]
        if self.copy_count is not None:
            out["RuntimeConfig"] = {
                "DesiredCopyCount": self.copy_count,
                "CurrentCopyCount": self.copy_count,
            }
        if self.last_deployment_config is not None:
            out["LastDeploymentConfig"] = self.last_deployment_config
        return out

    def summary(self) -> dict[str, Any]:
        """InferenceComponentSummary, as ListInferenceComponents returns it."""
        return {
            "CreationTime": self.creation_time,
            "InferenceComponentArn": self.arn,
            "InferenceComponentName": self.name,
            "EndpointArn": self.endpoint_arn,
            "EndpointName": self.endpoint_name,
            "VariantName": self.variant_name,
            "InferenceComponentStatus": self.status,
            "LastModifiedTime": self.last_modified_time,
        }

    def _specification_summary(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The request's Specification in the describe shape: AWS reports the container image as
        DeployedImage (specified and resolved) instead of echoing Container.Image."""
        summary = copy.deepcopy(spec)
        container = summary.pop("Container", None)
        if container is not None:
            image = container.pop("Image", None)
            if image is not None:
                container["DeployedImage"] = {
                    "SpecifiedImage": image,
                    "ResolvedImage": image,
                    "ResolutionTime": self.creation_time,
                }
            summary["Container"] = container
        return summary

    # -- CloudFormation hooks (the CloudFormationModel interface) -------------------------------

    @property
    def physical_resource_id(self) -> str:
        """What ``Ref`` returns: the ARN, as in AWS CloudFormation."""
        return self.arn

    def is_created(self) -> bool:
        return True

    @staticmethod
    def cloudformation_name_type() -> str:
        return "InferenceComponentName"

    @staticmethod
    def cloudformation_type() -> str:
        return INFERENCE_COMPONENT_CFN_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("InferenceComponentName", "InferenceComponentArn", "InferenceComponentStatus")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "InferenceComponentName":
            return self.name
        if attribute_name == "InferenceComponentArn":
            return self.arn
        if attribute_name == "InferenceComponentStatus":
            return self.status
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> FakeInferenceComponent:
        props = cloudformation_json["Properties"]
        name = props.get("InferenceComponentName") or _generated_name(resource_name)
        endpoint_name = props.get("EndpointName") or str(props.get("EndpointArn", "")).split("/")[-1]
        backend = sagemaker_backends[account_id][region_name]
        return create_inference_component(
            backend,
            inference_component_name=name,
            endpoint_name=endpoint_name,
            variant_name=props.get("VariantName"),
            specification=_cfn_specification(props.get("Specification")),
            specifications=None,
            runtime_config=_cfn_runtime_config(props.get("RuntimeConfig")),
            tags=props.get("Tags"),
        )

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: FakeInferenceComponent,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> FakeInferenceComponent:
        """Update in place when the name stays, otherwise replace (as CloudFormation does when a
        replacement-requiring property such as the name changes)."""
        props = cloudformation_json["Properties"]
        name = props.get("InferenceComponentName") or original_resource.name
        backend = sagemaker_backends[account_id][region_name]
        if name == original_resource.name:
            update_inference_component(
                backend,
                inference_component_name=name,
                specification=_cfn_specification(props.get("Specification")),
                specifications=None,
                runtime_config=_cfn_runtime_config(props.get("RuntimeConfig")),
                deployment_config=props.get("DeploymentConfig"),
            )
            return _store(backend)[name]
        cls.delete_from_cloudformation_json(
            original_resource.arn, cloudformation_json, account_id, region_name
        )
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        """``resource_name`` is the physical id (the ARN). A component that is already gone counts
        as deleted, as a stack deletion in AWS does not fail on it."""
        name = resource_name.split("/")[-1]
        _store(sagemaker_backends[account_id][region_name]).pop(name, None)


def _generated_name(resource_name: str) -> str:
    """moto names an unnamed resource ``<stack>-<logical id>-<suffix>``, which can exceed the
    63-character limit; keep the unique suffix and trim the front."""
    if len(resource_name) <= _NAME_MAX:
        return resource_name
    return resource_name[-_NAME_MAX:].lstrip("-")


def _cfn_runtime_config(runtime_config: dict[str, Any] | None) -> dict[str, Any] | None:
    """CloudFormation hands numbers through as written in the template (sometimes strings), and
    CopyCount is optional there; without it the copy count is left as it is."""
    if not runtime_config or runtime_config.get("CopyCount") is None:
        return None
    return {"CopyCount": int(runtime_config["CopyCount"])}


def _cfn_specification(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """Coerce the numeric fields of a CloudFormation Specification to the API's number types."""
    if spec is None:
        return None
    spec = copy.deepcopy(spec)
    ints = {"MinMemoryRequiredInMb", "MaxMemoryRequiredInMb"}
    floats = {"NumberOfCpuCoresRequired", "NumberOfAcceleratorDevicesRequired"}
    requirements = spec.get("ComputeResourceRequirements") or {}
    for key in list(requirements):
        if key in ints:
            requirements[key] = int(requirements[key])
        elif key in floats:
            requirements[key] = float(requirements[key])
    startup = spec.get("StartupParameters") or {}
    for key in list(startup):
        startup[key] = int(startup[key])
    return spec


# --------------------------------------------------------------------------------------------
# Backend operations, installed as methods of SageMakerModelBackend
# --------------------------------------------------------------------------------------------


def _store(backend: SageMakerModelBackend) -> dict[str, FakeInferenceComponent]:
    """The backend's components, created on first use so backends that existed before
    install (a running server) get one too."""
    return backend.__dict__.setdefault(_STORE_ATTR, {})


def _ic_arn(backend: SageMakerModelBackend, name: str) -> str:
    return arn_formatter("inference-component", name, backend.account_id, backend.region_name)


def _get_component(backend: SageMakerModelBackend, name: str) -> FakeInferenceComponent:
    try:
        return _store(backend)[name]
    except KeyError:
        raise ValidationError(
            message=f"Could not find inference component '{_ic_arn(backend, name)}'."
        ) from None


def _validate_name(name: str) -> None:
    if len(name) > _NAME_MAX:
        raise ValidationError(
            message=f"1 validation error detected: Value '{name}' at 'inferenceComponentName' failed "
            f"to satisfy constraint: Member must have length less than or equal to {_NAME_MAX}"
        )
    if not _NAME_PATTERN.fullmatch(name):
        raise ValidationError(
            message=f"1 validation error detected: Value '{name}' at 'inferenceComponentName' failed "
            "to satisfy constraint: Member must satisfy regular expression pattern: "
            f"{_NAME_PATTERN.pattern}"
        )


def _validate_specifications(
    backend: SageMakerModelBackend,
    specification: dict[str, Any] | None,
    specifications: list[dict[str, Any]] | None,
) -> None:
    """A component that names a model needs that model to exist, as in AWS."""
    for spec in [specification, *(specifications or [])]:
        model_name = (spec or {}).get("ModelName")
        if model_name is not None and model_name not in backend._models:
            arn = arn_formatter("model", model_name, backend.account_id, backend.region_name)
            raise ValidationError(message=f"Could not find model '{arn}'.")


def create_inference_component(
    self: SageMakerModelBackend,
    inference_component_name: str,
    endpoint_name: str,
    variant_name: str | None,
    specification: dict[str, Any] | None,
    specifications: list[dict[str, Any]] | None,
    runtime_config: dict[str, Any] | None,
    tags: list[dict[str, str]] | None,
) -> FakeInferenceComponent:
    """CreateInferenceComponent: the endpoint, its variant and the model must exist."""
    _validate_name(inference_component_name)
    store = _store(self)
    if inference_component_name in store:
        arn = _ic_arn(self, inference_component_name)
        raise ValidationError(message=f"Cannot create already existing inference component '{arn}'.")
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    variants = [v["VariantName"] for v in endpoint.production_variants]
    if variant_name is None:
        # VariantName is optional in the API model; with no name the only sensible placement
        # is the endpoint's first (for sagefit: only) variant.
        variant_name = variants[0]
    elif variant_name not in variants:
        raise ValidationError(
            message=f"Could not find variant '{variant_name}' on endpoint '{endpoint.arn}'."
        )
    _validate_specifications(self, specification, specifications)
    component = FakeInferenceComponent(
        account_id=self.account_id,
        region_name=self.region_name,
        name=inference_component_name,
        endpoint=endpoint,
        variant_name=variant_name,
        specification=specification,
        specifications=specifications,
        runtime_config=runtime_config,
        tags=tags,
    )
    store[inference_component_name] = component
    return component


def describe_inference_component(
    self: SageMakerModelBackend, inference_component_name: str
) -> dict[str, Any]:
    return _get_component(self, inference_component_name).describe()


@paginate(pagination_model=_PAGINATION_MODEL)
def list_inference_components(
    self: SageMakerModelBackend,
    sort_by: str | None = None,
    sort_order: str | None = None,
    name_contains: str | None = None,
    creation_time_before: datetime | None = None,
    creation_time_after: datetime | None = None,
    last_modified_time_before: datetime | None = None,
    last_modified_time_after: datetime | None = None,
    status_equals: str | None = None,
    endpoint_name_equals: str | None = None,
    variant_name_equals: str | None = None,
) -> list[FakeInferenceComponent]:
    """ListInferenceComponents with every filter of the API; sorted by CreationTime, newest
    first, unless SortBy/SortOrder say otherwise (AWS's defaults). Times are naive UTC, as moto
    parses request timestamps."""
    items = list(_store(self).values())
    if name_contains:
        items = [c for c in items if name_contains in c.name]
    if status_equals:
        items = [c for c in items if c.status == status_equals]
    if endpoint_name_equals:
        items = [c for c in items if c.endpoint_name == endpoint_name_equals]
    if variant_name_equals:
        items = [c for c in items if c.variant_name == variant_name_equals]
    if creation_time_before:
        items = [c for c in items if c.creation_time < creation_time_before]
    if creation_time_after:
        items = [c for c in items if c.creation_time > creation_time_after]
    if last_modified_time_before:
        items = [c for c in items if c.last_modified_time < last_modified_time_before]
    if last_modified_time_after:
        items = [c for c in items if c.last_modified_time > last_modified_time_after]
    keys: dict[str, Callable[[FakeInferenceComponent], Any]] = {
        "Name": lambda c: c.name,
        "Status": lambda c: c.status,
        "CreationTime": lambda c: c.creation_time,
    }
    reverse = (sort_order or "Descending") == "Descending"
    return sorted(items, key=keys.get(sort_by or "CreationTime", keys["CreationTime"]), reverse=reverse)


def update_inference_component(
    self: SageMakerModelBackend,
    inference_component_name: str,
    specification: dict[str, Any] | None,
    specifications: list[dict[str, Any]] | None,
    runtime_config: dict[str, Any] | None,
    deployment_config: dict[str, Any] | None,
) -> FakeInferenceComponent:
    """UpdateInferenceComponent: replaces what is given; the rollout completes at once."""
    component = _get_component(self, inference_component_name)
    _validate_specifications(self, specification, specifications)
    if specification is not None:
        component.specification = copy.deepcopy(specification)
    if specifications is not None:
        component.specifications = copy.deepcopy(specifications)
    if runtime_config is not None:
        component.copy_count = int(runtime_config["CopyCount"])
    if deployment_config is not None:
        component.last_deployment_config = copy.deepcopy(deployment_config)
    component.last_modified_time = utcnow()
    return component


def update_inference_component_runtime_config(
    self: SageMakerModelBackend, inference_component_name: str, desired_runtime_config: dict[str, Any]
) -> FakeInferenceComponent:
    """UpdateInferenceComponentRuntimeConfig: sets the copy count (0 scales the model to zero)."""
    component = _get_component(self, inference_component_name)
    component.copy_count = int(desired_runtime_config["CopyCount"])
    component.last_modified_time = utcnow()
    return component


def delete_inference_component(self: SageMakerModelBackend, inference_component_name: str) -> None:
    _get_component(self, inference_component_name)
    del _store(self)[inference_component_name]


_BACKEND_METHODS: dict[str, Callable[..., Any]] = {
    "create_inference_component": create_inference_component,
    "describe_inference_component": describe_inference_component,
    "list_inference_components": list_inference_components,
    "update_inference_component": update_inference_component,
    "update_inference_component_runtime_config": update_inference_component_runtime_config,
    "delete_inference_component": delete_inference_component,
}


# --------------------------------------------------------------------------------------------
# Response handlers, installed as methods of SageMakerResponse. moto dispatches a request to
# the method named after the action in snake_case, so adding the method wires the action for
# both mock_aws() and the server.
# --------------------------------------------------------------------------------------------


def _response_create_inference_component(self: SageMakerResponse) -> ActionResult:
    component = self.sagemaker_backend.create_inference_component(
        inference_component_name=self._get_param("InferenceComponentName"),
        endpoint_name=self._get_param("EndpointName"),
        variant_name=self._get_param("VariantName"),
        specification=self._get_param("Specification"),
        specifications=self._get_param("Specifications"),
        runtime_config=self._get_param("RuntimeConfig"),
        tags=self._get_param("Tags"),
    )
    return ActionResult({"InferenceComponentArn": component.arn})


def _response_describe_inference_component(self: SageMakerResponse) -> ActionResult:
    return ActionResult(
        self.sagemaker_backend.describe_inference_component(self._get_param("InferenceComponentName"))
    )


def _response_list_inference_components(self: SageMakerResponse) -> ActionResult:
    components, next_token = self.sagemaker_backend.list_inference_components(
        sort_by=self._get_param("SortBy"),
        sort_order=self._get_param("SortOrder"),
        next_token=self._get_param("NextToken"),
        max_results=self._get_param("MaxResults"),
        name_contains=self._get_param("NameContains"),
        creation_time_before=self._get_param("CreationTimeBefore"),
        creation_time_after=self._get_param("CreationTimeAfter"),
        last_modified_time_before=self._get_param("LastModifiedTimeBefore"),
        last_modified_time_after=self._get_param("LastModifiedTimeAfter"),
        status_equals=self._get_param("StatusEquals"),
        endpoint_name_equals=self._get_param("EndpointNameEquals"),
        variant_name_equals=self._get_param("VariantNameEquals"),
    )
    return ActionResult(
        {"InferenceComponents": [c.summary() for c in components], "NextToken": next_token}
    )


def _response_update_inference_component(self: SageMakerResponse) -> ActionResult:
    component = self.sagemaker_backend.update_inference_component(
        inference_component_name=self._get_param("InferenceComponentName"),
        specification=self._get_param("Specification"),
        specifications=self._get_param("Specifications"),
        runtime_config=self._get_param("RuntimeConfig"),
        deployment_config=self._get_param("DeploymentConfig"),
    )
    return ActionResult({"InferenceComponentArn": component.arn})


def _response_update_inference_component_runtime_config(self: SageMakerResponse) -> ActionResult:
    component = self.sagemaker_backend.update_inference_component_runtime_config(
        inference_component_name=self._get_param("InferenceComponentName"),
        desired_runtime_config=self._get_param("DesiredRuntimeConfig"),
    )
    return ActionResult({"InferenceComponentArn": component.arn})


def _response_delete_inference_component(self: SageMakerResponse) -> EmptyResult:
    self.sagemaker_backend.delete_inference_component(self._get_param("InferenceComponentName"))
    return EmptyResult()


_RESPONSE_METHODS: dict[str, Callable[..., Any]] = {
    "create_inference_component": _response_create_inference_component,
    "describe_inference_component": _response_describe_inference_component,
    "list_inference_components": _response_list_inference_components,
    "update_inference_component": _response_update_inference_component,
    "update_inference_component_runtime_config": _response_update_inference_component_runtime_config,
    "delete_inference_component": _response_delete_inference_component,
}


# --------------------------------------------------------------------------------------------
# Patches to moto's existing endpoint-config / endpoint code
# --------------------------------------------------------------------------------------------


def _patch_instance_types() -> None:
    """Accept the catalog's instance types too; anything else falls through to moto's check,
    which keeps moto's list valid and raises its AWS-style ValidationException."""
    global _extra_instance_types
    from sagefit.core.catalog import load_catalog

    _extra_instance_types = frozenset(load_catalog().names())
    original = FakeEndpointConfig.validate_instance_type

    @functools.wraps(original)
    def validate_instance_type(self: FakeEndpointConfig, instance_type: str) -> None:
        if instance_type in _extra_instance_types:
            return
        original(self, instance_type)

    setattr(FakeEndpointConfig, "validate_instance_type", validate_instance_type)


def _patch_model_less_variants() -> None:
    """moto indexes variant["ModelName"] unconditionally; inference-component variants have no
    model (the component names it), so only check the variants that do name one."""
    original = SageMakerModelBackend.validate_production_variants

    @functools.wraps(original)
    def validate_production_variants(
        self: SageMakerModelBackend, production_variants: list[dict[str, Any]]
    ) -> None:
        original(self, [v for v in production_variants if "ModelName" in v])

    setattr(SageMakerModelBackend, "validate_production_variants", validate_production_variants)


def _patch_endpoint_config_role() -> None:
    """moto's CreateEndpointConfig (API and CloudFormation) drops ExecutionRoleArn, which an
    inference-component endpoint config carries. Store it on the config after moto creates it;
    moto's describe turns the ``execution_role_arn`` attribute into ``ExecutionRoleArn``."""
    original_response = SageMakerResponse.create_endpoint_config

    @functools.wraps(original_response)
    def create_endpoint_config(self: SageMakerResponse) -> ActionResult:
        result = original_response(self)
        role = self._get_param("ExecutionRoleArn")
        if role:
            config = self.sagemaker_backend.endpoint_configs[self._get_param("EndpointConfigName")]
            config.execution_role_arn = role
        return result

    setattr(SageMakerResponse, "create_endpoint_config", create_endpoint_config)

    original_cfn = FakeEndpointConfig.__dict__["create_from_cloudformation_json"].__func__

    @functools.wraps(original_cfn)
    def create_from_cloudformation_json(
        cls: type[FakeEndpointConfig],
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> FakeEndpointConfig:
        config = original_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        role = cloudformation_json["Properties"].get("ExecutionRoleArn")
        if role:
            config.execution_role_arn = role
        return config

    patched = classmethod(create_from_cloudformation_json)
    setattr(FakeEndpointConfig, "create_from_cloudformation_json", patched)


def _patch_endpoint_variant_summary() -> None:
    """DescribeEndpoint's ProductionVariantSummary has ManagedInstanceScaling and RoutingConfig,
    which moto leaves out; copy them from the endpoint config's variants."""
    original = FakeEndpoint._process_production_variants

    @functools.wraps(original)
    def _process_production_variants(
        self: FakeEndpoint, production_variants: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        summaries = original(self, production_variants)
        for summary, variant in zip(summaries, production_variants):
            for key in ("ManagedInstanceScaling", "RoutingConfig"):
                if key in variant:
                    summary[key] = copy.deepcopy(variant[key])
        return summaries

    setattr(FakeEndpoint, "_process_production_variants", _process_production_variants)


def _patch_tagging() -> None:
    """Let AddTags/ListTags/DeleteTags find inference components by ARN (moto's lookup table
    has no entry for them and would fail with AttributeError)."""
    original = SageMakerModelBackend._get_resource_from_arn

    @functools.wraps(original)
    def _get_resource_from_arn(self: SageMakerModelBackend, arn: str) -> Any:
        resource_type, _, name = arn.split(":")[-1].partition("/")
        if resource_type == "inference-component":
            return _get_component(self, name)
        return original(self, arn)

    setattr(SageMakerModelBackend, "_get_resource_from_arn", _get_resource_from_arn)


def _patch_cfn_explicit_names() -> None:
    """moto's SageMaker CloudFormation models report no name property, so a template's
    ``EndpointName: mistral-7b`` became ``<stack>-<logical id>-<suffix>`` and the stack's
    outputs named an endpoint that did not exist. Report the property CloudFormation uses."""
    from moto.sagemaker.models import Model

    names: dict[type, str] = {
        Model: "ModelName",
        FakeEndpointConfig: "EndpointConfigName",
        FakeEndpoint: "EndpointName",
    }
    for model_class, property_name in names.items():
        setattr(model_class, "cloudformation_name_type", staticmethod(_returning(property_name)))


def _returning(value: str) -> Callable[[], str]:
    def constant() -> str:
        return value

    return constant


def _patch_kms_key_tags() -> None:
    """AWS::KMS::Key Tags come as ``{Key, Value}`` (CloudFormation's tag shape) but moto's KMS
    backend stores ``{TagKey, TagValue}`` (the KMS API's), so a tagged key failed the stack.
    Translate before moto's own handler runs."""
    from moto.kms.models import Key

    original = Key.__dict__["create_from_cloudformation_json"].__func__

    @functools.wraps(original)
    def create_from_cloudformation_json(
        cls: type[Key],
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Key:
        cloudformation_json = copy.deepcopy(cloudformation_json)
        props = cloudformation_json.get("Properties", {})
        props["Tags"] = [
            {"TagKey": tag["Key"], "TagValue": tag["Value"]} if "Key" in tag else tag
            for tag in props.get("Tags", [])
        ]
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    setattr(Key, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))


def _install_inference_component_api() -> None:
    for name, function in _BACKEND_METHODS.items():
        setattr(SageMakerModelBackend, name, function)
    for name, function in _RESPONSE_METHODS.items():
        setattr(SageMakerResponse, name, function)


def _register_cloudformation_model() -> None:
    """Make AWS::SageMaker::InferenceComponent a moto CloudFormation resource.

    moto maps resource types to the direct subclasses of CloudFormationModel, cached with
    lru_cache; define the subclass now and clear those caches so a stack created after install
    (even in a process that already parsed templates) sees the new type.
    """
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    class InferenceComponentCloudFormationModel(FakeInferenceComponent, CloudFormationModel):
        """moto's CloudFormation entry for AWS::SageMaker::InferenceComponent."""

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    registered = parsing.get_model_map().get(INFERENCE_COMPONENT_CFN_TYPE)
    if registered is not InferenceComponentCloudFormationModel:
        raise RuntimeError(
            f"could not register {INFERENCE_COMPONENT_CFN_TYPE} with moto's CloudFormation"
        )


def _patch_application_autoscaling() -> None:
    """moto validates scalable dimensions against the ScalableDimensionValueSet enum, looked up
    by name in its models and responses modules at call time. Enums cannot be extended, so both
    names are rebound to a copy with the inference-component dimension added. The resource id
    ``inference-component/<name>`` already yields the resource type moto compares with."""
    from moto.applicationautoscaling import models as aas_models
    from moto.applicationautoscaling import responses as aas_responses

    current = aas_models.ScalableDimensionValueSet
    if IC_COPY_COUNT_DIMENSION in {d.value for d in current}:
        return
    members = [(d.name, d.value) for d in current]
    members.append(("SAGEMAKER_INFERENCE_COMPONENT_DESIRED_COPY_COUNT", IC_COPY_COUNT_DIMENSION))
    extended = unique(Enum("ScalableDimensionValueSet", members, module=aas_models.__name__))
    setattr(aas_models, "ScalableDimensionValueSet", extended)
    setattr(aas_responses, "ScalableDimensionValueSet", extended)


def install_moto_extensions() -> None:
    """Patch moto (process-wide) with everything in :data:`EXTENSIONS`. Idempotent.

    Call it before starting ``mock_aws()`` or ``ThreadedMotoServer``; calling it again is a
    no-op. There is no uninstall: the patches last for the life of the process.
    """
    import moto.sagemaker.models as sagemaker_models

    with _install_lock:
        if getattr(sagemaker_models, _MARKER, False):
            return
        _patch_instance_types()
        _patch_model_less_variants()
        _patch_endpoint_config_role()
        _patch_endpoint_variant_summary()
        _patch_tagging()
        _install_inference_component_api()
        _patch_cfn_explicit_names()
        _patch_kms_key_tags()
        _register_cloudformation_model()  # after the name patch: it clears moto's name-map cache
        _patch_application_autoscaling()
        _install_sagemaker_service_quotas()
        setattr(sagemaker_models, _MARKER, True)


# --------------------------------------------------------------------------- Service Quotas

_QUOTA_STORE_ATTR = "sagefit_applied_quotas"
SAGEMAKER_SERVICE_NAME = "Amazon SageMaker"


def _sagemaker_quota_rows(backend: Any) -> dict[str, dict[str, Any]]:
    """Applied endpoint-usage quotas of one account and region, keyed by quota code (lazily seeded)."""
    rows = getattr(backend, _QUOTA_STORE_ATTR, None)
    if rows is None:
        from sagefit.core.catalog import load_catalog

        rows = {}
        for instance in load_catalog().instances:
            if not instance.quota_code:
                continue
            code = instance.quota_code
            rows[code] = {
                "ServiceCode": "sagemaker",
                "ServiceName": SAGEMAKER_SERVICE_NAME,
                "QuotaArn": f"arn:aws:servicequotas:{backend.region_name}:{backend.account_id}:sagemaker/{code}",
                "QuotaCode": code,
                "QuotaName": f"{instance.instance_type} for endpoint usage",
                "Value": 0.0,
                "Unit": "None",
                "Adjustable": True,
                "GlobalQuota": False,
            }
        setattr(backend, _QUOTA_STORE_ATTR, rows)
    return rows


def _install_sagemaker_service_quotas() -> None:
    """Answer Service Quotas calls for service code ``sagemaker``; other codes keep moto's behaviour."""
    import json
    import uuid

    from moto.servicequotas.exceptions import NoSuchResource
    from moto.servicequotas.models import ServiceQuotasBackend
    from moto.servicequotas.responses import ServiceQuotasResponse

    original_get = ServiceQuotasBackend.get_service_quota

    def get_service_quota(self: ServiceQuotasBackend, service_code: str, quota_code: str) -> dict[str, Any]:
        if service_code != "sagemaker":
            return original_get(self, service_code, quota_code)
        row = _sagemaker_quota_rows(self).get(quota_code)
        if row is None:
            raise NoSuchResource()
        return dict(row)

    def list_service_quotas(self: ServiceQuotasBackend, service_code: str) -> list[dict[str, Any]]:
        if service_code != "sagemaker":
            raise NoSuchResource()
        return [dict(row) for row in _sagemaker_quota_rows(self).values()]

    def request_service_quota_increase(
        self: ServiceQuotasBackend, service_code: str, quota_code: str, desired_value: float
    ) -> dict[str, Any]:
        row = _sagemaker_quota_rows(self).get(quota_code) if service_code == "sagemaker" else None
        if row is None:
            raise NoSuchResource()
        row["Value"] = float(desired_value)
        return {
            "Id": uuid.uuid4().hex,
            "ServiceCode": service_code,
            "ServiceName": SAGEMAKER_SERVICE_NAME,
            "QuotaCode": quota_code,
            "QuotaName": row["QuotaName"],
            "QuotaArn": row["QuotaArn"],
            "DesiredValue": float(desired_value),
            "Status": "APPROVED",
            "Unit": "None",
            "GlobalQuota": False,
        }

    def _list(self: ServiceQuotasResponse) -> str:
        params = json.loads(self.body)
        quotas = self.backend.list_service_quotas(str(params.get("ServiceCode")))
        return json.dumps({"Quotas": quotas})

    def _request(self: ServiceQuotasResponse) -> str:
        params = json.loads(self.body)
        requested = self.backend.request_service_quota_increase(
            str(params.get("ServiceCode")), str(params.get("QuotaCode")), float(params.get("DesiredValue"))
        )
        return json.dumps({"RequestedQuota": requested})

    ServiceQuotasBackend.get_service_quota = get_service_quota  # type: ignore[method-assign]
    ServiceQuotasBackend.list_service_quotas = list_service_quotas  # type: ignore[attr-defined]
    ServiceQuotasBackend.request_service_quota_increase = request_service_quota_increase  # type: ignore[attr-defined]
    ServiceQuotasResponse.list_service_quotas = _list  # type: ignore[attr-defined]
    ServiceQuotasResponse.request_service_quota_increase = _request  # type: ignore[attr-defined]
