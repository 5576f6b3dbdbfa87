"""The figures one cost simulation runs with: sagefit/core/assumptions.py, plus `--assume` overrides.

Everything here is resolved for one plan: the cold start of its instance and model, the service time
of a request at its decode speed, and the delays of the scaling policy its stack renders. The scaling
figures (slots, targets) are read from ``plan.spec``, the same values the stack renders, so the
simulation cannot drift from the deployed policy.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sagefit.core import assumptions as A
from sagefit.core.errors import SagefitError
from sagefit.core.modes import ScalingMode
from sagefit.core.numbers import MAX_CONTEXT_TOKENS, Bound
from sagefit.core.planner import Plan

ASSUMPTIONS = {a.name: a for a in A.COST_ASSUMPTIONS}

_MONTH_S = A.HOURS_PER_MONTH * 3600
UNIT_BOUNDS: dict[str, Bound] = {
    "s": Bound(0, _MONTH_S, "s", "a month, the whole simulation", exclusive_minimum=True),
    "GB/s": Bound(0, 1000, "GB/s", "a terabyte a second, beyond any storage or network path", exclusive_minimum=True),
    "1-min datapoints": Bound(0, 1440, "1-min datapoints", "a day of one-minute datapoints", exclusive_minimum=True),
    "periods": Bound(0, 1440, "periods", "a day of one-minute periods", exclusive_minimum=True),
    "x target": Bound(0, 1, "x target", "scale-in starts below the target, never above it", exclusive_minimum=True),
    "tokens/request": Bound(
        0, MAX_CONTEXT_TOKENS, "tokens", "the longest context sagefit accepts", exclusive_minimum=True
    ),
    "tokens/s": Bound(0, 10_000_000, "tokens/s", "a thousand times any GPU's prefill speed", exclusive_minimum=True),
}
"""The upper bound of each unit an ``--assume`` figure comes in (the lower bound is always 0, excluded):
past it the figure is a typo, and the simulation's arithmetic would run on it all the same."""


def parse_overrides(items: Iterable[str]) -> dict[str, float]:
    """``["container_start_s=60", ...]`` -> ``{"container_start_s": 60.0}``, validated."""
    overrides: dict[str, float] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SagefitError(
                f"cannot read {item!r}",
                "write --assume NAME=VALUE, e.g. --assume container_start_s=60",
                field="--assume",
            )
        if name not in ASSUMPTIONS:
            close = difflib.get_close_matches(name, ASSUMPTIONS, n=1)
            hint = f"did you mean {close[0]}?" if close else "list them with `sagefit cost --list-assumptions`"
            raise SagefitError(f"unknown assumption {name!r}", hint, field="--assume")
        spec = ASSUMPTIONS[name]
        try:
            value = float(raw)
        except ValueError:
            raise SagefitError(
                f"{name}: {raw.strip()!r} is not a number",
                f"give {name} a number in {spec.unit}",
                field="--assume",
            ) from None
        if not value > 0 or value != value or value == float("inf"):
            raise SagefitError(
                f"{name}: {raw.strip()} must be above 0", f"give {name} a positive number", field="--assume"
            )
        if spec.integer and value != int(value):
            raise SagefitError(
                f"{name}: {raw.strip()} must be a whole number", f"use a whole number of {spec.unit}", field="--assume"
            )
        if name == "breakeven_saving" and value >= 1:
            raise SagefitError(
                f"{name}: {raw.strip()} must be a share below 1", "use e.g. 0.05 for 5%", field="--assume"
            )
        bound = UNIT_BOUNDS.get(spec.unit)
        problem = bound.problem(value) if bound is not None else None
        if bound is not None and problem is not None:
            raise SagefitError(f"{name}: {problem}", bound.fix(), field="--assume")
        overrides[name] = value
    return overrides


@dataclass(frozen=True)
class ColdStart:
    """Seconds from the scaling action that launches an instance to the model answering on it."""

    provisioning_s: float
    container_start_s: float
    download_s: float
    load_s: float
    weights_gb: float
    weights_source: str = "hub"
    """Where the weights come from: ``hub`` (the Hugging Face Hub) or ``s3`` (model.model_data_s3_uri)."""

    @property
    def total_s(self) -> float:
        return self.provisioning_s + self.container_start_s + self.download_s + self.load_s

    def to_dict(self) -> dict[str, float]:
        return {
            "total_s": round(self.total_s, 1),
            "provisioning_s": round(self.provisioning_s, 1),
            "container_start_s": round(self.container_start_s, 1),
            "download_s": round(self.download_s, 1),
            "load_s": round(self.load_s, 1),
            "weights_gb": round(self.weights_gb, 2),
        }


