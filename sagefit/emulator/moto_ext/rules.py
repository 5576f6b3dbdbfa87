"""The AWS rules the local emulator enforces, in one table, and the checks that apply them.

moto 5.2.5 accepts every bad update: an instance-type change under auto scaling, a copy count of -1,
a rolling-update batch AWS refuses. sagefit's deploys are only as safe as the emulator is strict, so
the SageMaker, CloudFormation and Application Auto Scaling patches (:mod:`.sagemaker`,
:mod:`.cloudformation`, :mod:`.inference_components`, :mod:`.autoscaling`) call the checks below
before they change moto's state, and a refused call answers as AWS does: a ``ValidationException``
with a message. The bounds and names come from :mod:`sagefit.core.aws_rules` (the same table
profile validation uses), so no number is written twice.

Messages for a field outside its shape's bounds or pattern follow AWS's wording for such errors
("1 validation error detected: Value ... at ... failed to satisfy constraint: ..."). Where AWS's
wording for a semantic rule is not documented, the message is ours and :data:`RULES` says so.
:data:`RULES` (one line per rule, with its source and where it is enforced) is what the README's
emulator section repeats; ``tests/emulator/test_emulator_rules.py`` keeps the two in sync.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from moto.applicationautoscaling.exceptions import AWSValidationException
from moto.sagemaker.exceptions import ValidationError

from sagefit.core import aws_rules
from sagefit.core.aws_rules import SAGEMAKER_API, IntBound, NameRule
from sagefit.emulator.moto_ext import pools as pool_rules
from sagefit.emulator.moto_ext import variant_rules
from sagefit.emulator.moto_ext.adapters import ADAPTER_RULES

SAGEMAKER_DG = "https://docs.aws.amazon.com/sagemaker/latest/dg"
IC_COPY_COUNT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
# Application Auto Scaling's SageMaker dimensions and the resource-id kind each belongs to
# (RegisterScalableTarget, ResourceId and ScalableDimension: {AAS_API}/API_RegisterScalableTarget.html).
SAGEMAKER_DIMENSION_KINDS: dict[str, str] = {
    "sagemaker:variant:DesiredInstanceCount": "endpoint",
    "sagemaker:variant:DesiredProvisionedConcurrency": "endpoint",
    IC_COPY_COUNT_DIMENSION: "inference-component",
}
_UPDATE_DOC = f"{SAGEMAKER_DG}/endpoint-scaling-update.html"
_DELETE_DOC = f"{SAGEMAKER_DG}/endpoint-delete-with-scaling.html"
_ZERO_DOC = f"{SAGEMAKER_DG}/endpoint-auto-scaling-zero-instances.html"
# "You can't request a KmsKeyId when using an instance type with local storage. ... If you specify a
# value for KmsKeyId when using any nitro-based instances with local storage, the call to
# CreateEndpointConfig fails." (CreateEndpointConfig, KmsKeyId). botocore 1.44's copy of the same
# page says instead that the key "does not encrypt instance local storage": unverified live.
_KMS_DOC = f"{SAGEMAKER_API}/API_CreateEndpointConfig.html (KmsKeyId)"
# No API sentence: the SageMaker Python SDK leaves VolumeSizeInGB out for these families because
# "this instance family does not support attaching an ebs volume, hence volume size argument throws a
# service exception" (aws/sagemaker-python-sdk#4828, sagemaker.utils.volume_size_supported).
_VOLUME_DOC = "https://github.com/aws/sagemaker-python-sdk/pull/4828 (volume_size_supported)"
_AAS_REGISTER = f"{aws_rules.AAS_API}/API_RegisterScalableTarget.html"


@dataclass(frozen=True)
class Rule:
    """One rule the emulator enforces: what it refuses, its source, and where the check runs."""

    text: str
    source: str
    enforced: str

    def line(self) -> str:
        """The README bullet for this rule."""
        return f"{self.text} ({self.source}); enforced in {self.enforced}"


_CONFIG = "CreateEndpointConfig and AWS::SageMaker::EndpointConfig"
_COMPONENT = (
    "Create/UpdateInferenceComponent, UpdateInferenceComponentRuntimeConfig and AWS::SageMaker::InferenceComponent"
)


def _bound_rule(bound: IntBound, where: str) -> Rule:
    if bound.maximum is None:
        return Rule(f"{bound.label} at least {bound.minimum}", bound.source, where)
    return Rule(f"{bound.label} {bound.minimum} to {bound.maximum}", bound.source, where)


def _name_rule(rule: NameRule, where: str) -> Rule:
    return Rule(f"{rule.label}: at most {rule.max_length} characters, {rule.hint}", rule.source, where)


RULES: tuple[Rule, ...] = (
    Rule(
        "UpdateEndpoint fails when it would change the instance type of a variant registered with "
        "Application Auto Scaling (resource id endpoint/<endpoint>/variant/<variant>); message ours",
        _UPDATE_DOC,
        "UpdateEndpoint, and CloudFormation updates of AWS::SageMaker::Endpoint and of the "
        "AWS::SageMaker::EndpointConfig an endpoint runs on",
    ),
    Rule(
        "DeleteEndpoint is not refused for an autoscaled endpoint: Application Auto Scaling "
        "deregisters its variants' scalable targets (with their policies and scheduled actions)",
        _DELETE_DOC,
        "DeleteEndpoint and CloudFormation deletes of AWS::SageMaker::Endpoint",
    ),
    Rule(
        "Rolling update MaximumBatchSize: COPY_COUNT 5% to 50% of the component's copy count "
        "(aws_rules.rolling_batch_copy_bounds), CAPACITY_PERCENT 5 to 50",
        aws_rules.ROLLING_BATCH_PERCENT.source,
        "UpdateInferenceComponent and CloudFormation updates of AWS::SageMaker::InferenceComponent",
    ),
    _bound_rule(aws_rules.COPY_COUNT, _COMPONENT),
    _bound_rule(aws_rules.INITIAL_INSTANCE_COUNT, _CONFIG),
    _bound_rule(aws_rules.MANAGED_MIN_INSTANCES, _CONFIG),
    _bound_rule(aws_rules.MANAGED_MAX_INSTANCES, _CONFIG),
    Rule(
        "ManagedInstanceScaling MinInstanceCount not above MaxInstanceCount; message ours",
        aws_rules.MANAGED_MIN_INSTANCES.source,
        _CONFIG,
    ),
    Rule(
        "ManagedInstanceScaling MinInstanceCount 0 only with Status ENABLED, on an "
        "inference-component variant (no ModelName); the latter with AWS's message "
        "'ManagedInstanceScaling is only supported for inference component endpoints.' "
        "(seen live: hashicorp/terraform-provider-aws#45926)",
        _ZERO_DOC,
        _CONFIG,
    ),
    Rule(
        "A production variant without ModelName (inference components) needs ExecutionRoleArn on "
        "the endpoint config; message ours",
        _ZERO_DOC,
        _CONFIG,
    ),
    _name_rule(aws_rules.ENDPOINT_NAME, "CreateEndpoint, UpdateEndpoint and AWS::SageMaker::Endpoint"),
    _name_rule(aws_rules.ENDPOINT_CONFIG_NAME, _CONFIG),
    _name_rule(aws_rules.MODEL_NAME, "CreateModel and AWS::SageMaker::Model"),
    Rule(
        "ModelDataSource.S3DataSource: S3Uri, S3DataType (S3Prefix|S3Object) and CompressionType "
        "(None|Gzip) required, S3Uri at most 1024 characters, and an S3Prefix S3Uri ends with '/' "
        "(that message ours)",
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_S3ModelDataSource.html",
        "CreateModel and AWS::SageMaker::Model",
    ),
    _name_rule(aws_rules.VARIANT_NAME, _CONFIG),
    _name_rule(aws_rules.INFERENCE_COMPONENT_NAME, "CreateInferenceComponent and AWS::SageMaker::InferenceComponent"),
    _bound_rule(aws_rules.STARTUP_TIMEOUT_S, f"{_CONFIG}, and a component's StartupParameters"),
    _bound_rule(aws_rules.DOWNLOAD_TIMEOUT_S, f"{_CONFIG}, and a component's StartupParameters"),
    _bound_rule(aws_rules.VOLUME_SIZE_GB, _CONFIG),
    _bound_rule(aws_rules.SCALE_IN_COOLDOWN_MINUTES, _CONFIG),
    _bound_rule(aws_rules.SCALE_IN_MAX_STEP_SIZE, _CONFIG),
    Rule(variant_rules.AMI_RULE, aws_rules.INFERENCE_AMI_SOURCE, _CONFIG),
    Rule(
        "KmsKeyId refused when a variant's instance type has local NVMe storage (catalog local_nvme); message ours",
        _KMS_DOC,
        _CONFIG,
    ),
    Rule(
        "VolumeSizeInGB refused on instance types with local NVMe storage (catalog local_nvme); message ours",
        _VOLUME_DOC,
        _CONFIG,
    ),
    Rule(
        "RegisterScalableTarget: MinCapacity not above MaxCapacity (an omitted one is the registered "
        "target's); message ours",
        _AAS_REGISTER,
        "RegisterScalableTarget",
    ),
    Rule(
        "RegisterScalableTarget: a SageMaker scalable dimension only on its kind of resource id "
        "(variant dimensions on endpoint/<e>/variant/<v>, the copy count on inference-component/<name>)",
        _AAS_REGISTER,
        "RegisterScalableTarget",
    ),
    Rule(
        "RegisterScalableTarget: the copy-count dimension only for an inference component that exists; message ours",
        _AAS_REGISTER,
        "RegisterScalableTarget",
    ),
    *(Rule(text, source, enforced) for text, source, enforced in ADAPTER_RULES),
    *(Rule(*text) for text in pool_rules.RULE_TEXTS),
)


# -------------------------------------------------------------------------------- primitives


def constraint_error(value: Any, path: str, constraint: str) -> ValidationError:
    return ValidationError(
        message=f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: {constraint}"
    )


def check_name(rule: NameRule, value: str, path: str) -> None:
    """Refuse a name longer than the shape's maximum or off its pattern, as AWS words it."""
    if len(value) > rule.max_length:
        raise constraint_error(value, path, f"Member must have length less than or equal to {rule.max_length}")
    if re.fullmatch(rule.pattern, value) is None:
        raise constraint_error(value, path, f"Member must satisfy regular expression pattern: {rule.pattern}")


