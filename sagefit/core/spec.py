"""The deployment spec: every value a stack, the cost simulator, an operation or the hard cap reads.

The planner builds one :class:`DeploymentSpec` per profile (``Plan.spec``), and nothing downstream
derives a number again: the stacks copy these values into the template, ``sagefit cost`` simulates
these bounds and targets, and ``status``, ``resume`` and the hard cap act on these names and ids.
Each value has exactly one source, the function in :mod:`sagefit.core` that computes it, which this
module calls once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from sagefit.core import assumptions as A
from sagefit.core import budget, naming, serving
from sagefit.core.cold_start import ColdStartFigures, WeightsSource, cold_starts_by_source
from sagefit.core.engines import get_engine
from sagefit.core.model_data import ModelData
from sagefit.core.modes import CapHold, ScalingMode, scalable_resource_id
from sagefit.core.performance import SpeedFigures
from sagefit.core.pools import PoolMember, pool_members
from sagefit.core.profile_budget import HardCapAction
from sagefit.core.profile_network import Network
from sagefit.core.profile_scaling import ScheduledCapacity

if TYPE_CHECKING:
    from sagefit.core.planner import Plan


@dataclass(frozen=True)
class Names:
    """Physical names and tags; only what is updated in place is named (see :mod:`naming`)."""

    stack: str
    endpoint: str
    variant: str
    inference_component: str | None
    budget: str
    alarm_prefix: str
    cost_tag_key: str = naming.COST_TAG_KEY

    @property
    def cost_tag_value(self) -> str:
        return self.stack


@dataclass(frozen=True)
class ContainerSpec:
    """The serving container: image, environment and the limits SageMaker enforces on it."""

    engine: str
    version: str
    environment: Mapping[str, str]
    """What the engine reads, without the Hugging Face token (a secret reference the stack adds)."""
    hf_token_secret: str | None
    """Secrets Manager secret the stack passes as ``hf_token_env``: only for a gated model the engine
    downloads from the Hub (staged weights never touch the Hub)."""
    hf_token_env: str
    model_data: ModelData | None
    """The staged weights the Model's container loads (None: the engine downloads from the Hub)."""
    startup_timeout_s: int
    volume_size_gb: int | None
    """None where SageMaker refuses VolumeSizeInGB (instances with local NVMe storage)."""
    accelerators: int
    """GPUs one copy of the model is sharded over (the tensor-parallel degree)."""
    min_memory_mb: int
    """Host memory an inference-component copy reserves."""
    max_input_tokens: int
    """The longest prompt the container accepts, in tokens (serving.max_input_tokens)."""
    max_total_tokens: int
    """Prompt plus generated tokens one request may hold (serving.max_total_tokens)."""
    inference_ami_version: str | None = None
    """The host AMI the image needs (ProductionVariant.InferenceAmiVersion), None for the default
    driver: :func:`sagefit.core.serving.inference_ami_version`."""

    @property
    def model_data_s3_uri(self) -> str | None:
        return self.model_data.uri if self.model_data else None

    @property
    def weights_source(self) -> WeightsSource:
        """S3 when the weights are staged (SageMaker fetches them), else the Hub (the engine downloads)."""
        return "s3" if self.model_data else "hub"


@dataclass(frozen=True)
class AdapterSpec:
    """One LoRA adapter served as an adapter inference component on the plan's component."""

    profile_name: str
    component_name: str
    artifact_url: str
    """The adapter's .tar.gz in S3 (the component's Container.ArtifactUrl); the role may read only it."""
    rank: int


