"""The in-memory SageMaker inference component: its record and its backend operations.

moto 5.2.5 has no ``*InferenceComponent*`` API, yet every sagefit endpoint serves its model as an
inference component. This module holds what AWS would keep for one (the API reference's
CreateInferenceComponent, DescribeInferenceComponent, ListInferenceComponents,
UpdateInferenceComponent, UpdateInferenceComponentRuntimeConfig and DeleteInferenceComponent:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Operations_Amazon_SageMaker_Service.html)
and the operations on it, written as methods of moto's ``SageMakerModelBackend``. Importing it
patches nothing: :mod:`.sagemaker` installs the operations and their request handlers, and
:mod:`.cloudformation` makes the component a CloudFormation resource.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend
from moto.sagemaker.utils import arn_formatter
from moto.utilities.paginator import paginate

from sagefit.core.aws_rules import INFERENCE_COMPONENT_NAME
from sagefit.emulator.moto_ext import endpoints, rules
from sagefit.emulator.moto_ext import pools as pool_rules
from sagefit.emulator.moto_ext.adapters import check_adapter, check_base_delete

NAME_MAX = INFERENCE_COMPONENT_NAME.max_length
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


class FakeInferenceComponent:
    """One inference component in a moto SageMaker backend.

    It carries the instance side of moto's CloudFormation interface (``physical_resource_id``,
    ``get_cfn_attribute``) because CloudFormation resolves Ref and GetAtt on the object a create
    returns; the class side lives in :mod:`.cloudformation`. It deliberately does not subclass
    moto's ``CloudFormationModel``: moto finds CloudFormation resource types through
    ``CloudFormationModel.__subclasses__()``, so subclassing here would register the type on import.
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

    # -- CloudFormation, instance side (Ref and GetAtt resolve on the returned object) -----------

    @property
    def physical_resource_id(self) -> str:
        """What ``Ref`` returns: the ARN, as in AWS CloudFormation."""
        return self.arn

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "InferenceComponentName":
            return self.name
        if attribute_name == "InferenceComponentArn":
            return self.arn
        if attribute_name == "InferenceComponentStatus":
            return self.status
        raise UnformattedGetAttTemplateException()


def components_of(backend: SageMakerModelBackend) -> dict[str, FakeInferenceComponent]:
    """The backend's components, created on first use so backends that existed before
    install (a running server) get one too."""
    store: dict[str, FakeInferenceComponent] = backend.__dict__.setdefault(_STORE_ATTR, {})
    return store


def _ic_arn(backend: SageMakerModelBackend, name: str) -> str:
    return arn_formatter("inference-component", name, backend.account_id, backend.region_name)


def get_component(backend: SageMakerModelBackend, name: str) -> FakeInferenceComponent:
    try:
        return components_of(backend)[name]
    except KeyError:
        raise ValidationError(message=f"Could not find inference component '{_ic_arn(backend, name)}'.") from None


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


def _variant(backend: SageMakerModelBackend, endpoint: FakeEndpoint, name: str) -> dict[str, Any] | None:
    """The variant ``name`` as ``endpoint`` runs it (with its instance type or pools)."""
    return next((v for v in endpoints.deployed_variants(backend, endpoint) if v["VariantName"] == name), None)


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
    """CreateInferenceComponent: the endpoint, its variant and the model must exist, and the
    request obeys :mod:`.rules` (name, startup timeouts, copy count)."""
    rules.check_inference_component(inference_component_name, [specification, *(specifications or [])], runtime_config)
    store = components_of(self)
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
        raise ValidationError(message=f"Could not find variant '{variant_name}' on endpoint '{endpoint.arn}'.")
    pool_rules.check_specifications(specification, specifications, _variant(self, endpoint, variant_name))
    _validate_specifications(self, specification, specifications)
    check_adapter(inference_component_name, endpoint_name, specification, store)  # adapters.ADAPTER_RULES
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


def describe_inference_component(self: SageMakerModelBackend, inference_component_name: str) -> dict[str, Any]:
    return get_component(self, inference_component_name).describe()


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
    items = list(components_of(self).values())
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
    """UpdateInferenceComponent: replaces what is given; the rollout completes at once. A rolling
    update's batch is checked against the copy count the update asks for (else the current one)."""
    component = get_component(self, inference_component_name)
    rules.check_inference_component(None, [specification, *(specifications or [])], runtime_config)
    copies = component.copy_count if runtime_config is None else int(runtime_config["CopyCount"])
    rules.check_rolling_update(deployment_config, copies)
    endpoint = self.endpoints.get(component.endpoint_name)
    variant = _variant(self, endpoint, component.variant_name) if endpoint is not None else None
    pool_rules.check_specifications(specification, specifications, variant)
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
    component = get_component(self, inference_component_name)
    rules.check_inference_component(None, [], desired_runtime_config, "desiredRuntimeConfig")
    component.copy_count = int(desired_runtime_config["CopyCount"])
    component.last_modified_time = utcnow()
    return component


def delete_inference_component(self: SageMakerModelBackend, inference_component_name: str) -> None:
    get_component(self, inference_component_name)
    check_base_delete(inference_component_name, components_of(self))  # a base with adapters stays
    del components_of(self)[inference_component_name]


# What :mod:`.sagemaker` installs on SageMakerModelBackend, by method name.
BACKEND_METHODS: dict[str, Callable[..., Any]] = {
    "create_inference_component": create_inference_component,
    "describe_inference_component": describe_inference_component,
    "list_inference_components": list_inference_components,
    "update_inference_component": update_inference_component,
    "update_inference_component_runtime_config": update_inference_component_runtime_config,
    "delete_inference_component": delete_inference_component,
}
