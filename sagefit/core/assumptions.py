"""Every assumed figure the estimates rest on, in one place, with where it comes from.

These are not measurements of your model: they are rules of thumb chosen to be conservative.
`sagefit plan` prints that its fit, speed and cost figures are estimates and points here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

HOURS_PER_MONTH = 744
"""A 31-day month, the convention of the figures sagefit reproduces ($7.09/h -> $5,274.96)."""

ACTIVATION_RESERVE_GIB = 1.0
"""Per-GPU peak of the engine's start-up profiling pass (vLLM's profile_run, TGI's warm-up), held back
from the KV budget; the engines measure the real figure at start-up. Rule of thumb with no primary
source, recorded 2026-11-26."""

KV_BLOCK_TOKENS = 256
"""The planned KV-cache token capacity is rounded down to a multiple of this (vLLM allocates blocks of
16 tokens, TGI pages; 256 keeps the estimate on the safe side of either)."""

UNKNOWN_ACCELERATOR_TFLOPS = 100.0
"""Peak dense bf16 TFLOPS assumed for a GPU the speed data's accelerator table does not list (a user
catalog may add one): below every listed SageMaker GPU (A10G 125, L4 121), so its prefill and
throughput estimates err slow. Assumption, recorded 2026-11-30."""

PRICE_MAX_AGE_DAYS = 90
"""Catalog prices older than this trigger a warning in `sagefit plan`."""

# Bits stored per quantized weight, including the quantizer's own scales and zero points.
# Embeddings (and an untied lm_head) stay in the model dtype: AWQ, GPTQ and bitsandbytes only
# replace the transformer's linear layers.
BITS_PER_WEIGHT: dict[str, float] = {
    "bitsandbytes": 8.0,  # LLM.int8(): int8 weights, per-row fp32 absmax (negligible)
    "eetq": 8.0,  # per-channel int8
    "awq": 4.0 + (16 + 4) / 128,  # 4-bit, fp16 scale + 4-bit zero per 128-weight group
    "gptq": 4.0 + (16 + 4) / 128,  # same group-wise layout as AWQ at group size 128
    "bitsandbytes-nf4": 4.0 + 32 / 64,  # 4-bit, fp32 absmax per 64-weight block
    "bitsandbytes-fp4": 4.0 + 32 / 64,
}

DTYPE_BYTES: dict[str, int] = {"float16": 2, "bfloat16": 2}

SOURCE = "sagefit/core/assumptions.py"

SCALING_BUDGET_SHARE = 0.25
"""Default monthly budget of a scale-to-zero or async endpoint, as a share of one instance running
all month: past a quarter of always-on, scaling to zero has stopped paying for its cold starts."""


# ==============================================================================================
# Scaling policy the stacks render
#
# stacks/scaling.py imports these and `sagefit cost` simulates the same numbers, so the simulated
# endpoint and the deployed one cannot drift apart. They are settings, not guesses.

SCALE_IN_COOLDOWN_S = 600
"""Target tracking ScaleInCooldown: after one scale-in, the next waits 10 minutes (long enough not
to flap on bursty traffic). It spaces successive scale-ins (2 -> 1 -> 0); it does not delay the
first one, which waits for the scale-in alarm instead."""

SCALE_OUT_COOLDOWN_S = 60
"""Target tracking ScaleOutCooldown, and the cooldown of the wake-from-zero step policy."""

WAKE_ALARM_PERIOD_S = 60
"""Period of the wake-from-zero alarm (NoCapacityInvocationFailures for scale-to-zero,
HasBacklogWithoutCapacity for async) and of the metrics it reads."""

WAKE_ALARM_EVALUATION_PERIODS = 1
"""The wake-from-zero alarm fires on the first breaching period (threshold >= 1)."""

BLUE_GREEN_WAIT_S = 300
"""Blue/green update of an instance endpoint: the bake after traffic moves to the new fleet, watched by
the rollback alarm (TrafficRoutingConfiguration.WaitIntervalInSeconds)."""

BLUE_GREEN_TERMINATION_WAIT_S = 300
"""Blue/green update: how long the old fleet stays (and bills) after the bake, ready for a rollback
(BlueGreenUpdatePolicy.TerminationWaitInSeconds)."""

ROLLING_BATCH_PERCENT = 50
"""Inference-component rolling update: the batch, in percent of the copies. The API reference
(InferenceComponentRollingUpdatePolicy.MaximumBatchSize) allows "5% to 50% of the copy count"; at one
copy no COPY_COUNT batch fits that range, a percentage does at every count."""

ROLLING_WAIT_S = 120
"""Inference-component rolling update: the bake after each batch (WaitIntervalInSeconds)."""

INITIAL_INSTANCES = 1
"""InitialInstanceCount of every variant and CopyCount an inference component is created with: the
least AWS accepts at create (shape InitialTaskCount, min 1; a component created at copy count 0 was
refused in a live report, AWS_RULES). Never derived from the profile, so no bound change makes a new
endpoint config (a blue/green fleet) and no update asks for a count: autoscaling owns the count once
the endpoint exists (RegisterScalableTarget raises it to MinCapacity at once)."""

MANAGED_SCALE_IN_STRATEGY = "IDLE_RELEASE"
"""Managed instance scaling's ScaleInPolicy.Strategy on a profile's own inference-component endpoint.
The API reference (shape ProductionVariantManagedInstanceScalingScaleInPolicy, botocore 1.44) defines
IDLE_RELEASE as "Releases instances that have no hosted inference component copies" and CONSOLIDATION
as "Consolidates inference component copies onto fewer instances to release more instances". Such an
endpoint hosts one component, so IDLE_RELEASE is the strategy that names its case."""

SHARED_SCALE_IN_STRATEGY = "CONSOLIDATION"
"""ScaleInPolicy.Strategy on a shared endpoint: several members' copies share its instances, so a
scale-in can leave copies spread over more instances than they need; CONSOLIDATION moves them onto
fewer instances to release more (same API reference shape), where IDLE_RELEASE releases only instances
left with no copy at all."""

SHARED_SCALE_IN_MAX_STEP = 1
"""ScaleInPolicy.MaximumStepSize on a shared endpoint: "The maximum number of instances that the
endpoint can terminate at a time during a consolidation scale-in operation", 1-100, default 1 (same
API reference shape; Strategy is the policy's only required member). Rendered explicitly at the
default so the template says what consolidation may do."""

MANAGED_SCALE_IN_COOLDOWN_MIN = 5
"""ScaleInPolicy.CooldownInMinutes: "The cooldown period, in minutes, after the last endpoint operation
before the endpoint evaluates consolidation scale-in opportunities", 5-1440, default 20 (same API
reference shape). 5 is the shortest AWS accepts. The documentation ties the cooldown to consolidation
only; how long IDLE_RELEASE waits before releasing an instance with no copy is not documented.
``sagefit cost`` assumes an instance outlives its last copy by this cooldown
(``ScalingSpec.instance_release_s``): an assumption, unverified live."""


POOL_MAX_PRICE_RATIO = 2.0
"""Capacity fallback (``serving.instance_pool: auto``): a fallback instance costs at most this many
times the planned instance's hour. The budget, the runaway guard and ``sagefit cost`` price the
planned (priority 1) instance; a fallback dearer than twice that would more than double the hour
they price whenever capacity is short. An explicit ``instance_pool`` list is not capped."""

POOL_PROVISION_TIMEOUT_S = 1200
"""VariantInstanceProvisionTimeoutInSeconds of a pooled variant: how long SageMaker tries the pools, in
priority order, before the create or scale-out fails (API range 300-3600, aws_rules). 20 minutes
leaves each of up to five types a few minutes of insufficient-capacity retries and fails well inside
CloudFormation's wait, instead of the endpoint hanging in Creating for an hour."""

