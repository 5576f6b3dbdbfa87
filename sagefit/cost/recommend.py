"""`sagefit recommend`: the cheapest configurations of one profile that meet a latency target.

The search re-plans the profile on every catalog instance the model fits (each pinned in turn, so the
plan's own sizing, speed and limits hold), and simulates a month of the given traffic
(:mod:`sagefit.cost.simulate`) under each scaling mode, each schedule variant (none, the profile's own,
warm in office hours) and, on inference components, a few ScaleInPolicy cooldowns. A configuration
meets the target when the p95 of its requests' latency (queueing, a cold start where one met it, and
service) is within the target and no request is lost (failed, refused, expired or left queued).

The search is bounded so it answers in seconds: the traffic is generated once, each instance's
per-minute view once; an instance whose single request already takes longer than every target is
skipped, and so is one whose busy time alone would cost more than the cheapest configuration found
so far (instances are tried cheapest first).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sagefit.core.catalog import Catalog
from sagefit.core.errors import SagefitError
from sagefit.core.modes import ScalingMode
from sagefit.core.planner import Plan, fitting_instances, plan_profile
from sagefit.core.profile_scaling import ScheduledCapacity
from sagefit.core.profiles import LoadedProfile
from sagefit.cost.arrivals import HORIZON_S, Traffic
from sagefit.cost.report import REALTIME_TIMEOUT_S, mode_spec, service_times
from sagefit.cost.settings import CostSettings, resolve
from sagefit.cost.simulate import Minutes, ModeResult, simulate

ASYNC_TARGET_S = 900
"""Default target of async modes: InvokeEndpointAsync's InvocationTimeoutSeconds default, "15 minutes,
or 900 seconds" (Amazon SageMaker Runtime API reference, InvokeEndpointAsync): what an async request
may take by default before SageMaker marks it expired."""
DEFAULT_TARGET_NOTE = (
    f"default target: p95 latency {REALTIME_TIMEOUT_S} s on real-time modes (InvokeEndpoint's "
    f"{REALTIME_TIMEOUT_S} s limit), {ASYNC_TARGET_S} s on async (InvokeEndpointAsync's default "
    "InvocationTimeoutSeconds); --p95-latency sets one target for every mode"
)
COOLDOWNS_MIN = (5, 20, 60)
"""ScaleInPolicy.CooldownInMinutes values tried on inference components (AWS accepts 5-1440)."""
OFFICE_START, OFFICE_END = 8, 18
"""Office hours a schedule keeps warm: 08:00-18:00 on weekdays, in the profile's time_zone."""


def office_hours(max_capacity: int, time_zone: str) -> tuple[ScheduledCapacity, ...]:
    """One instance kept warm 08:00-18:00 on weekdays, free to scale to zero outside."""
    return (
        ScheduledCapacity(
            name="office-warm",
            schedule=f"cron(0 {OFFICE_START} ? * MON-FRI *)",
            min_capacity=1,
            max_capacity=max_capacity,
            time_zone=time_zone,
        ),
        ScheduledCapacity(
            name="office-cold",
            schedule=f"cron(0 {OFFICE_END} ? * MON-FRI *)",
            min_capacity=0,
            max_capacity=max_capacity,
            time_zone=time_zone,
        ),
    )


@dataclass(frozen=True)
class Config:
    """One configuration tried: where and how the profile would run."""

    instance_type: str
    mode: ScalingMode
    schedules: str
    """``none``, ``profile`` (the profile's own) or ``office-hours``."""
    cooldown_min: int | None
    """Inference components only: ScaleInPolicy.CooldownInMinutes."""


@dataclass(frozen=True)
class Outcome:
    """A configuration's simulated month."""

    config: Config
    plan: Plan
    result: ModeResult
    target_s: float
    unconfirmed: tuple[str, ...]
    scheduled: tuple[ScheduledCapacity, ...]

    @property
    def cost(self) -> float:
        return self.result.cost

    @property
    def lost(self) -> int:
        r = self.result
        return r.failed + r.rejected + r.expired + r.unfinished

    @property
    def meets(self) -> bool:
        return self.lost == 0 and self.result.latency_p95_s <= self.target_s

    def to_dict(self) -> dict[str, Any]:
        c, r = self.config, self.result
        p95 = r.latency_p95_s
        return {
            "instance_type": c.instance_type,
            "mode": c.mode.value,
            "schedules": c.schedules,
            "scale_in_cooldown_minutes": c.cooldown_min,
            "price_per_hour": self.plan.price_per_hour,
            "cost_usd": round(self.cost, 2),
            "latency_p95_s": None if p95 == float("inf") else round(p95, 1),
            "target_s": self.target_s,
            "meets_target": self.meets,
            "lost_requests": self.lost,
            "cold_starts": r.cold_starts,
            "unconfirmed": list(self.unconfirmed),
        }


