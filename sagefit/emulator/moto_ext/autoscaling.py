"""Application Auto Scaling in moto: the inference-component copy-count dimension, and the checks
of :func:`.rules.check_scalable_target` on RegisterScalableTarget.

sagefit scales a model's copies, down to zero, with the scalable dimension
``sagemaker:inference-component:DesiredCopyCount`` on resource ids ``inference-component/<name>``
(Application Auto Scaling API reference, RegisterScalableTarget:
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html).
moto 5.2.5 rejects that dimension, and registers a target whose MinCapacity exceeds its
MaxCapacity or whose component does not exist. :func:`install` adds the dimension and the checks;
call it only through :func:`sagefit.emulator.moto_ext.install_moto_extensions`.
"""

from __future__ import annotations

import functools
from enum import Enum, unique
from typing import Any, cast

from sagefit.emulator.moto_ext.rules import IC_COPY_COUNT_DIMENSION, check_scalable_target

EXTENSIONS: list[str] = [
    "Application Auto Scaling accepts the sagemaker:inference-component:DesiredCopyCount dimension "
    "(resource id inference-component/<name>, MinCapacity 0 allowed)",
    "Application Auto Scaling refuses a scalable target AWS refuses (MinCapacity above MaxCapacity, "
    "a SageMaker dimension on another kind of resource, the copy count of a missing inference component)",
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
    """Add the copy-count dimension and the registration checks."""
    _add_copy_count_dimension()
    _patch_register_checks()


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
