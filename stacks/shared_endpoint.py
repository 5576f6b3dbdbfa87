"""`SharedLlmEndpoint`: one SageMaker endpoint whose instances several models share as inference components.

The endpoint has one variant with managed instance scaling on the planned instance type; each member
is a `MemberComponent` (a Model and an InferenceComponent with its own rollback alarm) that scales on
its own copy count (:mod:`stacks.scaling`). Every name and number comes from the shared plan's
:class:`~sagefit.core.shared_spec.SharedDeploymentSpec`. The component's shape (one copy to create
with, rolling updates by capacity percent, startup timeouts) is the one :mod:`stacks.endpoint` renders
for a profile of its own, whose comments give each rule's source.
"""

from __future__ import annotations

import dataclasses

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sm
from constructs import Construct

from sagefit.core.pools import PoolMember
from sagefit.core.shared_spec import MemberSpec, SharedDeploymentSpec
from sagefit.core.spec import ContainerSpec
from stacks import cdk_values
from stacks.container import container_definition
from stacks.endpoint import ENDPOINT_NAMESPACE
from stacks.images import ImageUri, resolve_engine_image
from stacks.nag import acknowledge_compliance
from stacks.shared_role import acknowledge_shared_role, shared_execution_role
from stacks.variant import pool_model_id


def member_image(member: MemberSpec, region: str) -> ImageUri:
    return resolve_engine_image(member.container.engine, member.container.version, region)


class SharedLlmEndpoint(Construct):
    """The endpoint, its config and role, and one `MemberComponent` per member."""

    def __init__(
        self, scope: Construct, construct_id: str, spec: SharedDeploymentSpec, encryption_key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.stack = Stack.of(self)
        self.account = self.stack.account
        self.spec = spec
        self.endpoint_name = spec.names.endpoint
        self.variant_name = spec.names.variant
        self.placement = None
        """No VPC: a member with ``network:`` cannot join; the guard functions read this as a profile's."""
        images = [member_image(m, spec.region) for m in spec.members]
        self.role = shared_execution_role(self, self.stack, spec, images, encryption_key)
        acknowledge_shared_role(self.role, spec, *self.nag_account_region)
        self.config = sm.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[self._variant()],
            # Local NVMe instances refuse KmsKeyId (see stacks.network.acknowledge_nvme).
            kms_key_id=None if spec.local_nvme else encryption_key.key_arn,
            execution_role_arn=self.role.role_arn,
        )
        self.config.node.add_dependency(self.role.policy)
        if spec.local_nvme:
            acknowledge_compliance(
                self.config,
                {
                    "SageMakerEndpointConfigurationKMSKeyConfigured": (
                        f"{spec.instance_type} has local NVMe instance storage, for which CreateEndpointConfig "
                        "refuses KmsKeyId; the instance store is encrypted by the hardware instead"
                    )
                },
            )
        self.endpoint = sm.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.config.attr_endpoint_config_name,
        )
        self.members = [
            MemberComponent(self, f"Member-{member.profile_name}", self, member, image)
            for member, image in zip(spec.members, images, strict=True)
        ]

    @property
    def nag_account_region(self) -> tuple[str, str]:
        """The account and region as cdk-nag spells them in a finding's ARN (as LlmEndpoint's)."""
        account, region = self.account, self.stack.region
        return (
            "<AWS::AccountId>" if Token.is_unresolved(account) else account,
            "<AWS::Region>" if Token.is_unresolved(region) else region,
        )

    def _variant(self) -> sm.CfnEndpointConfig.ProductionVariantProperty:
        spec = self.spec
        pooled = bool(spec.pool_types)
        return sm.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=self.variant_name,
            # Capacity fallback (sagefit.core.shared_pool): InstancePools replace InstanceType, never
            # both, each with its priority, 1 first (API reference ProductionVariant, InstancePool;
            # stacks.variant renders a profile's pool the same way).
            instance_type=None if pooled else spec.instance_type,
            instance_pools=[
                sm.CfnEndpointConfig.InstancePoolProperty(instance_type=name, priority=priority)
                for priority, name in enumerate(spec.pool_types, start=1)
            ]
            if pooled
            else None,
            variant_instance_provision_timeout_in_seconds=spec.pool_provision_timeout_s if pooled else None,
            # The instances the members' initial copies were packed on (sagefit.core.shared_plan); every
            # pool type packs them on as many (sagefit.core.shared_pool).
            initial_instance_count=spec.initial_instances,
            managed_instance_scaling=sm.CfnEndpointConfig.ManagedInstanceScalingProperty(
                status="ENABLED",
                min_instance_count=spec.min_instances,
                max_instance_count=spec.max_instances,
                # CONSOLIDATION with its step size, from the spec (sagefit.core.assumptions.SHARED_SCALE_IN_*)
                scale_in_policy=sm.CfnEndpointConfig.ScaleInPolicyProperty(
                    strategy=spec.managed_scale_in_strategy,
                    maximum_step_size=spec.managed_scale_in_max_step,
                    cooldown_in_minutes=spec.managed_scale_in_cooldown_min,
                ),
            ),
            routing_config=sm.CfnEndpointConfig.RoutingConfigProperty(routing_strategy="LEAST_OUTSTANDING_REQUESTS"),
            volume_size_in_gb=spec.volume_size_gb,
            inference_ami_version=spec.inference_ami_version,  # the members' images' host AMI (shared_spec)
        )