@dataclass
class Recommendation:
    """What the search found, against the profile as written."""

    as_written: Outcome
    outcomes: list[Outcome]
    traffic: Traffic
    target_note: str
    searched: int = 0
    pruned: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def meeting(self) -> list[Outcome]:
        return sorted((o for o in self.outcomes if o.meets), key=lambda o: (o.cost, o.result.latency_p95_s))

    @property
    def best(self) -> Outcome | None:
        meeting = self.meeting
        return meeting[0] if meeting else None

    @property
    def best_same_api(self) -> Outcome | None:
        """The cheapest that meets the target and keeps the profile's calling contract (real-time or
        async): moving between the two changes how callers invoke the endpoint."""
        written = self.as_written.config.mode.is_async
        return next((o for o in self.meeting if o.config.mode.is_async == written), None)

    def changes(self) -> dict[tuple[str, ...], Any]:
        """What ``--write`` changes in the profile: nothing when no configuration meets the target."""
        best = self.best
        return {} if best is None else changes_to(best, self.as_written)

    def saving(self) -> tuple[float, float] | None:
        """(USD, share) the best saves against the profile as written; None when it saves nothing."""
        best = self.best
        base = self.as_written.cost
        if best is None or best.cost >= base:
            return None
        return base - best.cost, (base - best.cost) / base if base else 0.0


def changes_to(best: Outcome, as_written: Outcome) -> dict[tuple[str, ...], Any]:
    """The profile fields ``best`` changes against the profile as written (for ``--write``): field path
    -> new value, or :data:`~sagefit.core.profile_edit.DELETE` to fall back to the default."""
    from sagefit.core.profile_edit import DELETE

    config, old = best.config, as_written.config
    out: dict[tuple[str, ...], Any] = {}
    if config.instance_type != old.instance_type:
        out[("serving", "instance_type")] = config.instance_type
    if config.mode is not old.mode:
        out[("scaling", "mode")] = config.mode.value
        if config.mode.can_scale_to_zero != old.mode.can_scale_to_zero:  # mode_spec starts from the new floor
            out[("scaling", "min_capacity")] = config.mode.min_capacity_floor
    if config.schedules != old.schedules:
        if config.schedules == "none":
            out[("scaling", "schedules")] = DELETE
        elif config.schedules == "office-hours":
            out[("scaling", "schedules")] = [s.model_dump(mode="json") for s in best.scheduled]
    if config.cooldown_min is not None and config.cooldown_min != best.plan.spec.scaling.managed_scale_in_cooldown_min:
        out[("scaling", "scale_in_cooldown_minutes")] = config.cooldown_min
    return out


def unconfirmed_figures(plan: Plan) -> tuple[str, ...]:
    """What this plan's figures rest on that no primary source confirmed (the catalog's flags)."""
    instance = plan.instance
    acc = instance.accelerator
    flags = (
        ("price", instance.price_confirmed),
        ("memory", acc.memory_confirmed),
        ("bandwidth", acc.bandwidth_confirmed),
    )
    return tuple(name for name, confirmed in flags if not confirmed)


def target_for(mode: ScalingMode, target: float | None) -> float:
    """The p95 target of ``mode``: the given one, else the mode's documented default."""
    if target is not None:
        return target
    return float(REALTIME_TIMEOUT_S if mode.is_realtime else ASYNC_TARGET_S)


def _pinned(loaded: LoadedProfile, instance_type: str) -> LoadedProfile:
    profile = loaded.profile
    serving = profile.serving.model_copy(update={"instance_type": instance_type})
    return loaded.model_copy(update={"profile": profile.model_copy(update={"serving": serving})})


