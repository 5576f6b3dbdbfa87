"""CloudFormation in moto: the AWS::SageMaker::InferenceComponent resource, and the explicit names
of SageMaker resources.

moto 5.2.5's CloudFormation skips ``AWS::SageMaker::InferenceComponent`` with only a warning, and
ignores the ``ModelName``/``EndpointConfigName``/``EndpointName`` properties, so a stack's outputs
named an endpoint that did not exist. This module adds the resource (properties, Ref and GetAtt as
in the CloudFormation resource reference:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sagemaker-inferencecomponent.html)
on top of the backend operations of :mod:`.inference_components`, and reports the name properties.
:func:`install` applies both; call it only through
:func:`sagefit.emulator.moto_ext.install_moto_extensions`, which makes it run once.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, sagemaker_backends

from sagefit.emulator.moto_ext import cfn_updates, endpoints, rules
from sagefit.emulator.moto_ext.inference_components import (
    NAME_MAX,
    FakeInferenceComponent,
    components_of,
    create_inference_component,
    update_inference_component,
)

INFERENCE_COMPONENT_CFN_TYPE = "AWS::SageMaker::InferenceComponent"

EXTENSIONS: list[str] = [
    "CloudFormation creates, updates and deletes AWS::SageMaker::InferenceComponent "
    "(Ref is the ARN; GetAtt InferenceComponentName, InferenceComponentArn, InferenceComponentStatus)",
    "CloudFormation uses the ModelName, EndpointConfigName and EndpointName properties of "
    "AWS::SageMaker::Model/EndpointConfig/Endpoint as the resource names (moto generated new names), "
    "and keeps the names it generates within SageMaker's 63 characters",
    "CloudFormation updates AWS::SageMaker::Endpoint in place (UpdateEndpoint; moto deleted and "
    "re-created it), and moves the endpoints on a replaced AWS::SageMaker::EndpointConfig onto the "
    "new config (moto left them on the deleted one): those the new template still names, with their "
    "RetainAllVariantProperties, while an endpoint the template renames is replaced, not moved",
    "CloudFormation sets an inference component's copy count only when the template's RuntimeConfig "
    "changes (moto's update sent it with every change of the component)",
]


class InferenceComponentResource:
    """The class side of moto's CloudFormation interface for an inference component.

    moto calls these on the registered resource class; what they return are plain
    :class:`FakeInferenceComponent` records from the backend's store, which answer Ref and GetAtt.
    It is not a ``CloudFormationModel`` itself (that would register the type on import):
    :func:`_register_cloudformation_model` combines the two at install.
    """

    @staticmethod
    def cloudformation_name_type() -> str:
        return "InferenceComponentName"

    @staticmethod
    def cloudformation_type() -> str:
        return INFERENCE_COMPONENT_CFN_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("InferenceComponentName", "InferenceComponentArn", "InferenceComponentStatus")

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
        runtime_config = _cfn_runtime_config(props.get("RuntimeConfig"))
        component = create_inference_component(
            backend,
            inference_component_name=name,
            endpoint_name=endpoint_name,
            variant_name=props.get("VariantName"),
            specification=_cfn_specification(props.get("Specification")),
            specifications=_cfn_specifications(props.get("Specifications")),
            runtime_config=runtime_config,
            tags=props.get("Tags"),
        )
        setattr(component, _TEMPLATE_RUNTIME_ATTR, runtime_config)
        return component

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
        replacement-requiring property such as the name changes).

        The copy count is sent only when the template's RuntimeConfig differs from the previous
        template's. The AWS::SageMaker::InferenceComponent schema makes RuntimeConfig write-only and
        grants its update handler sagemaker:UpdateInferenceComponentRuntimeConfig beside
        UpdateInferenceComponent (aws-sagemaker-inferencecomponent.json in the CloudFormation
        resource schemas; the handler itself is not public): a runtime-config call for a changed
        RuntimeConfig. moto's update sent the template's CopyCount with every change, so a new model
        woke a component autoscaling or the hard cap held at 0 copies. Unverified live: whether the
        handler also resends an unchanged RuntimeConfig with UpdateInferenceComponent; `sagefit diff`
        warns about that case, and the README lists it under "Still different from AWS"."""
        props = cloudformation_json["Properties"]
        name = props.get("InferenceComponentName") or original_resource.name
        backend = sagemaker_backends[account_id][region_name]
        if name == original_resource.name:
            runtime_config = _cfn_runtime_config(props.get("RuntimeConfig"))
            changed = runtime_config != getattr(original_resource, _TEMPLATE_RUNTIME_ATTR, None)
            component = update_inference_component(
                backend,
                inference_component_name=name,
                specification=_cfn_specification(props.get("Specification")),
                specifications=_cfn_specifications(props.get("Specifications")),
                runtime_config=runtime_config if changed else None,
                deployment_config=props.get("DeploymentConfig"),
            )
            setattr(component, _TEMPLATE_RUNTIME_ATTR, runtime_config)
            return component
        cls.delete_from_cloudformation_json(original_resource.arn, cloudformation_json, account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

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
        components_of(sagemaker_backends[account_id][region_name]).pop(name, None)


_TEMPLATE_RUNTIME_ATTR = "sagefit_template_runtime_config"
"""Where a component keeps the RuntimeConfig of the template that last created or updated it."""


def _generated_name(resource_name: str) -> str:
    """moto names an unnamed resource ``<stack>-<logical id>-<suffix>``, which can exceed the
    63-character limit; keep the unique suffix and trim the front."""
    if len(resource_name) <= NAME_MAX:
        return resource_name
    return resource_name[-NAME_MAX:].lstrip("-")


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


def _cfn_specifications(specs: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """The per-instance-type Specifications (instance pools), each coerced like a Specification."""
    if specs is None:
        return None
    return [s for s in (_cfn_specification(spec) for spec in specs) if s is not None]


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


_SAGEMAKER_NAME_PROPERTIES = ("ModelName", "EndpointConfigName", "EndpointName")


def _patch_cfn_generated_names() -> None:
    """moto names an unnamed resource ``<stack>-<logical id>-<suffix>``, often over SageMaker's 63
    characters (which :mod:`.rules` now enforces); CloudFormation keeps generated names valid, so
    trim them as :func:`_generated_name` does for components. Explicit names are checked as given."""
    from moto.sagemaker.models import Model

    for model_class in (Model, FakeEndpointConfig, FakeEndpoint):
        original: Callable[..., Any] = model_class.__dict__["create_from_cloudformation_json"].__func__

        def create_from_cloudformation_json(
            cls: type,
            /,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            _original: Callable[..., Any] = original,
            **kwargs: Any,
        ) -> Any:
            props = cloudformation_json.get("Properties") or {}
            if not any(key in props for key in _SAGEMAKER_NAME_PROPERTIES):
                resource_name = _generated_name(resource_name)
            return _original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

        functools.update_wrapper(create_from_cloudformation_json, original)
        setattr(model_class, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))


def _truthy(value: Any) -> bool:
    """CloudFormation may pass a boolean property as the string "true"."""
    return value is True or str(value).lower() == "true"


def _update_endpoint_from_cloudformation_json(
    cls: type[FakeEndpoint],
    original_resource: FakeEndpoint,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> FakeEndpoint:
    """An AWS::SageMaker::Endpoint update is UpdateEndpoint in AWS (the endpoint stays, with the
    rules of :func:`.rules.check_endpoint_update`); only a new EndpointName replaces it."""
    props = cloudformation_json["Properties"]
    backend = sagemaker_backends[account_id][region_name]
    name = props.get("EndpointName") or original_resource.endpoint_name
    if name != original_resource.endpoint_name:
        created: FakeEndpoint = cls.create_from_cloudformation_json(name, cloudformation_json, account_id, region_name)
        cls.delete_from_cloudformation_json(original_resource.arn, cloudformation_json, account_id, region_name)
        return created
    if original_resource.endpoint_config_name == props["EndpointConfigName"]:
        return original_resource  # already moved by its replaced config's update (below)
    return endpoints.update_endpoint(
        backend,
        endpoint_name=name,
        endpoint_config_name=props["EndpointConfigName"],
        retain_all_variant_properties=_truthy(props.get("RetainAllVariantProperties")),
        exclude_retained_variant_properties=props.get("ExcludeRetainedVariantProperties"),
    )


def _update_endpoint_config_from_cloudformation_json(
    cls: type[FakeEndpointConfig],
    original_resource: FakeEndpointConfig,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> FakeEndpointConfig:
    """A changed endpoint config is a replacement: in AWS the new config's name reaches the
    endpoints that reference it, and CloudFormation updates them (UpdateEndpoint, with the endpoint
    resource's RetainAllVariantProperties). moto's template diff sees no change in those endpoints,
    so move them here, after checking them all (nothing changes when one is refused). Moved are the
    endpoints on the old config that the new template still names: an endpoint whose EndpointName
    changes is replaced by its own update (a new endpoint on the new config, the old one deleted),
    never updated, as in AWS. The new config is created before the old one is deleted, as
    CloudFormation does."""
    backend = sagemaker_backends[account_id][region_name]
    old_name = original_resource.endpoint_config_name
    declared = cfn_updates.declared_endpoints()
    moving = [
        e
        for e in backend.endpoints.values()
        if e.endpoint_config_name == old_name and (declared is None or e.endpoint_name in declared)
    ]
    new_variants = cloudformation_json["Properties"].get("ProductionVariants") or []
    for endpoint in moving:
        registered = {t.resource_id.split("/")[3] for t in endpoints.variant_targets(backend, endpoint.endpoint_name)}
        rules.check_endpoint_update(
            endpoint.endpoint_name, endpoints.deployed_variants(backend, endpoint), new_variants, registered
        )
    created: FakeEndpointConfig = cls.create_from_cloudformation_json(
        new_resource_name, cloudformation_json, account_id, region_name
    )
    if created.endpoint_config_name != old_name:
        backend.endpoint_configs.pop(old_name, None)
    for endpoint in moving:
        props = (declared or {}).get(endpoint.endpoint_name, {})
        endpoints.switch_config(
            backend,
            endpoint,
            created,
            retain=_truthy(props.get("RetainAllVariantProperties")),
            exclude=props.get("ExcludeRetainedVariantProperties"),
        )
    return created


def _patch_cfn_updates() -> None:
    setattr(FakeEndpoint, "update_from_cloudformation_json", classmethod(_update_endpoint_from_cloudformation_json))
    setattr(
        FakeEndpointConfig,
        "update_from_cloudformation_json",
        classmethod(_update_endpoint_config_from_cloudformation_json),
    )


def _register_cloudformation_model() -> None:
    """Make AWS::SageMaker::InferenceComponent a moto CloudFormation resource.

    moto maps resource types to the direct subclasses of CloudFormationModel, cached with
    lru_cache; define the subclass now and clear those caches so a stack created after install
    (even in a process that already parsed templates) sees the new type.
    """
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    class InferenceComponentCloudFormationModel(InferenceComponentResource, CloudFormationModel):
        """moto's CloudFormation entry for AWS::SageMaker::InferenceComponent."""

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    registered = parsing.get_model_map().get(INFERENCE_COMPONENT_CFN_TYPE)
    if registered is not InferenceComponentCloudFormationModel:
        raise RuntimeError(f"could not register {INFERENCE_COMPONENT_CFN_TYPE} with moto's CloudFormation")


def install() -> None:
    """Apply this module's :data:`EXTENSIONS` to moto (not idempotent on its own)."""
    _patch_cfn_explicit_names()
    _patch_cfn_generated_names()
    _patch_cfn_updates()
    _register_cloudformation_model()  # after the name patch: it clears moto's name-map cache