class MemberComponent(Construct):
    """One member: its Model and InferenceComponent on the shared endpoint, and the metrics its
    scaling reads (the `stacks.scaling.ScalableEndpoint` protocol)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        shared: SharedLlmEndpoint,
        member: MemberSpec,
        image: ImageUri,
        rollback_error_threshold: int = 5,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = member
        self.endpoint = shared.endpoint
        self.endpoint_name = shared.endpoint_name
        self.component_name = member.component_name
        self.model = self._model(shared, "Model", member.container, image)
        # A pool type whose fit needs another environment (another tensor-parallel degree) gets a
        # Model of its own, which its Specifications entry names (as stacks.variant.pool_models).
        self.pool_models = {
            entry.instance_type: self._model(
                shared,
                pool_model_id(entry.instance_type),
                dataclasses.replace(member.container, environment=entry.environment),
                image,
            )
            for entry in member.pool
            if entry.own_model
        }
        self.rollback_alarm = cw.Alarm(
            self,
            "UpdateErrorsAlarm",
            alarm_description=f"{self.component_name}: 5XX errors; rolls back an in-flight update",
            metric=self.metric("Invocation5XXErrors", period=cdk_values.minutes(1)),
            threshold=rollback_error_threshold,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        self.inference_component = self._component(shared, member)

    def _model(
        self, shared: SharedLlmEndpoint, construct_id: str, container: ContainerSpec, image: ImageUri
    ) -> sm.CfnModel:
        model = sm.CfnModel(
            self,
            construct_id,
            execution_role_arn=shared.role.role_arn,
            primary_container=container_definition(container, image.uri),
        )
        model.node.add_dependency(shared.role.policy)
        return model

    def _component(self, shared: SharedLlmEndpoint, member: MemberSpec) -> sm.CfnInferenceComponent:
        container, update = member.container, member.update
        timeout = container.startup_timeout_s
        ic = sm.CfnInferenceComponent
        # On a pooled endpoint, one specification per instance type with the member's fit there, and
        # not the singular Specification (API reference, CreateInferenceComponent.Specifications: "You
        # can use either this parameter or the singular Specification parameter, but not both").
        pooled = bool(member.pool)
        return ic(
            self,
            "InferenceComponent",
            inference_component_name=self.component_name,
            endpoint_name=shared.endpoint.attr_endpoint_name,
            variant_name=shared.variant_name,
            specifications=[self._for_type(entry) for entry in member.pool] if pooled else None,
            specification=None
            if pooled
            else ic.InferenceComponentSpecificationProperty(
                model_name=self.model.attr_model_name,
                compute_resource_requirements=ic.InferenceComponentComputeResourceRequirementsProperty(
                    number_of_accelerator_devices_required=container.accelerators,
                    min_memory_required_in_mb=container.min_memory_mb,
                ),
                startup_parameters=ic.InferenceComponentStartupParametersProperty(
                    container_startup_health_check_timeout_in_seconds=timeout,
                    model_data_download_timeout_in_seconds=timeout,
                ),
            ),
            runtime_config=ic.InferenceComponentRuntimeConfigProperty(copy_count=update.initial_instances),
            deployment_config=ic.InferenceComponentDeploymentConfigProperty(
                rolling_update_policy=ic.InferenceComponentRollingUpdatePolicyProperty(
                    maximum_batch_size=ic.InferenceComponentCapacitySizeProperty(
                        type="CAPACITY_PERCENT", value=update.rolling_batch_percent
                    ),
                    wait_interval_in_seconds=update.rolling_wait_s,
                ),
                auto_rollback_configuration=ic.AutoRollbackConfigurationProperty(
                    alarms=[ic.AlarmProperty(alarm_name=self.rollback_alarm.alarm_name)]
                ),
            ),
        )

    def _for_type(
        self, entry: PoolMember
    ) -> sm.CfnInferenceComponent.InferenceComponentSpecificationForInstanceTypeProperty:
        """The member on one pool type: its model there, and the GPUs and memory one copy takes
        (InstanceType on every entry: the cfn-lint schema, as stacks.variant.component_specifications)."""
        ic = sm.CfnInferenceComponent
        model = self.pool_models.get(entry.instance_type, self.model)
        return ic.InferenceComponentSpecificationForInstanceTypeProperty(
            instance_type=entry.instance_type,
            model_name=model.attr_model_name,
            compute_resource_requirements=ic.InferenceComponentComputeResourceRequirementsProperty(
                number_of_accelerator_devices_required=entry.accelerators,
                min_memory_required_in_mb=entry.min_memory_mb,
            ),
            startup_parameters=ic.InferenceComponentStartupParametersProperty(
                container_startup_health_check_timeout_in_seconds=entry.startup_timeout_s,
                model_data_download_timeout_in_seconds=entry.startup_timeout_s,
            ),
        )

    # ------------------------------------------------------------------ metrics
    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Sum",
        period: Duration | None = None,
        dimensions: dict[str, str] | None = None,
    ) -> cw.Metric:
        """A SageMaker metric of this member's component (one object per distinct metric)."""
        dimensions = dimensions or {"InferenceComponentName": self.component_name}
        return cdk_values.metric(
            ENDPOINT_NAMESPACE, metric_name, tuple(dimensions.items()), statistic, period or cdk_values.minutes(5)
        )

    def metric_invocations(self, period: Duration | None = None) -> cw.Metric:
        return self.metric("Invocations", period=period)

    def metric_no_capacity_invocation_failures(self, period: Duration | None = None) -> cw.Metric:
        """Requests refused because this member has no copy (scaled to zero): its wake-up signal."""
        return self.metric("NoCapacityInvocationFailures", period=period or cdk_values.minutes(1))

    def metric_copy_count(self, period: Duration | None = None) -> cw.Metric:
        return self.metric("CopyCount", statistic="Maximum", period=period)

    def metric_backlog_size_per_instance(self, period: Duration | None = None) -> cw.Metric:
        """Async only; members are never async (Profile._joins_as_component), so never rendered."""
        return self.metric("ApproximateBacklogSizePerInstance", statistic="Average", period=period)

    def metric_has_backlog_without_capacity(self, period: Duration | None = None) -> cw.Metric:
        """Async only; members are never async (Profile._joins_as_component), so never rendered."""
        return self.metric("HasBacklogWithoutCapacity", statistic="Average", period=period)
