"""SageMaker in moto: endpoint configs and endpoints in the inference-component shape, and the
InferenceComponent actions.

sagefit's endpoints put one model per endpoint as an inference component on an endpoint config
whose production variant names no model (see ``stacks/``). moto 5.2.5 rejects or loses parts of
that shape: its instance-type list is old, it indexes ``ModelName`` on every variant, it drops
``ExecutionRoleArn``, ``ManagedInstanceScaling`` and ``RoutingConfig``, and it has no
``*InferenceComponent*`` action. Each ``_patch_*`` below wraps moto's own functions (it does not
copy them) and says which; the shapes follow the SageMaker API reference (CreateEndpointConfig,
DescribeEndpoint's ProductionVariantSummary, the InferenceComponent actions:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/). :func:`install` applies them; call it
only through :func:`sagefit.emulator.moto_ext.install_moto_extensions`, which makes it run once.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import (
    FakeEndpoint,
    FakeEndpointConfig,
    SageMakerModelBackend,
    sagemaker_backends,
)
from moto.sagemaker.responses import SageMakerResponse

from sagefit.core import aws_rules
from sagefit.emulator.moto_ext import endpoints, rules
from sagefit.emulator.moto_ext import inference_components as ic
from sagefit.emulator.moto_ext import pools as pool_rules
from sagefit.emulator.moto_ext.inference_components import (
    BACKEND_METHODS,
    get_component,
)
from sagefit.emulator.moto_ext.model_data import check_model_data

EXTENSIONS: list[str] = [
    "SageMaker endpoint configs accept every instance type in sagefit's catalog "
    "(sagefit/data/instances.yaml) besides moto's own list; other types are still rejected",
    "SageMaker endpoint configs accept production variants without ModelName (the "
    "inference-component shape); ModelName is still checked when given",
    "SageMaker endpoint configs accept InstancePools in place of InstanceType (each pool's type checked "
    "like InstanceType), and DescribeEndpoint reports them (all instances on priority 1)",
    "SageMaker keeps ExecutionRoleArn on endpoint configs, and ManagedInstanceScaling and "
    "RoutingConfig on endpoint variants, and returns them from DescribeEndpointConfig/DescribeEndpoint",
    "SageMaker inference components: Create, Describe, List, Update, UpdateRuntimeConfig and Delete "
    "InferenceComponent (in-memory, InService at once; endpoint and model must exist), adapter components "
    "(BaseInferenceComponentName) included",
    "SageMaker UpdateEndpoint (in place, InService at once; RetainAllVariantProperties and "
    "ExcludeRetainedVariantProperties honoured for instance counts and weights)",
    "SageMaker refuses what AWS refuses on models, endpoint configs, endpoints and inference "
    "components, and DeleteEndpoint deregisters the endpoint's scalable targets (the rules are "
    "listed under 'Rules the emulator enforces')",
]

# Instance types accepted on top of moto's list; filled from the catalog by install.
_extra_instance_types: frozenset[str] = frozenset()


# --------------------------------------------------------------------------------------------
# Response handlers, installed as methods of SageMakerResponse. moto dispatches a request to
# the method named after the action in snake_case, so adding the method wires the action for
# both mock_aws() and the server.
# --------------------------------------------------------------------------------------------


def _response_create_inference_component(self: SageMakerResponse) -> ActionResult:
    component = ic.create_inference_component(
        self.sagemaker_backend,
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
        ic.describe_inference_component(self.sagemaker_backend, self._get_param("InferenceComponentName"))
    )


def _response_list_inference_components(self: SageMakerResponse) -> ActionResult:
    components, next_token = ic.list_inference_components(
        self.sagemaker_backend,
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
    return ActionResult({"InferenceComponents": [c.summary() for c in components], "NextToken": next_token})


def _response_update_inference_component(self: SageMakerResponse) -> ActionResult:
    component = ic.update_inference_component(
        self.sagemaker_backend,
        inference_component_name=self._get_param("InferenceComponentName"),
        specification=self._get_param("Specification"),
        specifications=self._get_param("Specifications"),
        runtime_config=self._get_param("RuntimeConfig"),
        deployment_config=self._get_param("DeploymentConfig"),
    )
    return ActionResult({"InferenceComponentArn": component.arn})


def _response_update_inference_component_runtime_config(self: SageMakerResponse) -> ActionResult:
    component = ic.update_inference_component_runtime_config(
        self.sagemaker_backend,
        inference_component_name=self._get_param("InferenceComponentName"),
        desired_runtime_config=self._get_param("DesiredRuntimeConfig"),
    )
    return ActionResult({"InferenceComponentArn": component.arn})


def _response_delete_inference_component(self: SageMakerResponse) -> EmptyResult:
    ic.delete_inference_component(self.sagemaker_backend, self._get_param("InferenceComponentName"))
    return EmptyResult()


def _response_update_endpoint(self: SageMakerResponse) -> ActionResult:
    endpoint = endpoints.update_endpoint(
        self.sagemaker_backend,
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        retain_all_variant_properties=bool(self._get_param("RetainAllVariantProperties")),
        exclude_retained_variant_properties=self._get_param("ExcludeRetainedVariantProperties"),
    )
    return ActionResult({"EndpointArn": endpoint.arn})


_RESPONSE_METHODS: dict[str, Callable[..., Any]] = {
    "update_endpoint": _response_update_endpoint,
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


def _validate_pool_type(instance_type: str) -> None:
    """moto's instance-type check (with the catalog's types) for one InstancePool."""
    FakeEndpointConfig.validate_instance_type(None, instance_type)  # type: ignore[arg-type]  # self unused


def _patch_pooled_variants() -> None:
    """moto requires InstanceType (or ServerlessConfig) on every variant; a pooled variant has
    InstancePools instead, whose types :func:`_validate_pool_type` checks (see :mod:`.pools`)."""
    original = FakeEndpointConfig.validate_production_variants

    @functools.wraps(original)
    def validate_production_variants(self: FakeEndpointConfig, production_variants: list[dict[str, Any]]) -> None:
        original(self, [v for v in production_variants if not v.get("InstancePools") or v.get("InstanceType")])

    setattr(FakeEndpointConfig, "validate_production_variants", validate_production_variants)


def _patch_model_less_variants() -> None:
    """moto indexes variant["ModelName"] unconditionally; inference-component variants have no
    model (the component names it), so only check the variants that do name one."""
    original = SageMakerModelBackend.validate_production_variants

    @functools.wraps(original)
    def validate_production_variants(self: SageMakerModelBackend, production_variants: list[dict[str, Any]]) -> None:
        original(self, [v for v in production_variants if "ModelName" in v])
        for variant in production_variants:  # instance pools (.pools): valid types, existing override models
            pool_rules.check_pools(variant, _validate_pool_type, self._models)

    setattr(SageMakerModelBackend, "validate_production_variants", validate_production_variants)


_Created = TypeVar("_Created")


def _create_checked_config(
    backend: SageMakerModelBackend,
    name: str,
    props: dict[str, Any],
    create: Callable[[], _Created],
) -> _Created:
    """Create an endpoint config through moto (``create``) under :mod:`.rules`, keeping its role.

    The field checks run first, as in AWS; moto then checks instance types and models while it
    creates the config; the rules between fields run last, and a refused config is taken out of
    moto's store again, so a refusal changes nothing. moto's CreateEndpointConfig (API and
    CloudFormation) drops ExecutionRoleArn, which an inference-component config carries: it is set
    on the stored config, where moto's describe turns ``execution_role_arn`` into ``ExecutionRoleArn``.
    """
    variants = props.get("ProductionVariants") or []
    role = props.get("ExecutionRoleArn")
    rules.check_endpoint_config_fields(name, variants)
    previous = backend.endpoint_configs.get(name)
    created = create()
    try:
        rules.check_endpoint_config(variants, execution_role_arn=role, kms_key_id=props.get("KmsKeyId"))
    except ValidationError:
        if previous is None:
            backend.endpoint_configs.pop(name, None)
        else:
            backend.endpoint_configs[name] = previous
        raise
    if role:
        setattr(backend.endpoint_configs[name], "execution_role_arn", role)  # moto's class has no such attribute
    return created


def _patch_endpoint_config() -> None:
    """Route both ways of creating an endpoint config (API, CloudFormation) through
    :func:`_create_checked_config`."""
    original_response = SageMakerResponse.create_endpoint_config

    @functools.wraps(original_response)
    def create_endpoint_config(self: SageMakerResponse) -> ActionResult:
        props = {key: self._get_param(key) for key in ("ProductionVariants", "ExecutionRoleArn", "KmsKeyId")}
        name = self._get_param("EndpointConfigName")
        return _create_checked_config(self.sagemaker_backend, name, props, lambda: original_response(self))

    setattr(SageMakerResponse, "create_endpoint_config", create_endpoint_config)

    original_cfn: Callable[..., FakeEndpointConfig] = FakeEndpointConfig.__dict__[
        "create_from_cloudformation_json"
    ].__func__

    @functools.wraps(original_cfn)
    def create_from_cloudformation_json(
        cls: type[FakeEndpointConfig],
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> FakeEndpointConfig:
        return _create_checked_config(
            sagemaker_backends[account_id][region_name],
            resource_name,
            cloudformation_json["Properties"],
            lambda: original_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs),
        )

    patched = classmethod(create_from_cloudformation_json)
    setattr(FakeEndpointConfig, "create_from_cloudformation_json", patched)


def _patch_models_and_endpoints() -> None:
    """Names of models and endpoints follow AWS's rules (API and CloudFormation both call these
    backend methods); an endpoint remembers the variants it runs for UpdateEndpoint, and deleting it
    deregisters its scalable targets (:mod:`.endpoints`)."""
    original_model = SageMakerModelBackend.create_model

    @functools.wraps(original_model)
    def create_model(self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> Any:
        name = kwargs["model_name"] if "model_name" in kwargs else args[0]
        rules.check_name(aws_rules.MODEL_NAME, name, "modelName")
        check_model_data(kwargs.get("primary_container", args[2] if len(args) > 2 else None))
        return original_model(self, *args, **kwargs)

    original_create = SageMakerModelBackend.create_endpoint

    @functools.wraps(original_create)
    def create_endpoint(
        self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str, tags: list[dict[str, str]]
    ) -> FakeEndpoint:
        rules.check_name(aws_rules.ENDPOINT_NAME, endpoint_name, "endpointName")
        endpoint = original_create(self, endpoint_name, endpoint_config_name, tags)
        endpoints.record_deployed(self, endpoint, self.endpoint_configs[endpoint_config_name].production_variants)
        return endpoint

    original_delete = SageMakerModelBackend.delete_endpoint

    @functools.wraps(original_delete)
    def delete_endpoint(self: SageMakerModelBackend, endpoint_name: str) -> None:
        original_delete(self, endpoint_name)
        endpoints.forget_endpoint(self, endpoint_name)

    setattr(SageMakerModelBackend, "create_model", create_model)
    setattr(SageMakerModelBackend, "create_endpoint", create_endpoint)
    setattr(SageMakerModelBackend, "delete_endpoint", delete_endpoint)
    setattr(SageMakerModelBackend, "update_endpoint", endpoints.update_endpoint)


def _patch_endpoint_variant_summary() -> None:
    """DescribeEndpoint's ProductionVariantSummary has ManagedInstanceScaling and RoutingConfig,
    which moto leaves out; copy them from the endpoint config's variants."""
    original = FakeEndpoint._process_production_variants

    @functools.wraps(original)
    def _process_production_variants(
        self: FakeEndpoint, production_variants: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        summaries = original(self, production_variants)
        for summary, variant in zip(summaries, production_variants, strict=True):
            for key in ("ManagedInstanceScaling", "RoutingConfig"):
                if key in variant:
                    summary[key] = copy.deepcopy(variant[key])
            types = pool_rules.variant_types(variant)
            if variant.get("InstancePools"):
                # InstancePoolSummary per pool; the emulator never runs short, so all on priority 1.
                count = int(summary.get("CurrentInstanceCount", 0))
                summary["InstancePools"] = [
                    {"InstanceType": t, "CurrentInstanceCount": count if i == 0 else 0} for i, t in enumerate(types)
                ]
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
            return get_component(self, name)
        return original(self, arn)

    setattr(SageMakerModelBackend, "_get_resource_from_arn", _get_resource_from_arn)


def _install_inference_component_api() -> None:
    for name, function in BACKEND_METHODS.items():
        setattr(SageMakerModelBackend, name, function)
    for name, function in _RESPONSE_METHODS.items():
        setattr(SageMakerResponse, name, function)


def install() -> None:
    """Apply this module's :data:`EXTENSIONS` to moto (not idempotent on its own)."""
    _patch_instance_types()
    _patch_model_less_variants()
    _patch_pooled_variants()
    _patch_endpoint_config()
    _patch_models_and_endpoints()
    _patch_endpoint_variant_summary()
    _patch_tagging()
    _install_inference_component_api()