def check_bound(bound: IntBound, value: Any, path: str) -> None:
    """Refuse a number outside the shape's range. CloudFormation may hand numbers over as strings."""
    if value is None:
        return
    number = int(value)
    if number < bound.minimum:
        raise constraint_error(number, path, f"Member must have value greater than or equal to {bound.minimum}")
    if bound.maximum is not None and number > bound.maximum:
        raise constraint_error(number, path, f"Member must have value less than or equal to {bound.maximum}")


# -------------------------------------------------------------------------------- SageMaker


def check_endpoint_config_fields(name: str, variants: list[dict[str, Any]]) -> None:
    """CreateEndpointConfig's field checks (names and bounds of the request's shapes), which AWS
    runs before anything else; moto's instance-type and model checks come next."""
    check_name(aws_rules.ENDPOINT_CONFIG_NAME, name, "endpointConfigName")
    for index, variant in enumerate(variants, start=1):
        path = f"productionVariants.{index}.member"
        check_name(aws_rules.VARIANT_NAME, variant["VariantName"], f"{path}.variantName")
        check_bound(
            aws_rules.INITIAL_INSTANCE_COUNT, variant.get("InitialInstanceCount"), f"{path}.initialInstanceCount"
        )
        _check_timeouts(variant, path)
        check_bound(aws_rules.VOLUME_SIZE_GB, variant.get("VolumeSizeInGB"), f"{path}.volumeSizeInGB")
        pool_rules.check_pool_fields(variant, path)
        variant_rules.check_ami(variant.get("InferenceAmiVersion"), f"{path}.inferenceAmiVersion")
        scaling = variant.get("ManagedInstanceScaling") or {}
        check_bound(
            aws_rules.MANAGED_MIN_INSTANCES,
            scaling.get("MinInstanceCount"),
            f"{path}.managedInstanceScaling.minInstanceCount",
        )
        check_bound(
            aws_rules.MANAGED_MAX_INSTANCES,
            scaling.get("MaxInstanceCount"),
            f"{path}.managedInstanceScaling.maxInstanceCount",
        )
        policy = scaling.get("ScaleInPolicy") or {}
        check_bound(
            aws_rules.SCALE_IN_COOLDOWN_MINUTES,
            policy.get("CooldownInMinutes"),
            f"{path}.managedInstanceScaling.scaleInPolicy.cooldownInMinutes",
        )
        check_bound(
            aws_rules.SCALE_IN_MAX_STEP_SIZE,
            policy.get("MaximumStepSize"),
            f"{path}.managedInstanceScaling.scaleInPolicy.maximumStepSize",
        )


