"""Serving engines and their sourced rules: KV-cache memory, tensor parallelism, quantization,
environment, overflow behaviour and image family.

``get_engine("vllm")`` is the default (vLLM through the LMI container, see
:mod:`sagefit.core.engines.vllm`); ``tgi`` is the legacy engine. Old profiles name a container
(``serving.container: tgi | djl-lmi``) rather than an engine; :func:`engine_for_container` maps it
and says what to write instead.

SGLang is not here: its static memory share (``mem_fraction_static``) is a version-dependent
heuristic over GPU memory and tensor-parallel size that has not been read from the 0.5.x source
yet. ``stacks.images`` resolves its image family all the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sagefit.core.engines.base import (
    Engine,
    EngineInputs,
    ImageFamily,
    OverflowBehaviour,
    Refusal,
    accepted_tp_degrees,
)
from sagefit.core.engines.tgi import TGI, TgiEngine
from sagefit.core.engines.vllm import VLLM_ENGINE, VllmEngine
from sagefit.core.errors import SagefitError

DEFAULT_ENGINE = "vllm"

ENGINES: Mapping[str, Engine] = MappingProxyType({"vllm": VLLM_ENGINE, "tgi": TGI})

LEGACY_CONTAINERS: Mapping[str, str] = MappingProxyType({"tgi": "tgi", "djl-lmi": "vllm"})
"""Old ``serving.container`` value -> engine name. ``djl-lmi`` always ran vLLM (``OPTION_ROLLING_BATCH
=vllm``); the vllm engine keeps the same LMI image family."""


def get_engine(name: str) -> Engine:
    """The engine called ``name``, or a one-line SagefitError listing the known ones."""
    engine = ENGINES.get(name)
    if engine is None:
        raise SagefitError(
            f"unknown engine {name!r}",
            "use one of: " + ", ".join(ENGINES),
            field="serving.engine",
        )
    return engine


def engine_for_container(container: str) -> tuple[Engine, str]:
    """The engine an old ``serving.container`` value means, and the warning to show for it."""
    name = LEGACY_CONTAINERS.get(container)
    if name is None:
        raise SagefitError(
            f"unknown serving.container {container!r}",
            "use serving.engine: " + " or ".join(ENGINES),
            field="serving.container",
        )
    warning = f"serving.container: {container} is deprecated; write serving.engine: {name}" + (
        " (TGI is in maintenance mode; vllm is the default)" if name == "tgi" else ""
    )
    return ENGINES[name], warning


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "LEGACY_CONTAINERS",
    "Engine",
    "EngineInputs",
    "ImageFamily",
    "OverflowBehaviour",
    "Refusal",
    "TgiEngine",
    "VllmEngine",
    "accepted_tp_degrees",
    "engine_for_container",
    "get_engine",
]
