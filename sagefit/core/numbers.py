"""One way to read numbers: finite, bounded, with a unit.

Every number a user gives sagefit (a profile field, a catalog row, a ``--traffic`` count, a trace
line, an ``--assume`` figure, a ``-c`` override) ends up in arithmetic: prices times hours, bytes
divided by bandwidth, requests held in arrays. An infinite or absurd value does not fail there with
a useful message; it fails as a ZeroDivisionError or an OverflowError deep in the cost model, or it
validates and deploys (``max_capacity: 1000000000``). So each number is read here once, against a
bound that says why it is the bound, and the first value outside it is a one-line error naming the
field.

The bounds are of two kinds: AWS's own limits (cited in :mod:`sagefit.core.aws_rules`) and sagefit's
stated assumptions, set an order of magnitude or more beyond any real deployment so that only a
typo or a unit mistake reaches them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, Field

from sagefit.core.errors import SagefitError


class BoundProblem(ValueError):
    """A number out of its bound, raised inside pydantic validation; the profile and catalog error
    reporters read ``problem`` and ``fix`` from it (the field is pydantic's location)."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix


@dataclass(frozen=True)
class Bound:
    """An inclusive range for one kind of number, its unit, and why the range is what it is."""

    minimum: float
    maximum: float
    unit: str
    reason: str
    integer: bool = False
    exclusive_minimum: bool = False

    def problem(self, value: float) -> str | None:
        """Why ``value`` is refused, or None when it is a number in range."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{value!r} is not a number"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{value!r} is not a finite number"
        if self.integer and isinstance(value, float) and not value.is_integer():
            return f"{value!r} is not a whole number of {self.unit}"
        low_ok = value > self.minimum if self.exclusive_minimum else value >= self.minimum
        if not low_ok:
            edge = "above" if self.exclusive_minimum else "at least"
            return f"{_show(value)} {self.unit} is out of range: it must be {edge} {_show(self.minimum)}"
        if value > self.maximum:
            return f"{_show(value)} {self.unit} is over the limit of {_show(self.maximum)} ({self.reason})"
        return None

    def fix(self) -> str:
        edge = "above" if self.exclusive_minimum else "from"
        kind = "a whole number" if self.integer else "a number"
        return f"give {kind} of {self.unit} {edge} {_show(self.minimum)} to {_show(self.maximum)}"

    def check(self, value: float, field: str | None = None, source: object = None) -> float:
        """``value`` when it is in range, else a one-line :class:`SagefitError` naming ``field``."""
        problem = self.problem(value)
        if problem is not None:
            raise SagefitError(problem, self.fix(), source if source is None else str(source), field)
        return value

    def validator(self) -> AfterValidator:
        """The pydantic check for a model field of this kind (``Annotated[int, BOUND.validator()]``)."""

        def check(value: float) -> float:
            problem = self.problem(value)
            if problem is not None:
                raise BoundProblem(problem, self.fix())
            return value

        return AfterValidator(check)


def _show(value: float) -> str:
    """A number as a person reads it: 1,000,000 or 0.05; a 400-digit integer is shortened."""
    if isinstance(value, int):
        text = f"{value:,}"
        return text if len(text) <= 30 else f"{text[:12]}... ({len(str(abs(value)))} digits)"
    return f"{value:,.0f}" if value.is_integer() and abs(value) <= 1e15 else f"{value:g}"


def read_number(text: str, bound: Bound, field: str | None = None, source: object = None) -> float:
    """Read ``text`` (what a user typed) as a number within ``bound``, or raise a one-line error."""
    try:
        value = float(text.strip().replace("_", ""))
    except ValueError:
        raise SagefitError(
            f"{text.strip()!r} is not a number", bound.fix(), None if source is None else str(source), field
        ) from None
    bound.check(value, field, source)
    return float(int(value)) if bound.integer else value


# ---- profile bounds -----------------------------------------------------------------------------------
MAX_INSTANCES_PER_ENDPOINT = 100
"""Assumption. The API sets no maximum (ProductionVariantManagedInstanceScaling.MaxInstanceCount:
"Minimum value of 1", https://docs.aws.amazon.com/sagemaker/latest/APIReference/
API_ProductionVariantManagedInstanceScaling.html); what caps it in practice is the account's
per-instance-type quota for endpoint usage, raised on request. 100 instances of one model is beyond
any endpoint sagefit sizes (its largest plan is one 8-GPU instance per copy), so more is a typo."""

INSTANCE_COUNT = Bound(
    0, MAX_INSTANCES_PER_ENDPOINT, "instances", "sagefit's ceiling of instances per endpoint", integer=True
)
MAX_MONTHLY_USD = 10_000_000.0
"""Assumption: 100 instances (the ceiling above) of the catalog's dearest instance (ml.p5.48xlarge,
$113.07/h) all month cost $8.4M; a budget beyond $10M a month for one endpoint is a typo."""
MONTHLY_USD = Bound(0.01, MAX_MONTHLY_USD, "USD a month", "sagefit's ceiling on one endpoint's budget")
"""From a cent (the budget is kept in cents: less would be a $0 budget) to :data:`MAX_MONTHLY_USD`."""

MIN_HOURS_TO_BURN = Bound(
    0,
    744,
    "hours",
    "a 31-day month (744 hours): a fleet cannot burn a monthly budget slower than that",
    exclusive_minimum=True,
)
"""``budget.min_hours_to_burn``: the least time the maximum fleet may take to spend the monthly budget."""
SCALE_IN_COOLDOWN_MINUTES = Bound(
    5,
    1440,
    "minutes",
    "AWS's range for ScaleInPolicy.CooldownInMinutes (sagefit.core.aws_rules.SCALE_IN_COOLDOWN_MINUTES)",
    integer=True,
)
"""``scaling.scale_in_cooldown_minutes``: 5 to 1440, AWS's own range (SageMaker API reference,
ProductionVariantManagedInstanceScalingScaleInPolicy.CooldownInMinutes)."""

MAX_PARAMETERS = 10**13
"""Assumption: ten trillion parameters, ten times the largest open-weight models (about 1T, 2025)."""
PARAMETERS = Bound(1, MAX_PARAMETERS, "parameters", "ten times the largest open models", integer=True)
MAX_CONTEXT_TOKENS = 16_777_216
"""Assumption: 2^24 tokens, above the longest context an open model claims (10M, Llama 4 Scout)."""
TOKENS = Bound(1, MAX_CONTEXT_TOKENS, "tokens", "above the longest context any open model claims", integer=True)
MAX_ARCHITECTURE_DIMENSION = 1_048_576
"""Assumption: 2^20; layer counts, widths, head counts and head sizes of real models are far below it
(a 2^20 hidden size alone would be a trillion parameters per layer)."""
DIMENSION = Bound(1, MAX_ARCHITECTURE_DIMENSION, "units", "far beyond any model's architecture", integer=True)
MAX_VOCABULARY = 16_777_216
"""Assumption: 2^24 tokens of vocabulary, over 60 times the largest tokenizers in use (262k, Gemma 3)."""
VOCABULARY = Bound(1, MAX_VOCABULARY, "tokens", "over 60 times any tokenizer in use", integer=True)
MAX_CONCURRENCY = 1000
"""The most concurrent requests one instance is planned for: SageMaker's own ceiling on concurrent
invocations per instance (AsyncInferenceClientConfig.MaxConcurrentInvocationsPerInstance, 1 to 1000,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AsyncInferenceClientConfig.html)."""
CONCURRENCY = Bound(1, MAX_CONCURRENCY, "requests", "SageMaker's per-instance concurrency ceiling", integer=True)
MAX_DECODE_TOKENS_PER_S = 100_000.0
"""Assumption: a single stream decoding 100k tokens/s is over 100 times what any GPU serves today."""
DECODE_SPEED = Bound(
    0, MAX_DECODE_TOKENS_PER_S, "tokens/s", "over 100 times any GPU's decode speed", exclusive_minimum=True
)

# ---- catalog bounds -----------------------------------------------------------------------------------
MAX_CATALOG_PRICE = 1000.0
"""Assumption: a catalog price above $1,000 per instance-hour is a unit mistake (the dearest SageMaker
hosting instance, ml.p5.48xlarge, is $113.07/h in us-east-1). `sagefit prices refresh` applies a
narrower band of its own (sagefit.ops.prices.PLAUSIBLE_PRICE)."""
HOURLY_PRICE = Bound(
    0, MAX_CATALOG_PRICE, "USD an hour", "ten times the dearest SageMaker instance", exclusive_minimum=True
)
DEVICE_MEMORY_MIB = Bound(1, 16_777_216, "MiB", "16 TiB, 60 times any accelerator's memory", integer=True)
BANDWIDTH_GB_S = Bound(0, 1_000_000.0, "GB/s", "a petabyte a second, 100 times any HBM", exclusive_minimum=True)
COMPUTE_CAPABILITY = Bound(1, 100, "", "CUDA compute capabilities are 1.0 to 12.x")
HOST_COUNT = Bound(1, 65_536, "units", "far beyond any instance's vCPU, GPU or GiB count", integer=True)

# ---- pydantic field types ------------------------------------------------------------------------------
# Each keeps pydantic's own lower-bound check (and its message, "greater than 0"), then refuses what is
# over its bound, infinite or NaN, with the bound's reason.
_POSITIVE = Field(gt=0)
_NOT_NEGATIVE = Field(ge=0)
InstanceCount = Annotated[int, _NOT_NEGATIVE, INSTANCE_COUNT.validator()]
MonthlyUsd = Annotated[float, _POSITIVE, MONTHLY_USD.validator()]
ParameterCount = Annotated[int, _POSITIVE, PARAMETERS.validator()]
TokenCount = Annotated[int, _POSITIVE, TOKENS.validator()]
Dimension = Annotated[int, _POSITIVE, DIMENSION.validator()]
Vocabulary = Annotated[int, _POSITIVE, VOCABULARY.validator()]
Concurrency = Annotated[int, _POSITIVE, CONCURRENCY.validator()]
DecodeSpeed = Annotated[float, _POSITIVE, DECODE_SPEED.validator()]
HourlyPrice = Annotated[float, _POSITIVE, HOURLY_PRICE.validator()]
DeviceMemoryMib = Annotated[int, _POSITIVE, DEVICE_MEMORY_MIB.validator()]
BandwidthGbS = Annotated[float, _POSITIVE, BANDWIDTH_GB_S.validator()]
ComputeCapability = Annotated[float, _POSITIVE, COMPUTE_CAPABILITY.validator()]
HostCount = Annotated[int, _POSITIVE, HOST_COUNT.validator()]
BurnHours = Annotated[float, _POSITIVE, MIN_HOURS_TO_BURN.validator()]
CooldownMinutes = Annotated[int, _POSITIVE, SCALE_IN_COOLDOWN_MINUTES.validator()]
