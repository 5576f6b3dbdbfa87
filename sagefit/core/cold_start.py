"""What a cold start does, for one plan: provision, start the engine's container, fetch and load the weights.

The figures come from the plan itself: the instance (provisioning), the engine (its container's
start-up), the weights' size and where they come from (the Hugging Face Hub, or S3 where the profile
sets ``model.model_data_s3_uri``). Every number is an assumption or estimate recorded with its source
in :mod:`sagefit.core.assumptions`; ``plan.spec.cold_start`` carries the result, so the cost simulator
and `sagefit recommend` read one source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sagefit.core import assumptions as A

if TYPE_CHECKING:
    from sagefit.core.planner import Plan

WeightsSource = Literal["hub", "s3"]


@dataclass(frozen=True)
class ColdStartFigures:
    """Seconds from the scaling action that launches an instance to the model answering on it."""

    provisioning_s: float
    container_start_s: float
    weights_gb: float
    weights_source: WeightsSource
    download_gb_s: float
    load_gb_s: float

    @property
    def download_s(self) -> float:
        return self.weights_gb / self.download_gb_s

    @property
    def load_s(self) -> float:
        return self.weights_gb / self.load_gb_s

    @property
    def total_s(self) -> float:
        return self.provisioning_s + self.container_start_s + self.download_s + self.load_s

    @property
    def source_name(self) -> str:
        return A.WEIGHTS_SOURCE_NAMES[self.weights_source]


WEIGHTS_SOURCES: tuple[WeightsSource, ...] = ("hub", "s3")


def cold_start_figures(plan: Plan, source: WeightsSource) -> ColdStartFigures:
    """The plan's cold start, from its instance, engine, weights and where they come from.

    ``source`` is the spec's (:func:`sagefit.core.spec.build_spec`: S3 when the container has staged
    model data, which SageMaker fetches before the container starts; else the Hub, which the engine
    downloads from at start-up), never derived again here.
    """
    return ColdStartFigures(
        provisioning_s=A.instance_provisioning_s(plan.instance_type),
        container_start_s=A.CONTAINER_START_S_BY_ENGINE[plan.engine],
        weights_gb=plan.fit.weights_bytes / 1e9,
        weights_source=source,
        download_gb_s=A.WEIGHTS_DOWNLOAD_GB_S[source],
        load_gb_s=A.MODEL_LOAD_GB_S,
    )


def cold_starts_by_source(plan: Plan) -> dict[WeightsSource, ColdStartFigures]:
    """The same plan's cold start with its weights from each source: what staging them in S3 saves."""
    return {source: cold_start_figures(plan, source) for source in WEIGHTS_SOURCES}
