"""Capacity reads and writes on Application Auto Scaling and SageMaker, shared by the hard cap and
``sagefit resume`` (and the reads by ``sagefit status``).

The two write paths are the same calls with different arguments:

- cap: the scalable target gets the capped capacity as minimum and maximum with dynamic scale-out and
  scheduled scaling suspended, then the copy / instance count is set to the capped capacity. Where the
  endpoint is deleted instead, the scalable target is deregistered first, then the endpoint deleted.
- restore (``sagefit resume``): the scalable target gets the plan's bounds with nothing suspended.

Each write returns :class:`Done`, what it did in words, for the announcement or the resume report.

Standard library and boto3/botocore only: part of the Lambda asset (see ``__init__.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING or __package__:  # imported as sagefit.hardcap.action (tests, sagefit.ops)
    from .config import CapConfig, Clients
else:  # a top-level module in the Lambda asset
    from config import CapConfig, Clients

NAMESPACE = "sagemaker"

CAPPED_SUSPENSION = {
    "DynamicScalingInSuspended": False,
    "DynamicScalingOutSuspended": True,
    "ScheduledScalingSuspended": True,
}
"""Scale-in stays allowed; scale-out and schedules would bring capacity (and cost) back."""
RESUMED_SUSPENSION = {
    "DynamicScalingInSuspended": False,
    "DynamicScalingOutSuspended": False,
    "ScheduledScalingSuspended": False,
}

_NOT_FOUND_CODES = {"ResourceNotFoundException", "NotFoundException", "ObjectNotFoundException"}
"""Explicit not-found codes: SageMaker (some calls), Budgets, and Application Auto Scaling
(ObjectNotFoundException, DeregisterScalableTarget API reference, Errors)."""
_NOT_FOUND_TEXT = ("could not find", "not found", "does not exist")
"""SageMaker's Describe*/Delete* calls and CloudFormation's DescribeStacks report a missing resource
as a ValidationException whose message says so ("Could not find endpoint ...", "Stack with id X does
not exist"); moto words Application Auto Scaling's missing target as "No scalable target found"."""


# --------------------------------------------------------------------------- errors
def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(exc)


def not_found(exc: Exception) -> bool:
    """Whether an AWS error means "no such resource" (the one rule for the cap, status and resume)."""
    code = error_code(exc)
    if code in _NOT_FOUND_CODES:
        return True
    text = error_message(exc).lower()
    # CloudFormation's query API names the code ValidationError, not ValidationException ("An error
    # occurred (ValidationError) when calling the ListStackResources operation: Stack with id X does not
    # exist"; CloudFormation API Reference, Common Errors).
    return code in ("ValidationException", "ValidationError") and (
        any(s in text for s in _NOT_FOUND_TEXT) or "no scalable target found" in text
    )


# --------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class Capacity:
    """Copies of an inference component, or instances of an endpoint variant."""

    current: int
    desired: int


def _capacity(data: Mapping[str, Any], current_key: str, desired_key: str) -> Capacity:
    current = data.get(current_key)
    desired = data.get(desired_key, current)
    return Capacity(int(current or 0), int(desired or 0))


def read_target(clients: Clients, resource_id: str, dimension: str) -> dict[str, Any] | None:
    """The registered scalable target, or None."""
    targets = clients("application-autoscaling").describe_scalable_targets(
        ServiceNamespace=NAMESPACE, ResourceIds=[resource_id], ScalableDimension=dimension
    )["ScalableTargets"]
    return targets[0] if targets else None


def read_endpoint(clients: Clients, endpoint_name: str) -> dict[str, Any] | None:
    """DescribeEndpoint's answer, or None when there is no such endpoint."""
    try:
        endpoint: dict[str, Any] = clients("sagemaker").describe_endpoint(EndpointName=endpoint_name)
        return endpoint
    except ClientError as exc:
        if not_found(exc):
            return None
        raise


def variant_capacity(endpoint: Mapping[str, Any], variant_name: str) -> Capacity | None:
    """A variant's instances from DescribeEndpoint's answer; None when the variant is not there."""
    variant = next((v for v in endpoint.get("ProductionVariants", []) if v.get("VariantName") == variant_name), None)
    if variant is None:
        return None
    return _capacity(variant, "CurrentInstanceCount", "DesiredInstanceCount")


def component_capacity(clients: Clients, component_name: str) -> Capacity | None:
    """An inference component's copies, or None when there is no such component."""
    try:
        component = clients("sagemaker").describe_inference_component(InferenceComponentName=component_name)
    except ClientError as exc:
        if not_found(exc):
            return None
        raise
    return _capacity(component.get("RuntimeConfig") or {}, "CurrentCopyCount", "DesiredCopyCount")


def read_capacity(config: CapConfig, clients: Clients) -> Capacity | None:
    """What the config's target scales, now; None when it does not exist (or is being deleted)."""
    if config.uses_inference_component:
        return component_capacity(clients, str(config.inference_component_name))
    endpoint = read_endpoint(clients, config.endpoint_name)
    if endpoint is None or endpoint.get("EndpointStatus") == "Deleting":
        return None
    return variant_capacity(endpoint, config.variant_name) or Capacity(0, 0)


@dataclass
class State:
    """What the cap finds before acting."""

    target: dict[str, Any] | None
    capacity: Capacity | None
    """None: the component or endpoint does not exist (or is being deleted): nothing bills."""

    @property
    def exists(self) -> bool:
        return self.capacity is not None


def read_state(config: CapConfig, clients: Clients) -> State:
    return State(
        target=read_target(clients, config.resource_id, config.dimension), capacity=read_capacity(config, clients)
    )


# --------------------------------------------------------------------------- writing
@dataclass
class Done:
    """What a write did, in words: ``actions`` for the report, ``notes`` for what went differently."""

    actions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _target_key(config: CapConfig) -> dict[str, str]:
    return {"ServiceNamespace": NAMESPACE, "ResourceId": config.resource_id, "ScalableDimension": config.dimension}


def cap_target(config: CapConfig, clients: Clients) -> Done:
    """Hold the target at the capped capacity with scale-out and schedules suspended."""
    scaling = clients("application-autoscaling")
    cap = config.capped_capacity
    key = _target_key(config)
    try:
        scaling.register_scalable_target(**key, MinCapacity=cap, MaxCapacity=cap, SuspendedState=CAPPED_SUSPENSION)
    except ClientError as exc:
        if error_code(exc) != "ValidationException":
            raise
        # A maximum this low refused for the dimension: keep the maximum, suspend scale-out.
        scaling.register_scalable_target(**key, MinCapacity=cap, SuspendedState=CAPPED_SUSPENSION)
        action = (
            f"scalable target {config.resource_id}: minimum {cap}, dynamic scale-out and scheduled scaling suspended"
        )
        note = (
            f"maximum {cap} was refused ({error_message(exc)}); "
            "the maximum is unchanged and scale-out is suspended instead"
        )
        return Done(actions=[action], notes=[note])
    action = (
        f"scalable target {config.resource_id}: minimum {cap}, maximum {cap}, "
        "dynamic scale-out and scheduled scaling suspended"
    )
    return Done(actions=[action])


def restore_target(config: CapConfig, clients: Clients, tags: Mapping[str, str] | None = None) -> Done:
    """Register the target with the plan's bounds and nothing suspended.

    ``tags`` are set only when the target has to be created (after the cap deregistered it): tags on
    RegisterScalableTarget apply to new targets; an existing one keeps its own (Application Auto
    Scaling User Guide, "Tagging support"). The stack's tag matters: the cap's role may change only
    targets that carry it.
    """
    extra: dict[str, Any] = {}
    if tags and read_target(clients, config.resource_id, config.dimension) is None:
        extra["Tags"] = dict(tags)
    clients("application-autoscaling").register_scalable_target(
        **_target_key(config),
        MinCapacity=config.min_capacity,
        MaxCapacity=config.max_capacity,
        SuspendedState=RESUMED_SUSPENSION,
        **extra,
    )
    action = (
        f"scalable target {config.resource_id}: minimum {config.min_capacity}, maximum "
        f"{config.max_capacity} (the plan's); dynamic and scheduled scaling resumed"
    )
    return Done(actions=[action])


def set_capacity(config: CapConfig, clients: Clients, count: int) -> str:
    """Set the copy count (inference component) or the variant's instance count; says what it did."""
    sagemaker = clients("sagemaker")
    if config.uses_inference_component:
        sagemaker.update_inference_component_runtime_config(
            InferenceComponentName=config.inference_component_name, DesiredRuntimeConfig={"CopyCount": count}
        )
        return f"inference component {config.inference_component_name}: {count} copies"
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=config.endpoint_name,
        DesiredWeightsAndCapacities=[{"VariantName": config.variant_name, "DesiredInstanceCount": count}],
    )
    return f"endpoint {config.endpoint_name} variant {config.variant_name}: {count} instances"