@dataclass(frozen=True)
class CostSettings:
    """Resolved figures for one plan."""

    values: dict[str, float | None]
    cold_start: ColdStart
    input_tokens: int
    output_tokens: int
    decode_tokens_per_s: float
    """What each request sees while the instance runs its planned concurrency (plan.spec.speed)."""
    prefill_tokens_per_s: float
    slots: int
    reject_limit: int | None
    """Requests an instance holds at once before the engine answers 429 (TGI), or None: it queues (vLLM)."""
    targets: dict[ScalingMode, float]
    """Each mode's target-tracking value (plan.spec.scaling.target_for): every mode of one plan is
    simulated, not only the profile's."""
    instance_release_s: float = 0.0
    """Inference-component modes: seconds an instance bills after its copy is removed, until managed
    instance scaling releases it (plan.spec.scaling.instance_release_s, the ScaleInPolicy cooldown)."""
    overrides: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        value = self.values[name]
        assert value is not None, name
        return value

    def target_for(self, mode: ScalingMode) -> float:
        return self.targets[mode]

    @property
    def scale_in_delay_s(self) -> float:
        """Idle time after the last request finishes until an endpoint scales to zero."""
        return self["scale_in_periods"] * 60 + self["alarm_delay_s"]

    def service_s(self, tokens_in: float, tokens_out: float) -> float:
        """Seconds one request occupies a slot: prompt processing plus decode at the plan's speed."""
        return tokens_in / self.prefill_tokens_per_s + tokens_out / self.decode_tokens_per_s

    def to_dict(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for spec in A.COST_ASSUMPTIONS:
            value = self.values[spec.name]
            out[spec.name] = {
                "value": value,
                "unit": spec.unit,
                "source": spec.source,
                "overridden": spec.name in self.overrides,
            }
        out["instance_provisioning_s"]["value"] = self.cold_start.provisioning_s
        out["prefill_tokens_per_s"]["value"] = round(self.prefill_tokens_per_s, 1)
        out["input_tokens"]["value"] = self.input_tokens
        out["output_tokens"]["value"] = self.output_tokens
        return out


def _figure(values: dict[str, float | None], name: str) -> float:
    """An assumption that has a value by now (None means: take the plan's, ``plan.spec.cold_start``
    for the cold start, the profile's token counts)."""
    value = values[name]
    assert value is not None, name
    return float(value)


def resolve(plan: Plan, overrides: dict[str, float] | None = None) -> CostSettings:
    """The simulation's figures for ``plan``: assumption defaults, the plan's own, then overrides."""
    overrides = dict(overrides or {})
    values: dict[str, float | None] = {a.name: a.value for a in A.COST_ASSUMPTIONS}
    values.update(overrides)
    figures = plan.spec.cold_start  # the plan's own: engine, weights and their source
    for name, planned in (
        ("instance_provisioning_s", figures.provisioning_s),
        ("container_start_s", figures.container_start_s),
        ("model_download_gb_s", figures.download_gb_s),
    ):
        if values[name] is None:
            values[name] = planned
    weights_gb = figures.weights_gb
    cold = ColdStart(
        provisioning_s=_figure(values, "instance_provisioning_s"),
        container_start_s=_figure(values, "container_start_s"),
        download_s=weights_gb / _figure(values, "model_download_gb_s"),
        load_s=weights_gb / _figure(values, "model_load_gb_s"),
        weights_gb=weights_gb,
        weights_source=figures.weights_source,
    )
    spec = plan.spec
    scaling = spec.scaling
    prefill = values["prefill_tokens_per_s"]
    if prefill is None:  # the plan's time to first token, for its own prompt length
        prefill = plan.max_input_tokens / spec.speed.time_to_first_token_s
    input_tokens = int(values["input_tokens"] or plan.max_input_tokens)
    output_tokens = int(values["output_tokens"] or plan.max_total_tokens - plan.max_input_tokens)
    return CostSettings(
        values=values,
        cold_start=cold,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        decode_tokens_per_s=spec.speed.per_request_tokens_per_s,
        prefill_tokens_per_s=float(prefill),
        slots=scaling.slots,
        reject_limit=spec.max_concurrent_requests if spec.overflow == "reject" else None,
        targets={mode: scaling.target_for(mode) for mode in ScalingMode},
        instance_release_s=float(scaling.instance_release_s),
        overrides=overrides,
    )


def describe_assumptions() -> str:
    """The listing `sagefit cost --list-assumptions` prints."""
    width = max(len(a.name) for a in A.COST_ASSUMPTIONS)
    lines = [f"Cost-simulation assumptions ({A.SOURCE}); override with --assume NAME=VALUE:"]
    for a in A.COST_ASSUMPTIONS:
        value = "(see source)" if a.value is None else f"{a.value:g} {a.unit}"
        lines.append(f"  {a.name:<{width}}  {value}")
        lines.append(f"  {'':<{width}}  {a.source}")
    return "\n".join(lines)
