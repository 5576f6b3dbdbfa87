"""The AWS rules sagefit checks before AWS sees anything: names, bounds and schedule expressions.

One table, shared by profile validation (so `validate`, `plan` and synth refuse what AWS would
refuse, naming the field) and by the local emulator (so an offline deploy fails where AWS would).
Each rule carries the API-reference shape or documentation page it comes from; the shapes are the
ones botocore ships (``botocore/data/<service>/*/service-2.json``), where AWS documents the bounds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SAGEMAKER_API = "https://docs.aws.amazon.com/sagemaker/latest/APIReference"
AAS_API = "https://docs.aws.amazon.com/autoscaling/application/APIReference"


@dataclass(frozen=True)
class NameRule:
    """A resource-name rule: length and character pattern, as the API reference states them."""

    label: str
    max_length: int
    pattern: str
    source: str
    hint: str

    def problem(self, value: str) -> str | None:
        """Why AWS would refuse ``value`` as this name, or None when it is fine."""
        if not value:
            return f"{self.label} is empty"
        if len(value) > self.max_length:
            return f"{self.label} {value!r} is {len(value)} characters, over AWS's limit of {self.max_length}"
        if re.fullmatch(self.pattern, value) is None:
            return f"{self.label} {value!r} breaks AWS's naming rule ({self.hint})"
        return None


_ALNUM_HYPHEN = "letters, digits and single or repeated hyphens, starting and ending with a letter or digit"

ENDPOINT_NAME = NameRule(
    "endpoint name",
    63,
    r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
    f"{SAGEMAKER_API}/API_CreateEndpoint.html (shape EndpointName)",
    _ALNUM_HYPHEN,
)
ENDPOINT_CONFIG_NAME = NameRule(
    "endpoint config name",
    63,
    r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
    f"{SAGEMAKER_API}/API_CreateEndpointConfig.html (shape EndpointConfigName)",
    _ALNUM_HYPHEN,
)
VARIANT_NAME = NameRule(
    "variant name",
    63,
    r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
    f"{SAGEMAKER_API}/API_ProductionVariant.html (shape VariantName)",
    _ALNUM_HYPHEN,
)
MODEL_NAME = NameRule(
    "model name",
    63,
    r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?",
    f"{SAGEMAKER_API}/API_CreateModel.html (shape ModelName)",
    _ALNUM_HYPHEN,
)
INFERENCE_COMPONENT_NAME = NameRule(
    "inference component name",
    63,
    r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?",
    f"{SAGEMAKER_API}/API_CreateInferenceComponent.html (shape InferenceComponentName)",
    _ALNUM_HYPHEN,
)
BUDGET_NAME = NameRule(
    "budget name",
    100,
    r"(?!.*/action/)[^:\\]+",
    "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html (shape BudgetName)",
    "no ':' or '\\' and no '/action/'",
)
STACK_NAME = NameRule(
    "stack name",
    128,
    r"[a-zA-Z][-a-zA-Z0-9]*",
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html (StackName)",
    "a letter first, then letters, digits and hyphens",
)
SCHEDULED_ACTION_NAME = NameRule(
    "scheduled action name",
    256,
    r"(?![ ])(?!.*[ ]$)[^\x00-\x1f\x7f-\x9f:/|]+",
    f"{AAS_API}/API_PutScheduledAction.html (shape ScheduledActionName)",
    "no control characters, ':', '/' or '|', and no leading or trailing space",
)

S3_BUCKET_NAME = NameRule(
    "S3 bucket name",
    63,
    r"(?!xn--)(?!sthree-)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (general purpose buckets)",
    "3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, "
    "no '..', not an IP address",
)


@dataclass(frozen=True)
class IntBound:
    """An integer the API accepts only within [minimum, maximum] (maximum None: unbounded)."""

    label: str
    minimum: int
    maximum: int | None
    source: str

    def problem(self, value: int) -> str | None:
        if value < self.minimum or (self.maximum is not None and value > self.maximum):
            upper = "" if self.maximum is None else f" to {self.maximum}"
            return f"{self.label} {value} is outside AWS's range {self.minimum}{upper}"
        return None


STARTUP_TIMEOUT_S = IntBound(
    "ContainerStartupHealthCheckTimeoutInSeconds",
    60,
    3600,
    f"{SAGEMAKER_API}/API_ProductionVariant.html (shape ProductionVariantContainerStartupHealthCheckTimeoutInSeconds)",
)
DOWNLOAD_TIMEOUT_S = IntBound(
    "ModelDataDownloadTimeoutInSeconds",
    60,
    3600,
    f"{SAGEMAKER_API}/API_ProductionVariant.html (shape ProductionVariantModelDataDownloadTimeoutInSeconds)",
)
VOLUME_SIZE_GB = IntBound(
    "VolumeSizeInGB", 1, 512, f"{SAGEMAKER_API}/API_ProductionVariant.html (shape ProductionVariantVolumeSizeInGB)"
)
INITIAL_INSTANCE_COUNT = IntBound(
    "InitialInstanceCount", 1, None, f"{SAGEMAKER_API}/API_ProductionVariant.html (shape InitialTaskCount)"
)
# Instance pools (capacity fallback): ProductionVariant.InstancePools, shape InstancePoolList (1-5
# InstancePool entries), InstancePool.Priority (shape InstancePoolPriority, 1-5, "1 is the highest
# priority"), VariantInstanceProvisionTimeoutInSeconds (300-3600). An inference component's
# Specifications (shape InferenceComponentSpecificationList, 1-5 in the API, "one per instance type").
MAX_INSTANCE_POOLS = 5
POOL_PRIORITY = IntBound(
    "InstancePool.Priority", 1, 5, f"{SAGEMAKER_API}/API_InstancePool.html (shape InstancePoolPriority)"
)
POOL_PROVISION_TIMEOUT_S = IntBound(
    "VariantInstanceProvisionTimeoutInSeconds",
    300,
    3600,
    f"{SAGEMAKER_API}/API_ProductionVariant.html (shape VariantInstanceProvisionTimeoutInSeconds)",
)
POOLS_SOURCE = f"{SAGEMAKER_API}/API_ProductionVariant.html (InstancePools, shape InstancePoolList: 1 to 5)"
POOLS_GUIDE = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/realtime-endpoints-heterogeneous.html "
    '("replace the InstanceType parameter in your production variant with an InstancePools list")'
)
SPECIFICATIONS_SOURCE = (
    f'{SAGEMAKER_API}/API_CreateInferenceComponent.html (Specifications: "one per instance type"; '
    '"either this parameter or the singular Specification parameter, but not both")'
)
# ProductionVariant.InferenceAmiVersion (shape ProductionVariantInferenceAmiVersion, an enum; the same
# list in the cfn-lint 1.58 schema of AWS::SageMaker::EndpointConfig ProductionVariant). The shape's
# documentation gives each AMI's NVIDIA driver and CUDA version: gpu-2 and gpu-2-1 driver 535 / CUDA
# 12.2, gpu-3-1 driver 550 / CUDA 12.4, al2023 gpu-4-1 driver 580 / CUDA 13.0 ("NVIDIA Container
# Toolkit with disabled CUDA-compat mounting"), neuron-2 Neuron driver 2.19.
INFERENCE_AMI_VERSIONS = (
    "al2-ami-sagemaker-inference-gpu-2",
    "al2-ami-sagemaker-inference-gpu-2-1",
    "al2-ami-sagemaker-inference-gpu-3-1",
    "al2-ami-sagemaker-inference-neuron-2",
    "al2023-ami-sagemaker-inference-gpu-4-1",
)
INFERENCE_AMI_SOURCE = (
    f"{SAGEMAKER_API}/API_ProductionVariant.html (InferenceAmiVersion, shape ProductionVariantInferenceAmiVersion)"
)
CUDA_13_AMI = "al2023-ami-sagemaker-inference-gpu-4-1"
"""The AMI whose NVIDIA driver (580) runs CUDA 13.0 images (shape ProductionVariantInferenceAmiVersion)."""
GPU_AMI_BY_DRIVER = (
    "al2-ami-sagemaker-inference-gpu-2",
    "al2-ami-sagemaker-inference-gpu-2-1",
    "al2-ami-sagemaker-inference-gpu-3-1",
    CUDA_13_AMI,
)
"""The GPU AMIs, oldest NVIDIA driver first (535, 535, 550, 580: the shape's documentation)."""


def newest_gpu_ami(amis: Iterable[str | None]) -> str | None:
    """The AMI with the newest driver among ``amis`` (None when none asks for one).

    NVIDIA drivers run the CUDA versions up to their own ("CUDA minor version compatibility" and the
    data-center driver support matrix), so containers that share instances run on the newest driver
    any of them needs."""
    wanted = [ami for ami in amis if ami is not None]
    return max(wanted, key=GPU_AMI_BY_DRIVER.index) if wanted else None


MANAGED_MIN_INSTANCES = IntBound(
    "ManagedInstanceScaling.MinInstanceCount",
    0,
    None,
    f"{SAGEMAKER_API}/API_ProductionVariantManagedInstanceScaling.html",
)
MANAGED_MAX_INSTANCES = IntBound(
    "ManagedInstanceScaling.MaxInstanceCount",
    1,
    None,
    f"{SAGEMAKER_API}/API_ProductionVariantManagedInstanceScaling.html",
)
COPY_COUNT = IntBound(
    "CopyCount",
    0,
    None,
    f"{SAGEMAKER_API}/API_InferenceComponentRuntimeConfig.html (shape InferenceComponentCopyCount)",
)
SCALE_IN_COOLDOWN_MINUTES = IntBound(
    "ScaleInPolicy.CooldownInMinutes",
    5,
    1440,
    f"{SAGEMAKER_API}/API_ProductionVariantManagedInstanceScalingScaleInPolicy.html",
)
SCALE_IN_MAX_STEP_SIZE = IntBound(
    "ScaleInPolicy.MaximumStepSize",
    1,
    100,
    f"{SAGEMAKER_API}/API_ProductionVariantManagedInstanceScalingScaleInPolicy.html",
)
ROLLING_BATCH_PERCENT = IntBound(
    "MaximumBatchSize CAPACITY_PERCENT",
    5,
    50,
    f"{SAGEMAKER_API}/API_InferenceComponentRollingUpdatePolicy.html (MaximumBatchSize)",
)
MAX_CONCURRENT_INVOCATIONS = IntBound(
    "MaxConcurrentInvocationsPerInstance",
    1,
    1000,
    f"{SAGEMAKER_API}/API_AsyncInferenceClientConfig.html",
)


def rolling_batch_copy_bounds(copy_count: int) -> tuple[int, int]:
    """Copies a rolling-update batch may hold at ``copy_count`` copies: 5% to 50% of the copy count.

    "The value must be between 5% to 50% of the copy count of the inference component"
    ({SAGEMAKER_API}/API_InferenceComponentRollingUpdatePolicy.html, MaximumBatchSize). A batch is at
    least one copy (shape CapacitySizeValue, min 1), so below two copies no COPY_COUNT batch is valid.
    """
    low = max(1, -(-copy_count * 5 // 100))
    return low, copy_count * 50 // 100


def rolling_batch_problem(size_type: str, value: int, copy_count: int) -> str | None:
    """Why AWS would refuse a rolling update's MaximumBatchSize, or None when it is within bounds.

    COPY_COUNT batches use :func:`rolling_batch_copy_bounds`; CAPACITY_PERCENT batches
    :data:`ROLLING_BATCH_PERCENT` (both from the same MaximumBatchSize sentence).
    """
    if size_type == "CAPACITY_PERCENT":
        return ROLLING_BATCH_PERCENT.problem(value)
    low, high = rolling_batch_copy_bounds(copy_count)
    if low <= value <= high:
        return None
    if high < low:
        return (
            f"MaximumBatchSize COPY_COUNT {value} is not possible at {copy_count} copies (5% to 50% of the copy count)"
        )
    return f"MaximumBatchSize COPY_COUNT {value} is outside {low} to {high}, 5% to 50% of {copy_count} copies"


def capacity_range_problem(minimum: int | None, maximum: int | None, label: str) -> str | None:
    """Why a minimum/maximum pair is refused: the minimum may not exceed the maximum (Application Auto
    Scaling's MinCapacity/MaxCapacity, {AAS_API}/API_RegisterScalableTarget.html; SageMaker's
    ManagedInstanceScaling Min/MaxInstanceCount, {SAGEMAKER_API}/API_ProductionVariantManagedInstanceScaling.html)."""
    if minimum is not None and maximum is not None and minimum > maximum:
        return f"{label}: minimum {minimum} is greater than maximum {maximum}"
    return None


# --------------------------------------------------------------------------- schedule expressions

SCHEDULE_SOURCE = f"{AAS_API}/API_PutScheduledAction.html (Schedule)"
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_AT = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)")
_CRON = re.compile(r"cron\((.*)\)")
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (name, low, high, names allowed, special tokens allowed) for the six cron fields, as the
# Application Auto Scaling user guide ("Schedule recurring scaling actions using cron expressions")
# lists them: minutes, hours, day-of-month, month, day-of-week, year.
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...], str], ...] = (
    ("minutes", 0, 59, (), ""),
    ("hours", 0, 23, (), ""),
    ("day-of-month", 1, 31, (), "?LW"),
    ("month", 1, 12, tuple(_MONTHS), ""),
    ("day-of-week", 1, 7, tuple(_DAYS), "?L#"),
    ("year", 1970, 2199, (), ""),
)


