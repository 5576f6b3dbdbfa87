"""The three ways an endpoint can scale, as one type that carries each mode's behaviour.

Every question the stacks, the cost simulator, the operations and the hard cap ask about a mode is a
property here, so no code outside this module compares mode strings. The value of each member is the
spelling users write in a profile (``scaling.mode``) and on the command line (``--mode``).
"""

from __future__ import annotations

from enum import Enum

VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
"""Application Auto Scaling dimension of an endpoint variant's instance count."""
COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
"""Application Auto Scaling dimension of an inference component's copy count."""


class CapHold(str, Enum):
    """Where the hard cost cap holds an endpoint once the budget is spent."""

    ZERO = "zero"
    """Scale-to-zero and async: no copies or instances, nothing bills."""
    MINIMUM = "minimum"
    """Always-on: SageMaker keeps at least one instance in a real-time variant, so the cap can only
    hold the variant at its minimum (or delete the endpoint on opt-in)."""


class ScalingMode(str, Enum):
    """How an endpoint follows its traffic."""

    ALWAYS_ON = "always-on"
    SCALE_TO_ZERO = "scale-to-zero"
    ASYNC = "async"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The spellings a user may write, in the order reports show them."""
        return tuple(mode.value for mode in cls)

    @property
    def uses_inference_component(self) -> bool:
        """Scale-to-zero serves through an inference component: only its copy count can reach 0 on a
        real-time endpoint (managed instance scaling then releases the instances)."""
        return self is ScalingMode.SCALE_TO_ZERO

    @property
    def tracks_concurrency(self) -> bool:
        """Inference components target-track SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution:
        requests in flight follow LLM load, where per-minute invocation counts lag behind long requests
        (AWS's LLM scale-to-zero notebook, aws-samples/sagemaker-genai-hosting-examples, uses it)."""
        return self.uses_inference_component

    @property
    def names_endpoint_by_instance_type(self) -> bool:
        """The variant itself is the auto-scaling target, so an instance-type change must be a new
        endpoint (see :mod:`sagefit.core.naming`); an inference component is the target where one
        serves, and its endpoint keeps its name."""
        return not self.uses_inference_component

    @property
    def pools_by_default(self) -> bool:
        """Capacity fallback (``serving.instance_pool: auto``) unless the profile says otherwise: a
        mode that starts instances on demand (from zero, or on a backlog) meets insufficient capacity
        at every wake, so it falls back; always-on starts its fleet once and keeps it."""
        return self.can_scale_to_zero

    @property
    def is_async(self) -> bool:
        """Requests go through S3 and a queue; the endpoint answers with an output location."""
        return self is ScalingMode.ASYNC

    @property
    def is_realtime(self) -> bool:
        """A caller waits on the HTTP request (SageMaker's 60 s invocation timeout applies)."""
        return not self.is_async

    @property
    def can_scale_to_zero(self) -> bool:
        return self is not ScalingMode.ALWAYS_ON

    @property
    def min_capacity_floor(self) -> int:
        """The lowest capacity a profile, a schedule or the cap may set."""
        return 0 if self.can_scale_to_zero else 1

    @property
    def default_min_capacity(self) -> int:
        return self.min_capacity_floor

    @property
    def cap_hold(self) -> CapHold:
        return CapHold.ZERO if self.can_scale_to_zero else CapHold.MINIMUM

    @property
    def scalable_dimension(self) -> str:
        return COPY_DIMENSION if self.uses_inference_component else VARIANT_DIMENSION

    @property
    def cold_start_handling(self) -> str | None:
        """What a request meets when nothing runs: None (never happens), or how it is handled."""
        if not self.can_scale_to_zero:
            return None
        return "queued" if self.is_async else "failed and retried"

    @property
    def retains_kms_key(self) -> bool:
        """Async output in S3 is encrypted with the stack key and outlives the stack."""
        return self.is_async


def scalable_resource_id(mode: ScalingMode, endpoint_name: str, variant_name: str, component_name: str | None) -> str:
    """Application Auto Scaling's ResourceId for the thing a mode scales.

    Formats from the RegisterScalableTarget API reference ("ResourceId", SageMaker rows):
    ``endpoint/<name>/variant/<variant>`` and ``inference-component/<name>``.
    """
    if mode.uses_inference_component:
        if component_name is None:
            raise ValueError("an inference-component mode needs a component name")
        return f"inference-component/{component_name}"
    return f"endpoint/{endpoint_name}/variant/{variant_name}"
