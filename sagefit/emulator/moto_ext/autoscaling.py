"""Application Auto Scaling in moto: the inference-component copy-count dimension, and the checks
of :func:`.rules.check_scalable_target` on RegisterScalableTarget.

sagefit scales a model's copies, down to zero, with the scalable dimension
``sagemaker:inference-component:DesiredCopyCount`` on resource ids ``inference-component/<name>``
(Application Auto Scaling API reference, RegisterScalableTarget:
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html).
moto 5.2.5 rejects that dimension, and registers a target whose MinCapacity exceeds its
MaxCapacity or whose component does not exist. Its CloudFormation skips
``AWS::ApplicationAutoScaling::ScalableTarget`` with a warning, so a stack deployed with the CDK CLI
had no scalable target at all: nothing held its bounds, and the instance-type rule of
:func:`.rules.check_endpoint_update` never saw a registered variant. :func:`install` adds the
dimension, the checks and the resource; call it only through
:func:`sagefit.emulator.moto_ext.install_moto_extensions`.
"""

from __future__ import annotations

import functools
from enum import Enum, unique
from typing import Any, cast

from moto.applicationautoscaling.models import ApplicationAutoscalingBackend, applicationautoscaling_backends

from sagefit.emulator.moto_ext.rules import IC_COPY_COUNT_DIMENSION, check_scalable_target

SCALABLE_TARGET_CFN_TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"
# The resource's create-only properties: changing one replaces the target (the CloudFormation resource
# schema aws-applicationautoscaling-scalabletarget.json, createOnlyProperties; user guide:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-applicationautoscaling-scalabletarget.html).
_KEY_PROPERTIES = ("ServiceNamespace", "ResourceId", "ScalableDimension")
# "SuspendedState ... If you don't specify ... the default is false for all" (RegisterScalableTarget,
# SuspendedState; API_SuspendedState.html): DescribeScalableTargets then reports all three false.
_NOT_SUSPENDED = {
    "DynamicScalingInSuspended": False,
    "DynamicScalingOutSuspended": False,
    "ScheduledScalingSuspended": False,
}

EXTENSIONS: list[str] = [
    "Application Auto Scaling accepts the sagemaker:inference-component:DesiredCopyCount dimension "
    "(resource id inference-component/<name>, MinCapacity 0 allowed)",
    "Application Auto Scaling refuses a scalable target AWS refuses (MinCapacity above MaxCapacity, "
    "a SageMaker dimension on another kind of resource, the copy count of a missing inference component)",
    "CloudFormation registers, updates and deregisters AWS::ApplicationAutoScaling::ScalableTarget with its "
    "ScheduledActions and SuspendedState (moto skipped it with a warning); a new ResourceId, ScalableDimension "
    "or ServiceNamespace replaces it, any other change re-registers it with the template's values only",
]