def check_endpoint_config(
    variants: list[dict[str, Any]], *, execution_role_arn: str | None, kms_key_id: str | None
) -> None:
    """The rules between fields of an endpoint config (after :func:`check_endpoint_config_fields`
    and moto's own checks): managed instance scaling, model-less variants, local storage."""
    for variant in variants:
        _check_managed_scaling(variant)
        if "ModelName" not in variant and not execution_role_arn:
            raise ValidationError(
                message=f"Production variant '{variant['VariantName']}' has no ModelName: an endpoint config "
                "for inference components requires ExecutionRoleArn."
            )
        for instance_type in pool_rules.variant_types(variant):  # every pool's type, or the one
            variant_rules.check_local_storage({**variant, "InstanceType": instance_type}, kms_key_id)


def _check_timeouts(container: dict[str, Any], path: str) -> None:
    check_bound(
        aws_rules.STARTUP_TIMEOUT_S,
        container.get("ContainerStartupHealthCheckTimeoutInSeconds"),
        f"{path}.containerStartupHealthCheckTimeoutInSeconds",
    )
    check_bound(
        aws_rules.DOWNLOAD_TIMEOUT_S,
        container.get("ModelDataDownloadTimeoutInSeconds"),
        f"{path}.modelDataDownloadTimeoutInSeconds",
    )