def cap_capacity(config: CapConfig, clients: Clients) -> Done:
    """Bring the copies / instances down to the capped capacity now."""
    try:
        return Done(actions=[set_capacity(config, clients, config.capped_capacity)])
    except ClientError as exc:
        # Registering the new bounds makes Application Auto Scaling move the capacity itself; the
        # endpoint (or component) is then updating and refuses a second update. The bounds hold.
        text = str(exc).lower()
        if not (error_code(exc) == "ValidationException" and ("progress" in text or "updating" in text)):
            raise
        note = (
            f"capacity update refused while an update is in progress ({error_message(exc)}); "
            "Application Auto Scaling is bringing capacity within the new bounds"
        )
        return Done(notes=[note])


def deregister_target(config: CapConfig, clients: Clients) -> Done:
    """Deregister the scalable target, as AWS requires before deleting an endpoint that is one.

    SageMaker Developer Guide, "Delete endpoints configured for auto scaling": an endpoint that is a
    scalable target with a custom policy must be deregistered first (DeregisterScalableTarget,
    Application Auto Scaling API reference), which also deletes its scaling policies and scheduled
    actions. ``sagefit resume`` registers the target again with the plan's bounds.
    """
    try:
        clients("application-autoscaling").deregister_scalable_target(**_target_key(config))
    except ClientError as exc:
        if not not_found(exc):
            raise
        return Done()
    action = (
        f"scalable target {config.resource_id} deregistered (AWS requires it before the endpoint is "
        "deleted; its scaling policies and scheduled actions went with it)"
    )
    return Done(actions=[action])


def delete_endpoint(config: CapConfig, clients: Clients) -> Done:
    """Delete the endpoint only: its model, endpoint config and the stack stay, for ``sagefit resume``."""
    try:
        clients("sagemaker").delete_endpoint(EndpointName=config.endpoint_name)
    except ClientError as exc:
        if not not_found(exc):
            raise
        return Done()
    return Done(actions=[f"endpoint {config.endpoint_name} deleted (model, endpoint config and stack kept)"])