def _patch_register_checks() -> None:
    """Run :func:`.rules.check_scalable_target` before moto registers or updates a target."""
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
    from moto.sagemaker.models import sagemaker_backends

    from sagefit.emulator.moto_ext.inference_components import components_of

    original = ApplicationAutoscalingBackend.register_scalable_target

    @functools.wraps(original)
    def register_scalable_target(
        self: ApplicationAutoscalingBackend,
        namespace: str,
        r_id: str,
        dimension: str,
        min_capacity: int | None,
        max_capacity: int | None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        existing = self.targets.get(dimension, {}).get(r_id)
        registered = None if existing is None else (existing.min_capacity, existing.max_capacity)
        component = r_id.split("/", 1)[-1]
        exists = component in components_of(sagemaker_backends[self.account_id][self.region_name])
        check_scalable_target(namespace, r_id, dimension, (min_capacity, max_capacity), registered, exists)
        return original(self, namespace, r_id, dimension, min_capacity, max_capacity, *args, **kwargs)

    setattr(ApplicationAutoscalingBackend, "register_scalable_target", register_scalable_target)


def install() -> None:
    """Add the copy-count dimension, the registration checks and the CloudFormation resource."""
    _add_copy_count_dimension()
    _patch_register_checks()
    _register_cloudformation_model()


def _add_copy_count_dimension() -> None:
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
    # mypy reads the functional Enum API only with literal members; these are computed, so say what it returns.
    extended = unique(cast("type[Enum]", Enum("ScalableDimensionValueSet", members, module=aas_models.__name__)))
    setattr(aas_models, "ScalableDimensionValueSet", extended)
    setattr(aas_responses, "ScalableDimensionValueSet", extended)


# -------------------------------------------------------------------------------- CloudFormation


class CfnScalableTarget:
    """What CloudFormation keeps for one registered target: its key. ``Ref`` is
    ``<resource id>|<dimension>|<namespace>``, as AWS CloudFormation returns it (resource reference,
    "Return values")."""

    def __init__(self, namespace: str, resource_id: str, dimension: str) -> None:
        self.key = (namespace, resource_id, dimension)

    @property
    def physical_resource_id(self) -> str:
        namespace, resource_id, dimension = self.key
        return f"{resource_id}|{dimension}|{namespace}"

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()


def _backend(account_id: str, region_name: str) -> ApplicationAutoscalingBackend:
    backend: ApplicationAutoscalingBackend = applicationautoscaling_backends[account_id][region_name]
    return backend


def _register_from_template(props: dict[str, Any], account_id: str, region_name: str) -> CfnScalableTarget:
    """RegisterScalableTarget with the template's values (numbers may come as strings), then its
    scheduled actions: those the template no longer lists are deleted, as an update in AWS does."""
    backend = _backend(account_id, region_name)
    namespace, resource_id, dimension = (str(props[key]) for key in _KEY_PROPERTIES)
    suspended = {
        **_NOT_SUSPENDED,
        **{k: str(v).lower() == "true" for k, v in (props.get("SuspendedState") or {}).items()},
    }
    backend.register_scalable_target(
        namespace,
        resource_id,
        dimension,
        int(props["MinCapacity"]),
        int(props["MaxCapacity"]),
        str(props.get("RoleARN") or ""),
        cast(str, suspended),  # moto stores and returns the dict as given
    )
    wanted = {str(a["ScheduledActionName"]): a for a in props.get("ScheduledActions") or []}
    key = (namespace, resource_id, dimension)
    for action in list(backend.scheduled_actions):
        action_key = (action.service_namespace, action.resource_id, action.scalable_dimension)
        if action_key == key and action.scheduled_action_name not in wanted:
            backend.delete_scheduled_action(namespace, action.scheduled_action_name, resource_id, dimension)
    for name, action in wanted.items():
        target_action = {k: int(v) for k, v in (action.get("ScalableTargetAction") or {}).items()}
        backend.put_scheduled_action(
            namespace,
            str(action["Schedule"]),
            str(action.get("Timezone") or "UTC"),
            name,
            resource_id,
            dimension,
            action.get("StartTime"),
            action.get("EndTime"),
            cast(str, target_action),
        )
    return CfnScalableTarget(namespace, resource_id, dimension)


def deregister_with_policies(backend: ApplicationAutoscalingBackend, key: tuple[str, str, str]) -> bool:
    """DeregisterScalableTarget, which "deletes the scaling policies and the scheduled actions that are
    associated with it" (DeregisterScalableTarget API reference). False when no such target exists."""
    _, resource_id, dimension = key
    if resource_id not in backend.targets.get(dimension, {}):
        return False
    for policy in list(backend.policies.values()):
        if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == key:
            backend.delete_scaling_policy(policy.policy_name, *key)
    backend.scheduled_actions = [
        a for a in backend.scheduled_actions if (a.service_namespace, a.resource_id, a.scalable_dimension) != key
    ]
    backend.deregister_scalable_target(*key)
    return True


class ScalableTargetResource:
    """The class side of moto's CloudFormation interface for a scalable target (combined with
    ``CloudFormationModel`` at install, as :mod:`.cloudformation` does for inference components)."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return SCALABLE_TARGET_CFN_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> CfnScalableTarget:
        return _register_from_template(cloudformation_json["Properties"], account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CfnScalableTarget,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CfnScalableTarget:
        """Only the properties CloudFormation sees changed reach this call (moto compares the
        templates, as CloudFormation does), so a target the hard cap holds at zero keeps its capped
        bounds through any update that leaves the target's own properties alone."""
        props = cloudformation_json["Properties"]
        key = tuple(str(props[k]) for k in _KEY_PROPERTIES)
        created = _register_from_template(props, account_id, region_name)
        if key != original_resource.key:  # a replacement: the old target goes once the new one exists
            deregister_with_policies(_backend(account_id, region_name), original_resource.key)
        return created

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        """``resource_name`` is the physical id. A target already gone (deleting its endpoint
        deregistered it) counts as deleted, as a stack deletion in AWS does not fail on it."""
        resource_id, dimension, namespace = resource_name.split("|")
        deregister_with_policies(_backend(account_id, region_name), (namespace, resource_id, dimension))


def _register_cloudformation_model() -> None:
    """Make the scalable target a moto CloudFormation resource (see cloudformation._register_cloudformation_model
    for why the subclass is defined here and moto's caches are cleared)."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    class ScalableTargetCloudFormationModel(ScalableTargetResource, CloudFormationModel):
        """moto's CloudFormation entry for AWS::ApplicationAutoScaling::ScalableTarget."""

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    if parsing.get_model_map().get(SCALABLE_TARGET_CFN_TYPE) is not ScalableTargetCloudFormationModel:
        raise RuntimeError(f"could not register {SCALABLE_TARGET_CFN_TYPE} with moto's CloudFormation")