def _variants(plan: Plan) -> Iterator[tuple[ScalingMode, str, tuple[ScheduledCapacity, ...], int | None]]:
    """(mode, schedule name, schedules, cooldown) for every configuration of one instance."""
    profile = plan.profile
    own = profile.scaling.schedules
    office = office_hours(profile.scaling.max_capacity, profile.time_zone)
    for mode in ScalingMode:
        options: list[tuple[str, tuple[ScheduledCapacity, ...]]] = [("none", ())]
        if own:
            options.append(("profile", own))
        if mode.can_scale_to_zero:
            options.append(("office-hours", office))
        cooldowns: tuple[int | None, ...] = COOLDOWNS_MIN if mode.uses_inference_component else (None,)
        for name, scheduled in options:
            if name == "profile" and not all(s.min_capacity >= mode.min_capacity_floor for s in own):
                continue
            for cooldown in cooldowns:
                yield mode, name, scheduled, cooldown


def _run(
    plan: Plan,
    traffic: Traffic,
    settings: CostSettings,
    view: Minutes,
    service: Any,
    config: Config,
    scheduled: tuple[ScheduledCapacity, ...],
    target: float | None,
) -> Outcome:
    if config.cooldown_min is not None:
        settings = dataclasses.replace(settings, instance_release_s=config.cooldown_min * 60.0)
    spec = mode_spec(plan, config.mode, traffic, scheduled=scheduled)
    result = simulate(traffic.arrivals, service, spec, settings, HORIZON_S, view)
    return Outcome(config, plan, result, target_for(config.mode, target), unconfirmed_figures(plan), scheduled)


def _as_written(plan: Plan, traffic: Traffic, target: float | None) -> Outcome:
    settings = resolve(plan)
    _, _, service = service_times(traffic, settings)
    view = Minutes(traffic.arrivals, service, HORIZON_S)
    scaling = plan.spec.scaling
    cooldown = scaling.managed_scale_in_cooldown_min if scaling.mode.uses_inference_component else None
    config = Config(plan.instance_type, scaling.mode, "profile" if scaling.schedules else "none", cooldown)
    return _run(plan, traffic, settings, view, service, config, scaling.schedules, target)


def recommend(
    loaded: LoadedProfile,
    traffic: Traffic,
    target: float | None = None,
    catalog: Catalog | None = None,
) -> Recommendation:
    """Search every fitting instance, mode, schedule variant and cooldown for ``traffic``."""
    started = time.perf_counter()
    base = plan_profile(loaded, catalog)
    note = DEFAULT_TARGET_NOTE if target is None else f"target: p95 latency {target:g} s on every mode (--p95-latency)"
    found = Recommendation(_as_written(base, traffic, target), [], traffic, note)
    slowest_target = max(target_for(m, target) for m in ScalingMode)
    best = float("inf")
    for instance_type in fitting_instances(loaded, catalog):
        try:
            plan = plan_profile(_pinned(loaded, instance_type), catalog)
        except SagefitError as exc:  # e.g. the runaway guard: this instance's fleet burns the budget too fast
            found.pruned.append(f"{instance_type}: {exc.problem}")
            continue
        settings = resolve(plan)
        _, _, service = service_times(traffic, settings)
        quickest = float(service.min()) if service.size else 0.0
        if quickest > slowest_target:
            found.pruned.append(f"{instance_type}: a request takes {quickest:.0f} s, over every target")
            continue
        busy_floor = float(service.sum()) / max(1, settings.slots) / 3600 * plan.price_per_hour
        if busy_floor >= best:
            found.pruned.append(f"{instance_type}: its busy time alone costs ${busy_floor:,.2f}, above the best found")
            continue
        view = Minutes(traffic.arrivals, service, HORIZON_S)
        too_slow = [m for m in ScalingMode if quickest > target_for(m, target)]
        if too_slow:
            found.pruned.append(
                f"{instance_type} {', '.join(m.value for m in too_slow)}: a request takes {quickest:.0f} s at the "
                f"planned concurrency, over the {min(target_for(m, target) for m in too_slow):g} s target"
            )
        for mode, name, scheduled, cooldown in _variants(plan):
            if mode in too_slow:
                continue
            config = Config(instance_type, mode, name, cooldown)
            outcome = _run(plan, traffic, settings, view, service, config, scheduled, target)
            found.searched += 1
            found.outcomes.append(outcome)
            if outcome.meets:
                best = min(best, outcome.cost)
    found.elapsed_s = time.perf_counter() - started
    return found