def _check_managed_scaling(variant: dict[str, Any]) -> None:
    scaling = variant.get("ManagedInstanceScaling")
    if not scaling:
        return
    low, high = scaling.get("MinInstanceCount"), scaling.get("MaxInstanceCount")
    low = None if low is None else int(low)
    if aws_rules.capacity_range_problem(low, None if high is None else int(high), "ManagedInstanceScaling"):
        raise ValidationError(message=f"MinInstanceCount {low} cannot be greater than MaxInstanceCount {high}.")
    if low == 0:
        if scaling.get("Status") != "ENABLED":
            raise ValidationError(message="MinInstanceCount 0 requires ManagedInstanceScaling Status ENABLED.")
        if "ModelName" in variant:
            raise ValidationError(message="ManagedInstanceScaling is only supported for inference component endpoints.")


def check_endpoint_update(
    endpoint_name: str,
    current: Iterable[dict[str, Any]],
    new: Iterable[dict[str, Any]],
    registered_variants: set[str],
) -> None:
    """UpdateEndpoint may not change the instance type of an autoscaled variant ({_UPDATE_DOC}).

    ``registered_variants`` are the variant names with a scalable target; changing the model is
    allowed ("There is one exception. If you change the model ... auto scaling allows the update").
    """
    # A pooled variant's instance types are its pools' in priority order: a pool change counts as an
    # instance-type change (our reading; sagefit.core.naming.pool_slug).
    before = {v["VariantName"]: ", ".join(pool_rules.variant_types(v)) for v in current}
    for variant in new:
        name = variant["VariantName"]
        types = ", ".join(pool_rules.variant_types(variant))
        if name in registered_variants and name in before and before[name] != types:
            raise ValidationError(
                message=f"The instance type of variant '{name}' on endpoint '{endpoint_name}' cannot change from "
                f"{before[name]} to {types} while the variant is registered as a scalable "
                "target with Application Auto Scaling. Deregister the scalable target before the update."
            )