# ==============================================================================================
# Cost simulation (`sagefit cost`)
#
# Every figure the simulation rests on, with its source. The values in COST_ASSUMPTIONS can be
# overridden per run with `sagefit cost --assume NAME=VALUE`; `sagefit cost --list-assumptions`
# prints them. Billing model: SageMaker bills instance time per second, with no minimum; the
# simulation bills each instance from the scaling action that launches it (so provisioning and
# model loading are paid for, the conservative reading) until the action that removes it.

SIMULATION_MONTH_START = dt.date(2027, 8, 1)
"""Calendar used for generated traffic and schedules: a 31-day month (744 hours, the
HOURS_PER_MONTH convention) starting on a Sunday, so it has 22 weekdays (the average month has
21.7) and no daylight-saving change in the US, Europe or Australia. A trace brings its own dates."""

PROVISIONING_S_BY_SIZE: dict[str, float] = {
    "xlarge": 100,
    "2xlarge": 100,
    "4xlarge": 100,
    "8xlarge": 100,
    "16xlarge": 150,
    "12xlarge": 150,
    "24xlarge": 150,
    "48xlarge": 200,
}
"""Seconds from the scaling action to a running instance, by size. Single-GPU sizes: calibrated on
the AWS ML blog "Introducing container caching in Amazon SageMaker AI for faster model scaling"
(2026-06-16), where an ml.g4dn.xlarge with no model weights scaled out in 134 s P50 (provisioning
plus container start). Multi-GPU sizes: assumption (more devices to attach and health-check)."""