@dataclass(frozen=True)
class ScalingSpec:
    """What Application Auto Scaling registers and tracks, and the capacity the cap holds."""

    mode: ScalingMode
    resource_id: str
    dimension: str
    min_capacity: int
    max_capacity: int
    schedules: tuple[ScheduledCapacity, ...]
    target_value: float
    """What the profile's mode target-tracks: concurrent requests per copy (inference components),
    invocations per minute per instance (real-time variants), or backlog per instance (async)."""
    concurrency_target: float
    """Invocations per minute per instance (or copy); for async, backlog per instance."""
    invocations_target: float
    """The real-time target (invocations per minute per instance), whatever this profile's mode:
    ``sagefit cost`` simulates every mode of the same plan, so it needs both targets."""
    backlog_target: float
    """The async target (ApproximateBacklogSizePerInstance), whatever this profile's mode."""
    slots: int
    """Requests one instance (or copy) serves at once."""
    request_seconds: float
    """Seconds one full-length request takes at the estimated decode speed."""
    scale_in_cooldown_s: int
    scale_out_cooldown_s: int
    wake_period_s: int
    wake_evaluation_periods: int
    managed_scale_in_strategy: str
    """Inference-component endpoints: ScaleInPolicy.Strategy (IDLE_RELEASE: one component per endpoint;
    a shared endpoint's is in :class:`sagefit.core.shared_spec.SharedDeploymentSpec`)."""
    managed_scale_in_cooldown_min: int
    """Inference-component endpoints: ScaleInPolicy.CooldownInMinutes, which ``sagefit cost`` takes as the
    minutes an instance stays (and bills) after its last copy is removed (an assumption: see
    :data:`sagefit.core.assumptions.MANAGED_SCALE_IN_COOLDOWN_MIN`)."""

    @property
    def instance_release_s(self) -> int:
        """Seconds an inference-component instance outlives its last copy (the scale-in cooldown)."""
        return self.managed_scale_in_cooldown_min * 60

    def target_for(self, mode: ScalingMode) -> float:
        """The target-tracking value the stack would render if the profile ran in ``mode``."""
        if mode.tracks_concurrency:
            return self.concurrency_target
        return self.backlog_target if mode.is_async else self.invocations_target

    @property
    def capped_capacity(self) -> int:
        """Capacity under the hard cap: 0, or the minimum where the mode cannot reach 0."""
        return 0 if self.mode.cap_hold is CapHold.ZERO else self.min_capacity


@dataclass(frozen=True)
class UpdateSpec:
    """How a stack update replaces what runs: the policies the stack renders and `sagefit diff` prices."""

    initial_instances: int
    """InitialInstanceCount of the variant, CopyCount the inference component is created with."""
    blue_green_wait_s: int
    termination_wait_s: int
    max_execution_s: int
    """Blue/green MaximumExecutionTimeoutInSeconds: two container starts and the waits, at most 8 hours."""
    rolling_batch_percent: int
    rolling_wait_s: int

    def blue_green_overlap_s(self, startup_s: float) -> float:
        """Seconds a new fleet bills next to the old one: its start, the bake, the termination wait."""
        return startup_s + self.blue_green_wait_s + self.termination_wait_s


@dataclass(frozen=True)
class BudgetSpec:
    """The cost guard's budget and the hard cap's trigger."""

    monthly_usd: float
    thresholds: tuple[tuple[str, float], ...]
    """Budget notifications: (ACTUAL or FORECASTED, percent of the limit)."""
    idle_day_usd: float
    hard_cap: bool
    hard_cap_percent: float
    hard_cap_action: HardCapAction
    max_fleet_instances: int
    """Instances the largest fleet the plan allows bills for (budget.max_fleet_instances)."""
    max_burn_usd_per_hour: float
    """What that fleet costs an hour at the plan's price."""
    hours_to_burn: float
    """Hours the largest fleet takes to spend ``monthly_usd`` (the plan-time runaway guard's figure)."""
    min_hours_to_burn: float
    fast_burn_acknowledged: bool

    @property
    def deletes_endpoint(self) -> bool:
        return self.hard_cap_action == "delete-endpoint"


