"""The endpoint config's production variant, and the instance pools it falls back through.

An unpooled plan renders one ``InstanceType``, as it always has. A pooled plan (``plan.spec.pool``)
renders ``InstancePools`` instead: "To use instance pools, you replace the InstanceType parameter in
your production variant with an InstancePools list" (developer guide,
https://docs.aws.amazon.com/sagemaker/latest/dg/realtime-endpoints-heterogeneous.html), each with its
priority (InstancePool.Priority, 1-5, 1 first: API reference InstancePool), and
``VariantInstanceProvisionTimeoutInSeconds`` (300-3600, API reference ProductionVariant) to bound the
fallback. A model-bearing variant (always-on, async) points a pool whose container settings differ
(another tensor-parallel degree) at its own Model with ``ModelNameOverride`` ("The name of a SageMaker
model to use for this instance pool instead of the model specified for the production variant").
An inference-component variant has no model: the component's ``Specifications``, one per instance
type (:func:`component_specifications`), carry each type's model and compute requirements.

Every variant carries the host AMI its image needs (``InferenceAmiVersion``, None for the default
driver: ``plan.spec.container.inference_ami_version``, sourced in :mod:`sagefit.core.engines.vllm`).

Every value comes from the plan's :class:`~sagefit.core.spec.DeploymentSpec`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aws_cdk import aws_sagemaker as sm

from sagefit.core.naming import instance_slug
from sagefit.core.spec import DeploymentSpec

ModelFactory = Callable[[str, Mapping[str, str]], sm.CfnModel]
"""Builds a Model (construct id, environment without the token) the way the endpoint builds its own."""


def pool_models(spec: DeploymentSpec, make_model: ModelFactory) -> dict[str, sm.CfnModel]:
    """One Model per pool member whose environment differs from the planned instance's, by type."""
    return {
        member.instance_type: make_model(pool_model_id(member.instance_type), member.environment)
        for member in spec.pool
        if member.own_model
    }


def pool_model_id(instance_type: str) -> str:
    """``ml.g5.48xlarge`` -> ``ModelG548xlarge``: a logical id per pool member's Model."""
    return "Model" + "".join(part.capitalize() for part in instance_slug(instance_type).split("-"))


def _instance_pools(
    spec: DeploymentSpec, models: Mapping[str, sm.CfnModel]
) -> list[sm.CfnEndpointConfig.InstancePoolProperty] | None:
    """InstancePools in priority order, or None for an unpooled plan (which sets InstanceType)."""
    if not spec.pool:
        return None
    return [
        sm.CfnEndpointConfig.InstancePoolProperty(
            instance_type=member.instance_type,
            priority=member.priority,
            model_name_override=models[member.instance_type].attr_model_name
            if member.instance_type in models
            else None,
        )
        for member in spec.pool
    ]


def _instance_type(spec: DeploymentSpec) -> str | None:
    """InstanceType, or None where InstancePools replace it (never both: see the module)."""
    return None if spec.pool else spec.instance_type


def _provision_timeout(spec: DeploymentSpec) -> int | None:
    return spec.pool_provision_timeout_s if spec.pool else None


def component_variant(spec: DeploymentSpec, variant_name: str) -> sm.CfnEndpointConfig.ProductionVariantProperty:
    """The variant an inference component runs on: no model, managed instance scaling to zero."""
    scaling = spec.scaling
    return sm.CfnEndpointConfig.ProductionVariantProperty(
        variant_name=variant_name,
        instance_type=_instance_type(spec),
        instance_pools=_instance_pools(spec, {}),
        variant_instance_provision_timeout_in_seconds=_provision_timeout(spec),
        initial_instance_count=spec.update.initial_instances,
        managed_instance_scaling=sm.CfnEndpointConfig.ManagedInstanceScalingProperty(
            status="ENABLED",
            min_instance_count=0,
            max_instance_count=scaling.max_capacity,
            # IDLE_RELEASE ("Releases instances that have no hosted inference component copies":
            # one component here) and the shortest cooldown AWS accepts (plan.spec.scaling; see
            # sagefit.core.assumptions for what the API reference shape
            # ProductionVariantManagedInstanceScalingScaleInPolicy does and does not say).
            scale_in_policy=sm.CfnEndpointConfig.ScaleInPolicyProperty(
                strategy=scaling.managed_scale_in_strategy,
                cooldown_in_minutes=scaling.managed_scale_in_cooldown_min,
            ),
        ),
        routing_config=sm.CfnEndpointConfig.RoutingConfigProperty(routing_strategy="LEAST_OUTSTANDING_REQUESTS"),
        volume_size_in_gb=spec.container.volume_size_gb,
        inference_ami_version=spec.container.inference_ami_version,
    )


def model_variant(
    spec: DeploymentSpec, variant_name: str, model: sm.CfnModel, models: Mapping[str, sm.CfnModel]
) -> sm.CfnEndpointConfig.ProductionVariantProperty:
    """An always-on or async variant serving ``model`` (and ``models`` on the pools that need their own)."""
    timeout = spec.container.startup_timeout_s
    return sm.CfnEndpointConfig.ProductionVariantProperty(
        variant_name=variant_name,
        model_name=model.attr_model_name,
        instance_type=_instance_type(spec),
        instance_pools=_instance_pools(spec, models),
        variant_instance_provision_timeout_in_seconds=_provision_timeout(spec),
        # A constant (plan.spec.update): autoscaling raises the count to MinCapacity, and a bound
        # change then leaves the endpoint config, hence the fleet, alone.
        initial_instance_count=spec.update.initial_instances,
        initial_variant_weight=1.0,
        container_startup_health_check_timeout_in_seconds=timeout,
        model_data_download_timeout_in_seconds=timeout,
        volume_size_in_gb=spec.container.volume_size_gb,
        inference_ami_version=spec.container.inference_ami_version,
    )


def component_specifications(
    spec: DeploymentSpec, model: sm.CfnModel, models: Mapping[str, sm.CfnModel]
) -> list[sm.CfnInferenceComponent.InferenceComponentSpecificationForInstanceTypeProperty]:
    """One specification per pool type, each with its model and the GPUs and memory one copy takes there.

    CreateInferenceComponent.Specifications: "one per instance type ... You can use either this
    parameter or the singular Specification parameter, but not both"; InstanceType is "Required when
    using the Specifications parameter with multiple entries" (API reference
    InferenceComponentSpecification). The CloudFormation schema (cfn-lint 1.58,
    AWS::SageMaker::InferenceComponent) requires InstanceType on every entry and at least two
    entries, which a pool always has.
    """
    out = []
    for member in spec.pool:
        chosen = models.get(member.instance_type, model)
        out.append(
            sm.CfnInferenceComponent.InferenceComponentSpecificationForInstanceTypeProperty(
                instance_type=member.instance_type,
                model_name=chosen.attr_model_name,
                compute_resource_requirements=sm.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
                    number_of_accelerator_devices_required=member.accelerators,
                    min_memory_required_in_mb=member.min_memory_mb,
                ),
                startup_parameters=sm.CfnInferenceComponent.InferenceComponentStartupParametersProperty(
                    container_startup_health_check_timeout_in_seconds=member.startup_timeout_s,
                    model_data_download_timeout_in_seconds=member.startup_timeout_s,
                ),
            )
        )
    return out