PROVISIONING_S_BY_FAMILY: dict[str, float] = {"p4d": 300, "p4de": 300, "p5": 300}
"""p4d/p4de/p5 override the size table: assumption (8-GPU hosts with EFA, scarcer capacity)."""


def instance_provisioning_s(instance_type: str) -> float:
    """Provisioning seconds for ``ml.<family>.<size>`` from the two tables above."""
    _, family, size = instance_type.split(".", 2)
    if family in PROVISIONING_S_BY_FAMILY:
        return PROVISIONING_S_BY_FAMILY[family]
    return PROVISIONING_S_BY_SIZE.get(size, max(PROVISIONING_S_BY_SIZE.values()))


# ---- cold start: what one does, by engine and by where the weights come from (sagefit.core.cold_start)
CONTAINER_START_S_BY_ENGINE: dict[str, float] = {"vllm": 35.0, "tgi": 25.0}
"""Seconds from a running instance to the serving process listening, image cached on the instance
(SageMaker caches images since 2026-06; an uncached pull adds ~270 s, AWS ML blog "Introducing
container caching in Amazon SageMaker AI for faster model scaling", 2026-06-16), weights not counted.

* ``vllm`` (the LMI image, DJL Serving in front of vLLM): 35 s, assumption (the figure sagefit has
  used since its first cost model): DJL Serving's JVM starts, then vLLM's engine, CUDA-graph capture.
* ``tgi``: 25 s, assumption: TGI's Rust launcher starts its Python shard directly (no JVM front end),
  then its warm-up prefill. Neither figure has a primary measurement; override with
  ``--assume container_start_s=``."""

WEIGHTS_DOWNLOAD_GB_S: dict[str, float] = {"hub": 0.21, "s3": 0.35}
"""Download rate of the weights onto the instance, by source (``model.model_data_s3_uri`` set: s3).

* ``hub`` (the Hugging Face Hub, the engine downloads at start-up): 0.21 GB/s, the figure sagefit has
  used so far. Its only published basis is a SageMaker measurement *from S3* (Qwen3-8B, 16.4 GB in
  77 s on ml.g6.2xlarge, the container-caching blog above); the Hub is assumed no faster. Estimate.
* ``s3`` (SageMaker fetches the uncompressed S3 prefix to /opt/ml/model before the container starts,
  SageMaker Developer Guide "Deploying uncompressed models"): 0.35 GB/s, estimate, unconfirmed: the
  Amazon S3 performance guidelines give about 85-90 MB/s per connection, and the shards of a model
  download in parallel (four at that rate: 0.35 GB/s). The blog's 0.21 GB/s from S3 on a 10 Gbps
  ml.g6.2xlarge is below it, so read this as an estimate for larger instances. SageMaker's Fast Model
  Loader (AWS ML blog, 2024-12-02: "up to 15 times faster" loading, streaming from S3 to the GPU)
  would be faster still; sagefit does not configure it."""

WEIGHTS_SOURCE_NAMES: dict[str, str] = {"hub": "the Hugging Face Hub", "s3": "S3 (model.model_data_s3_uri)"}

MODEL_LOAD_GB_S = 1.0
"""Safetensors from local disk into GPU memory, all shards in parallel: assumption."""


