"""`LlmEndpoint`: the SageMaker model, endpoint config, endpoint (and inference component) for a plan.

The Model and EndpointConfig carry no physical names, so CloudFormation can replace them when the
plan changes (new token limits, a new image) and the endpoint moves to the new config with a
blue/green update instead of failing on a name clash. An instance-type change on an always-on or async
endpoint is a new endpoint instead (its name carries the instance type: see
:mod:`sagefit.core.naming` for the AWS rule that forces it).

Every name and number comes from the plan's :class:`~sagefit.core.spec.DeploymentSpec`; the
execution role lives in :mod:`stacks.execution_role`, the async output in
:mod:`stacks.async_destinations`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sm
from aws_cdk import aws_sns as sns
from constructs import Construct

from sagefit.core.planner import Plan
from stacks import cdk_values, variant
from stacks.async_destinations import async_destinations
from stacks.container import container_definition
from stacks.execution_role import acknowledge_execution_role, execution_role
from stacks.images import ImageUri
from stacks.network import Placement, acknowledge_nvme, endpoint_config_network, model_network

ENDPOINT_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
COMPONENT_NAMESPACE = "/aws/sagemaker/InferenceComponents"


@dataclass(frozen=True)
class LlmEndpointProps:
    """What an endpoint needs: the finished plan, its image and the stack's encryption key.

    The endpoint's names are the plan's (``plan.spec.names``): `sagefit status`, `invoke`, `resume`
    and the hard cap find the endpoint by them, so a construct option cannot rename it.

    :param rollback_error_threshold: 5XX errors in one minute that roll an update back.
    """

    plan: Plan
    image: ImageUri
    encryption_key: kms.IKey
    rollback_error_threshold: int = 5
    placement: Placement | None = None
    """The VPC subnets and groups (``network:``); None: SageMaker's own network. The stack resolves
    it (:func:`stacks.new_vpc.stack_placement`), creating the VPC when the profile asks for one."""


class LlmEndpoint(Construct):
    """A right-sized SageMaker endpoint for one model, in the plan's scaling mode."""

    def __init__(self, scope: Construct, construct_id: str, props: LlmEndpointProps) -> None:
        super().__init__(scope, construct_id)
        # Looked up once each: every lookup of a CDK attribute is a jsii round trip.
        self.stack = Stack.of(self)
        self.account = self.stack.account
        """The stack's account: a token for an environment-agnostic stack."""
        self.plan = props.plan
        self.spec = spec = props.plan.spec
        self.props = props
        # A caller that builds the endpoint alone still gets the profile's existing VPC; a new VPC
        # must come from the stack (stacks.new_vpc.stack_placement), which creates it.
        if props.placement is None and spec.network.new_vpc is not None:
            raise ValueError(f"{spec.names.stack}: network.new_vpc needs the placement stack_placement() creates")
        self.placement = props.placement or Placement.existing(spec.network)
        self.mode = spec.mode
        self.endpoint_name = spec.names.endpoint
        self.variant_name = spec.names.variant
        self.inference_component_name = spec.names.inference_component
        self.uses_inference_component = self.mode.uses_inference_component
        self.output_bucket: s3.Bucket | None = None
        self.success_topic: sns.Topic | None = None
        self.error_topic: sns.Topic | None = None

        self.role = execution_role(self, self.stack, spec, props.image, props.encryption_key)
        if self.mode.is_async:
            destinations = async_destinations(self, props.encryption_key, self.role)
            self.output_bucket = destinations.output_bucket
            self.success_topic = destinations.success_topic
            self.error_topic = destinations.error_topic
        acknowledge_execution_role(self.role, self, spec, self.output_bucket)
        self._role_arn = self.role.role_arn
        self._role_policy = self.role.policy
        self.model = self._model("Model", spec.container.environment)
        self.pool_models = variant.pool_models(spec, self._model)
        self.rollback_alarm = self._rollback_alarm()
        self.endpoint_config = self._endpoint_config()
        self.endpoint = sm.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            deployment_config=self._deployment_config(),
            retain_all_variant_properties=self._retain_variant_properties(),
        )
        self.inference_component = self._inference_component() if self.uses_inference_component else None

    # ------------------------------------------------------------------ resources
    def _model(self, construct_id: str, environment: Mapping[str, str]) -> sm.CfnModel:
        """The plan's Model ("Model"), or a pool member's with its own environment (:mod:`stacks.variant`)."""
        container = container_definition(self.spec.container, self.props.image.uri, environment)
        network = model_network(self.placement, self.spec.network.isolation)
        model = sm.CfnModel(
            self, construct_id, execution_role_arn=self._role_arn, primary_container=container, **network
        )
        self._after_role_policy(model)
        return model

    def _after_role_policy(self, resource: Construct) -> None:
        """SageMaker checks the role's permissions on create: wait for its policy, not just the role."""
        if self._role_policy is not None:
            resource.node.add_dependency(self._role_policy)

    def _variant(self) -> sm.CfnEndpointConfig.ProductionVariantProperty:
        if self.uses_inference_component:
            return variant.component_variant(self.spec, self.variant_name)
        return variant.model_variant(self.spec, self.variant_name, self.model, self.pool_models)

    def _endpoint_config(self) -> sm.CfnEndpointConfig:
        spec = self.spec
        async_config = None
        if self.mode.is_async:
            assert self.output_bucket and self.success_topic and self.error_topic
            async_config = sm.CfnEndpointConfig.AsyncInferenceConfigProperty(
                output_config=sm.CfnEndpointConfig.AsyncInferenceOutputConfigProperty(
                    s3_output_path=self.output_bucket.s3_url_for_object("output"),
                    s3_failure_path=self.output_bucket.s3_url_for_object("failure"),
                    kms_key_id=self.props.encryption_key.key_arn,
                    notification_config=sm.CfnEndpointConfig.AsyncInferenceNotificationConfigProperty(
                        success_topic=self.success_topic.topic_arn,
                        error_topic=self.error_topic.topic_arn,
                    ),
                ),
                client_config=sm.CfnEndpointConfig.AsyncInferenceClientConfigProperty(
                    max_concurrent_invocations_per_instance=spec.max_concurrent_requests
                ),
            )
        # Instances with local NVMe store reject KmsKeyId (CreateEndpointConfig fails); their
        # instance store is encrypted by the hardware instead.
        kms_key_id = None if spec.local_nvme else self.props.encryption_key.key_arn
        config = sm.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[self._variant()],
            kms_key_id=kms_key_id,
            async_inference_config=async_config,
            execution_role_arn=self._role_arn if self.uses_inference_component else None,
            **endpoint_config_network(self.placement, spec.network.isolation, self.uses_inference_component),
        )
        self._after_role_policy(config)
        acknowledge_nvme(config, spec)
        return config

    def _rollback_alarm(self) -> cw.Alarm:
        """Server errors during an update roll the endpoint (or component) back."""
        return cw.Alarm(
            self,
            "UpdateErrorsAlarm",
            alarm_description=f"{self.endpoint_name}: 5XX errors; rolls back an in-flight update",
            metric=self.metric_server_errors(period=cdk_values.minutes(1)),
            threshold=self.props.rollback_error_threshold,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )

    def _retain_variant_properties(self) -> bool | None:
        """Keep the instance count autoscaling set when a new endpoint config is deployed.

        UpdateEndpoint applies the new config's InitialInstanceCount unless RetainAllVariantProperties
        is true (botocore sagemaker UpdateEndpoint: "The default is false"), which would start an
        instance on an async endpoint autoscaling holds at 0, or shrink a scaled-out always-on fleet.
        CloudFormation passes it on update (AWS::SageMaker::Endpoint schema: a write-only boolean next
        to DeploymentConfig, with no exclusion between them; UpdateEndpoint takes both). It retains
        properties of variants with the same name, which every update of this endpoint keeps: an
        instance-type change is a new endpoint, not an update (:mod:`sagefit.core.naming`).
        Inference-component endpoints have no variant count to keep (managed instance scaling owns
        it), so they leave the property out.
        """
        return None if self.uses_inference_component else True

    def _deployment_config(self) -> sm.CfnEndpoint.DeploymentConfigProperty | None:
        if self.uses_inference_component:
            return None
        update = self.spec.update
        return sm.CfnEndpoint.DeploymentConfigProperty(
            blue_green_update_policy=sm.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=sm.CfnEndpoint.TrafficRoutingConfigProperty(
                    type="ALL_AT_ONCE", wait_interval_in_seconds=update.blue_green_wait_s
                ),
                termination_wait_in_seconds=update.termination_wait_s,
                maximum_execution_timeout_in_seconds=update.max_execution_s,
            ),
            auto_rollback_configuration=sm.CfnEndpoint.AutoRollbackConfigProperty(
                alarms=[sm.CfnEndpoint.AlarmProperty(alarm_name=self.rollback_alarm.alarm_name)]
            ),
        )

    def _inference_component(self) -> sm.CfnInferenceComponent:
        container = self.spec.container
        timeout = container.startup_timeout_s
        component = sm.CfnInferenceComponent(
            self,
            "InferenceComponent",
            inference_component_name=self.inference_component_name,
            endpoint_name=self.endpoint.attr_endpoint_name,
            variant_name=self.variant_name,
            # A pooled endpoint: one specification per instance type (stacks.variant), not both.
            specifications=variant.component_specifications(self.spec, self.model, self.pool_models)
            if self.spec.pool
            else None,
            specification=None
            if self.spec.pool
            else sm.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                model_name=self.model.attr_model_name,
                compute_resource_requirements=sm.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
                    number_of_accelerator_devices_required=container.accelerators,
                    min_memory_required_in_mb=container.min_memory_mb,
                ),
                startup_parameters=sm.CfnInferenceComponent.InferenceComponentStartupParametersProperty(
                    container_startup_health_check_timeout_in_seconds=timeout,
                    model_data_download_timeout_in_seconds=timeout,
                ),
            ),
            # One copy to create with (SageMaker refuses a component created at copy count 0: see
            # AWS_RULES "Inference components and scale to zero"), and the same constant forever after.
            # The copy count belongs to autoscaling and the hard cap once the component exists. The
            # CloudFormation handler is not public (aws-cloudformation-resource-providers-sagemaker
            # has no InferenceComponent handler); its schema makes RuntimeConfig/CopyCount
            # write-only, reports DesiredCopyCount/CurrentCopyCount read-only, and grants the update
            # handler UpdateInferenceComponentRuntimeConfig next to UpdateInferenceComponent: a
            # runtime-config call made when the template's RuntimeConfig changes. A constant never
            # changes, so no stack update asks for a copy count. Unverified: whether the handler also
            # resends RuntimeConfig with UpdateInferenceComponent when the Specification changes
            # (UpdateInferenceComponent accepts RuntimeConfig); `sagefit diff` warns about that case.
            runtime_config=sm.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(
                copy_count=self.spec.update.initial_instances
            ),
            deployment_config=sm.CfnInferenceComponent.InferenceComponentDeploymentConfigProperty(
                # "The value must be between 5% to 50% of the copy count of the inference component"
                # (API reference, InferenceComponentRollingUpdatePolicy.MaximumBatchSize): at 1 copy no
                # COPY_COUNT batch is valid (sagefit.core.aws_rules.rolling_batch_copy_bounds), and the
                # copy count moves from 0 to max_capacity with autoscaling. CAPACITY_PERCENT 50 is inside
                # 5-50% at every copy count. RollbackMaximumBatchSize is left out: absent means 100%,
                # a blue/green rollback that brings back every old copy at once (same shape's docs).
                rolling_update_policy=sm.CfnInferenceComponent.InferenceComponentRollingUpdatePolicyProperty(
                    maximum_batch_size=sm.CfnInferenceComponent.InferenceComponentCapacitySizeProperty(
                        type="CAPACITY_PERCENT", value=self.spec.update.rolling_batch_percent
                    ),
                    wait_interval_in_seconds=self.spec.update.rolling_wait_s,
                ),
                auto_rollback_configuration=sm.CfnInferenceComponent.AutoRollbackConfigurationProperty(
                    alarms=[sm.CfnInferenceComponent.AlarmProperty(alarm_name=self.rollback_alarm.alarm_name)]
                ),
            ),
        )
        return component

    # ------------------------------------------------------------------ metrics
    def _dimensions(self) -> dict[str, str]:
        if self.inference_component_name:
            return {"InferenceComponentName": self.inference_component_name}
        return {"EndpointName": self.endpoint_name, "VariantName": self.variant_name}

    def metric(
        self,
        metric_name: str,
        *,
        namespace: str = ENDPOINT_NAMESPACE,
        statistic: str = "Sum",
        period: Duration | None = None,
        dimensions: dict[str, str] | None = None,
    ) -> cw.Metric:
        """Any SageMaker metric of this endpoint (or its inference component).

        Metrics are immutable, so one object per distinct metric serves every alarm, scaling policy
        and dashboard widget of the stack that asks for it (each creation is a jsii round trip).
        """
        dimensions = dimensions or self._dimensions()
        return cdk_values.metric(
            namespace, metric_name, tuple(dimensions.items()), statistic, period or cdk_values.minutes(5)
        )

    def metric_invocations(self, period: Duration | None = None) -> cw.Metric:
        return self.metric("Invocations", period=period)

    def metric_model_latency(self, period: Duration | None = None) -> cw.Metric:
        return self.metric("ModelLatency", statistic="p90", period=period)

    def metric_server_errors(self, period: Duration | None = None) -> cw.Metric:
        return self.metric("Invocation5XXErrors", period=period)

    def metric_client_errors(self, period: Duration | None = None) -> cw.Metric:
        return self.metric("Invocation4XXErrors", period=period)

    def metric_gpu_utilization(self, period: Duration | None = None) -> cw.Metric:
        namespace = COMPONENT_NAMESPACE if self.inference_component_name else INSTANCE_NAMESPACE
        return self.metric("GPUUtilization", namespace=namespace, statistic="Average", period=period)

    def metric_gpu_memory_utilization(self, period: Duration | None = None) -> cw.Metric:
        namespace = COMPONENT_NAMESPACE if self.inference_component_name else INSTANCE_NAMESPACE
        return self.metric("GPUMemoryUtilization", namespace=namespace, statistic="Average", period=period)

    def metric_no_capacity_invocation_failures(self, period: Duration | None = None) -> cw.Metric:
        """Requests refused because the inference component has no copy (scaled to zero)."""
        return self.metric("NoCapacityInvocationFailures", period=period or cdk_values.minutes(1))

    def metric_backlog_size_per_instance(self, period: Duration | None = None) -> cw.Metric:
        return self.metric(
            "ApproximateBacklogSizePerInstance",
            statistic="Average",
            period=period,
            dimensions={"EndpointName": self.endpoint_name},
        )

    def metric_has_backlog_without_capacity(self, period: Duration | None = None) -> cw.Metric:
        """1 while async requests wait and no instance runs: the signal to scale out from zero."""
        return self.metric(
            "HasBacklogWithoutCapacity",
            statistic="Average",
            period=period or cdk_values.minutes(1),
            dimensions={"EndpointName": self.endpoint_name},
        )

    def metric_copy_count(self, period: Duration | None = None) -> cw.Metric:
        """Inference component copies running (scale-to-zero only)."""
        return self.metric("CopyCount", statistic="Maximum", period=period)

    # ------------------------------------------------------------------ cdk-nag
    @cached_property
    def nag_account_region(self) -> tuple[str, str]:
        """The stack's account and region as cdk-nag spells them in a finding's ARN: the value, or
        ``<AWS::AccountId>`` / ``<AWS::Region>`` for an environment-agnostic stack."""
        account, region = self.account, self.stack.region
        return (
            "<AWS::AccountId>" if Token.is_unresolved(account) else account,
            "<AWS::Region>" if Token.is_unresolved(region) else region,
        )

    # ------------------------------------------------------------------ grants
    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call InvokeEndpoint (and InvokeEndpointAsync) on this endpoint only."""
        stack = self.stack
        arn = stack.format_arn(service="sagemaker", resource="endpoint", resource_name=self.endpoint_name.lower())
        actions = ["sagemaker:InvokeEndpoint"]
        if self.mode.is_async:
            actions.append("sagemaker:InvokeEndpointAsync")
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=actions, resource_arns=[arn])
        if self.output_bucket is not None:
            self.output_bucket.grant_read_write(grantee)
        return grant