def _cron_value(token: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if token.upper() in names:
        return True
    return token.isdigit() and low <= int(token) <= high


def _cron_token_ok(token: str, low: int, high: int, names: tuple[str, ...], special: str) -> bool:
    """One comma-separated part of a cron field, without its /step."""
    if token == "*":
        return True
    if token in ("?", "L", "LW"):
        return (token in ("?", "L") and token in special) or (token == "LW" and "W" in special)
    if token.endswith("W") and "W" in special:  # nearest weekday to a day of the month
        return _cron_value(token[:-1], low, high, names)
    if token.endswith("L") and "#" in special:  # last such weekday of the month
        return _cron_value(token[:-1], low, high, names)
    if "#" in token and "#" in special:  # nth such weekday of the month
        day, _, nth = token.partition("#")
        return _cron_value(day, low, high, names) and nth.isdigit() and 1 <= int(nth) <= 5
    ends = token.split("-")
    return len(ends) <= 2 and all(_cron_value(end, low, high, names) for end in ends)


def _cron_field_ok(field: str, low: int, high: int, names: tuple[str, ...], special: str) -> bool:
    for part in field.split(","):
        base, slash, step = part.partition("/")
        if slash and not (step.isdigit() and int(step) > 0):
            return False
        if not _cron_token_ok(base, low, high, names, special):
            return False
    return True


def schedule_problem(expression: str) -> str | None:
    """Why Application Auto Scaling would refuse a Schedule expression, or None when it is valid."""
    if expression.startswith("rate("):
        match = _RATE.fullmatch(expression)
        if match is None:
            return "a rate expression is rate(VALUE UNIT) with UNIT minute(s), hour(s) or day(s)"
        if int(match.group(1)) < 1:
            return "a rate expression needs a positive whole number, e.g. rate(5 minutes)"
        return None
    if expression.startswith("at("):
        match = _AT.fullmatch(expression)
        if match is None:
            return "an at expression is at(yyyy-mm-ddThh:mm:ss)"
        _year, month, day, hour, minute, second = (int(g) for g in match.groups())
        if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 59):
            return "the at expression's date or time is out of range"
        return None
    match = _CRON.fullmatch(expression)
    if match is None:
        return "use cron(...), rate(...) or at(...)"
    fields = match.group(1).split()
    if len(fields) != 6:
        return (
            f"a cron expression has six fields (minutes hours day-of-month month day-of-week year), not {len(fields)}"
        )
    for value, (name, low, high, names, special) in zip(fields, _CRON_FIELDS, strict=True):
        if not _cron_field_ok(value, low, high, names, special):
            return f"cron field {name} {value!r} is not valid (range {low}-{high})"
    if (fields[2] == "?") == (fields[4] == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    return None