@dataclass(frozen=True)
class Assumption:
    """One overridable figure of the cost simulation."""

    name: str
    value: float | None
    unit: str
    source: str
    integer: bool = False


COST_ASSUMPTIONS: tuple[Assumption, ...] = (
    # ---- cold start: provisioning + container start + weights download + weights load
    Assumption(
        "instance_provisioning_s",
        None,
        "s",
        "by instance size/family: PROVISIONING_S_BY_SIZE / PROVISIONING_S_BY_FAMILY above",
    ),
    Assumption(
        "container_start_s",
        None,
        "s",
        "by the plan's engine (CONTAINER_START_S_BY_ENGINE above: vllm/LMI 35 s, tgi 25 s, assumptions), "
        "image cached on the instance (add ~270 s for an uncached pull, container-caching blog 2026-06-16)",
    ),
    Assumption(
        "model_download_gb_s",
        None,
        "GB/s",
        "by where the weights come from (WEIGHTS_DOWNLOAD_GB_S above): the Hugging Face Hub 0.21 GB/s, "
        "S3 (model.model_data_s3_uri) 0.35 GB/s; estimates, sources above",
    ),
    Assumption(
        "model_load_gb_s",
        MODEL_LOAD_GB_S,
        "GB/s",
        "assumption: safetensors from local NVMe into GPU memory, all shards in parallel",
    ),
    # ---- AWS behaviour
    Assumption(
        "alarm_delay_s",
        60,
        "s",
        "assumption: a 1-minute CloudWatch datapoint is published and evaluated about a minute after its period ends",
    ),
    Assumption(
        "scale_out_periods",
        3,
        "1-min datapoints",
        "Application Auto Scaling target tracking: its AlarmHigh alarm needs 3 of 3 one-minute datapoints",
        integer=True,
    ),
    Assumption(
        "scale_in_periods",
        15,
        "1-min datapoints",
        "Application Auto Scaling target tracking: its AlarmLow alarm needs 15 of 15 one-minute "
        "datapoints; an endpoint scales to zero after this many minutes without a request",
        integer=True,
    ),
    Assumption(
        "scale_in_ratio",
        0.9,
        "x target",
        "Application Auto Scaling docs: scale-in starts when the metric is 'typically more than 10% "
        "lower' than the target",
    ),
    Assumption(
        "async_request_ttl_s",
        21600,
        "s",
        "InvokeEndpointAsync RequestTTLSeconds default (6 hours): a queued async request older than this expires",
    ),
    # ---- the stack's own settings (what-if overrides only)
    Assumption("scale_in_cooldown_s", SCALE_IN_COOLDOWN_S, "s", "stack setting (stacks/scaling.py)"),
    Assumption("scale_out_cooldown_s", SCALE_OUT_COOLDOWN_S, "s", "stack setting (stacks/scaling.py)"),
    Assumption("wake_alarm_period_s", WAKE_ALARM_PERIOD_S, "s", "stack setting (stacks/scaling.py)"),
    Assumption(
        "wake_alarm_evaluation_periods",
        WAKE_ALARM_EVALUATION_PERIODS,
        "periods",
        "stack setting (stacks/scaling.py)",
        integer=True,
    ),
    # ---- requests
    Assumption(
        "input_tokens",
        None,
        "tokens/request",
        "default: the profile's serving.max_input_tokens (a trace's tokens_in column wins)",
        integer=True,
    ),
    Assumption(
        "output_tokens",
        None,
        "tokens/request",
        "default: the profile's output budget, max_total_tokens - max_input_tokens, the request the "
        "scaling target is sized for (a trace's tokens_out column wins)",
        integer=True,
    ),
    Assumption(
        "prefill_tokens_per_s",
        None,
        "tokens/s",
        "the plan's time to first token for its prompt length (sagefit.core.performance, calibrated on "
        "published measurements; `make bench` prints its error)",
    ),
    # ---- presentation
    Assumption(
        "breakeven_saving",
        0.05,
        "share",
        "assumption: where scaling to zero saves less than this share of always-on, always-on is the "
        "better buy (no cold starts); the --plot marks it when the curves never cross",
    ),
)