@dataclass(frozen=True)
class DeploymentSpec:
    """One profile, planned: what to deploy, how it scales, what it may cost."""

    profile_name: str
    region: str
    model_id: str
    instance_type: str
    local_nvme: bool
    price_per_hour: float
    catalog_source: str
    """The catalog file the instance's figures and price come from."""
    max_concurrent_requests: int
    overflow: str
    """What the engine does past ``max_concurrent_requests``: ``queue`` (vLLM) or ``reject`` (TGI, 429)."""
    speed: SpeedFigures
    """Single-stream decode, time to first token and throughput at the planned concurrency (estimates)."""
    names: Names
    container: ContainerSpec
    scaling: ScalingSpec
    budget: BudgetSpec
    update: UpdateSpec
    cold_start: ColdStartFigures
    """What a cold start does on this plan: provisioning, the engine's start, the weights' download
    from their source and load (estimates, :mod:`sagefit.core.cold_start`)."""
    cold_start_by_source: Mapping[WeightsSource, ColdStartFigures] = field(default_factory=dict)
    """The cold start with the weights from the Hub and from S3 (``cold_start`` is one of them): what
    `sagefit plan` shows staging to save."""
    network: Network = field(default_factory=Network)
    """The profile's ``network:`` (VPC placement, isolation); empty: SageMaker's own network."""
    adapters: tuple[AdapterSpec, ...] = ()
    """Adapter inference components on ``names.inference_component`` (adapter profiles naming this base)."""
    pool: tuple[PoolMember, ...] = ()
    """Capacity fallback: the instance pools in priority order, ``instance_type`` first (each with its
    own container settings); empty: the variant has one InstanceType (:mod:`sagefit.core.pools`)."""
    pool_provision_timeout_s: int = A.POOL_PROVISION_TIMEOUT_S
    """VariantInstanceProvisionTimeoutInSeconds of a pooled variant."""

    @property
    def pool_types(self) -> tuple[str, ...]:
        return tuple(member.instance_type for member in self.pool)

    @property
    def fallbacks(self) -> tuple[PoolMember, ...]:
        """The pool after its first member: what runs only when the planned instance is short."""
        return self.pool[1:]

    @property
    def instance_prices(self) -> tuple[tuple[str, float], ...]:
        """$ per instance-hour of each type the variant may run, priority order (the pool members'
        planned prices; one type without a pool): the spend meter prices each type it sees at its own."""
        pool = tuple((m.instance_type, m.price_per_hour) for m in self.pool)
        return pool or ((self.instance_type, self.price_per_hour),)

    @property
    def mode(self) -> ScalingMode:
        return self.scaling.mode

    @property
    def max_metered_instances(self) -> int:
        """The most instances the plan lets run (the spend meter's runaway alarm fires above it): the
        endpoint's ``MaxInstanceCount`` for inference components (``scaling.max_capacity``), else the
        highest maximum, since a schedule's action may raise a variant's ``MaxCapacity`` above it."""
        scaling = self.scaling
        if scaling.mode.uses_inference_component:
            return scaling.max_capacity
        return max([scaling.max_capacity, *(s.max_capacity for s in scaling.schedules)])

    def hard_cap_settings(self) -> dict[str, object]:
        """The hard cap's configuration, less what only exists at deploy time (account, topic ARN).

        Keys are :class:`sagefit.hardcap.config.CapConfig` fields; the stack and ``sagefit resume``
        both build the cap's configuration from this one mapping.
        """
        scaling = self.scaling
        return {
            "stack_name": self.names.stack,
            "budget_name": self.names.budget,
            "endpoint_name": self.names.endpoint,
            "inference_component_name": self.names.inference_component,
            "variant_name": self.names.variant,
            "resource_id": scaling.resource_id,
            "dimension": scaling.dimension,
            "cap_hold": scaling.mode.cap_hold.value,
            "min_capacity": scaling.min_capacity,
            "max_capacity": scaling.max_capacity,
            "capped_capacity": scaling.capped_capacity,
            "hard_cap_percent": self.budget.hard_cap_percent,
            "hard_cap_action": self.budget.hard_cap_action,
            "monthly_budget_usd": self.budget.monthly_usd,
        }