def check_inference_component(
    name: str | None,
    specifications: Iterable[dict[str, Any] | None],
    runtime_config: dict[str, Any] | None,
    runtime_path: str = "runtimeConfig",
) -> None:
    """Name (when creating), startup timeouts and copy count of an inference component request."""
    if name is not None:
        check_name(aws_rules.INFERENCE_COMPONENT_NAME, name, "inferenceComponentName")
    for spec in specifications:
        _check_timeouts((spec or {}).get("StartupParameters") or {}, "specification.startupParameters")
    if runtime_config is not None:
        check_bound(aws_rules.COPY_COUNT, runtime_config.get("CopyCount"), f"{runtime_path}.copyCount")


def check_rolling_update(deployment_config: dict[str, Any] | None, copy_count: int | None) -> None:
    """MaximumBatchSize within 5%-50% of the copies, or 5-50 percent (aws_rules.rolling_batch_problem).
    A component without a known copy count has nothing to compare a COPY_COUNT batch with."""
    policy = (deployment_config or {}).get("RollingUpdatePolicy")
    if not policy:
        return
    size = policy.get("MaximumBatchSize") or {}
    size_type, value = size.get("Type"), size.get("Value")
    if value is None or (size_type != "CAPACITY_PERCENT" and copy_count is None):
        return
    problem = aws_rules.rolling_batch_problem(str(size_type), int(value), copy_count or 0)
    if problem:
        raise ValidationError(message=f"Invalid RollingUpdatePolicy: {problem}.")


# -------------------------------------------------------------------------------- Application Auto Scaling


def check_scalable_target(
    namespace: str,
    resource_id: str,
    dimension: str,
    capacity: tuple[int | None, int | None],
    registered: tuple[int | None, int | None] | None,
    component_exists: bool,
) -> None:
    """RegisterScalableTarget: capacity order, dimension/resource kind, and an existing component.

    ``capacity`` is the request's (MinCapacity, MaxCapacity); ``registered`` the existing target's,
    which fill in whichever the request leaves out (an update of a registered target)."""
    low, high = capacity
    if registered is not None:
        low = registered[0] if low is None else low
        high = registered[1] if high is None else high
    if aws_rules.capacity_range_problem(low, high, "scalable target"):
        raise AWSValidationException("Minimum capacity cannot be greater than maximum capacity")
    if namespace != "sagemaker" or dimension not in SAGEMAKER_DIMENSION_KINDS:
        return  # moto checks the rest of the namespaces and dimensions itself
    if resource_id.split("/", 1)[0] != SAGEMAKER_DIMENSION_KINDS[dimension]:
        raise AWSValidationException("Unsupported service namespace, resource type or scalable dimension")
    if dimension == IC_COPY_COUNT_DIMENSION and not component_exists:
        raise AWSValidationException(
            f"Inference component '{resource_id.split('/', 1)[1]}' does not exist; register its copy count "
            "after creating it."
        )
