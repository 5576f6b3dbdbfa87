"""Application Auto Scaling in moto: the inference-component copy-count dimension.

sagefit scales a model's copies, down to zero, with the scalable dimension
``sagemaker:inference-component:DesiredCopyCount`` on resource ids ``inference-component/<name>``
(Application Auto Scaling API reference, RegisterScalableTarget:
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html).
moto 5.2.5 rejects that dimension. :func:`install` adds it; call it only through
:func:`sagefit.emulator.moto_ext.install_moto_extensions`.
"""

from __future__ import annotations

from enum import Enum, unique
from typing import cast

IC_COPY_COUNT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"

EXTENSIONS: list[str] = [
    "Application Auto Scaling accepts the sagemaker:inference-component:DesiredCopyCount dimension "
    "(resource id inference-component/<name>, MinCapacity 0 allowed)",
]


def install() -> None:
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