def build_spec(plan: Plan) -> DeploymentSpec:
    """Derive every deployable value from a plan, once."""
    profile = plan.profile
    mode = profile.scaling.mode
    pool = pool_members(plan)
    names = Names(
        stack=profile.stack_name,
        endpoint=naming.endpoint_name(profile, plan.instance_type, tuple(m.instance_type for m in pool)),
        variant=naming.VARIANT_NAME,
        inference_component=naming.inference_component_name(profile),
        budget=naming.budget_name(profile),
        alarm_prefix=naming.alarm_prefix(profile),
    )
    needs = serving.inference_component_requirements(plan)
    model_data = ModelData.from_uri(profile.model.model_data_s3_uri)
    container = ContainerSpec(
        engine=plan.engine,
        version=serving.container_version(plan),
        environment=MappingProxyType(serving.container_environment(plan)),
        # The token is for the engine's Hub download: none when the weights are staged in S3 (the
        # container loads /opt/ml/model), which an isolated container requires (profile_network).
        hf_token_secret=profile.model.hf_token_secret if profile.model.gated and model_data is None else None,
        hf_token_env=serving.HF_TOKEN_ENV,
        model_data=model_data,
        startup_timeout_s=serving.startup_timeout_s(plan),
        volume_size_gb=serving.volume_size_gb(plan),
        accelerators=needs.accelerators,
        min_memory_mb=needs.min_memory_mb,
        max_input_tokens=plan.max_input_tokens,
        max_total_tokens=plan.max_total_tokens,
        inference_ami_version=serving.inference_ami_version(plan),
    )
    cold_starts = cold_starts_by_source(plan)
    bounds = profile.scaling
    invocations_target = serving.invocations_per_minute_target(plan)
    concurrency_target = serving.concurrency_per_copy_target(plan)
    backlog_target = serving.async_backlog_target(plan)
    scaling = ScalingSpec(
        mode=mode,
        resource_id=scalable_resource_id(mode, names.endpoint, names.variant, names.inference_component),
        dimension=mode.scalable_dimension,
        min_capacity=bounds.min_capacity,
        max_capacity=bounds.max_capacity,
        schedules=bounds.schedules,
        target_value=(
            concurrency_target if mode.tracks_concurrency else backlog_target if mode.is_async else invocations_target
        ),
        concurrency_target=concurrency_target,
        invocations_target=invocations_target,
        backlog_target=backlog_target,
        slots=serving.concurrency_slots(plan),
        request_seconds=serving.request_seconds(plan),
        scale_in_cooldown_s=A.SCALE_IN_COOLDOWN_S,
        scale_out_cooldown_s=A.SCALE_OUT_COOLDOWN_S,
        wake_period_s=A.WAKE_ALARM_PERIOD_S,
        wake_evaluation_periods=A.WAKE_ALARM_EVALUATION_PERIODS,
        managed_scale_in_strategy=A.MANAGED_SCALE_IN_STRATEGY,
        managed_scale_in_cooldown_min=bounds.scale_in_cooldown_minutes or A.MANAGED_SCALE_IN_COOLDOWN_MIN,
    )
    update = UpdateSpec(
        initial_instances=A.INITIAL_INSTANCES,
        blue_green_wait_s=A.BLUE_GREEN_WAIT_S,
        termination_wait_s=A.BLUE_GREEN_TERMINATION_WAIT_S,
        # BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds: 600-28800 (cfn-lint schema).
        max_execution_s=min(28800, 2 * container.startup_timeout_s + 1200),
        rolling_batch_percent=A.ROLLING_BATCH_PERCENT,
        rolling_wait_s=A.ROLLING_WAIT_S,
    )
    cap = profile.budget
    budget_spec = BudgetSpec(
        monthly_usd=budget.monthly_budget_usd(plan),
        thresholds=budget.budget_thresholds(profile),
        idle_day_usd=budget.idle_day_cost_usd(plan),
        hard_cap=cap.hard_cap,
        hard_cap_percent=float(cap.hard_cap_percent),
        hard_cap_action=cap.hard_cap_action,
        max_fleet_instances=budget.max_fleet_instances(plan),
        max_burn_usd_per_hour=budget.max_burn_usd_per_hour(plan),
        hours_to_burn=budget.hours_to_burn(plan),
        min_hours_to_burn=float(cap.min_hours_to_burn),
        fast_burn_acknowledged=cap.acknowledge_fast_burn,
    )
    return DeploymentSpec(
        profile_name=profile.name,
        region=profile.region,
        model_id=profile.model.hf_model_id,
        instance_type=plan.instance_type,
        local_nvme=plan.instance.local_nvme,
        price_per_hour=plan.price_per_hour,
        catalog_source=plan.catalog_source,
        max_concurrent_requests=plan.max_concurrent_requests,
        overflow=get_engine(plan.engine).overflow.mode,
        speed=plan.fit.speed,
        names=names,
        container=container,
        scaling=scaling,
        budget=budget_spec,
        update=update,
        cold_start=cold_starts[container.weights_source],
        cold_start_by_source=MappingProxyType(cold_starts),
        network=profile.network,
        adapters=tuple(
            AdapterSpec(
                profile_name=item.adapter.name,
                component_name=item.component_name,
                artifact_url=item.adapter.adapter_s3_uri,
                rank=item.adapter.rank,
            )
            for item in plan.adapters
        ),
        pool=pool,
    )
