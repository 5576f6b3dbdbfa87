"""`sagefit cost`: run the month for each scaling mode and report it, for people and for programs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from sagefit.core import assumptions as A
from sagefit.core.assumptions import WEIGHTS_SOURCE_NAMES
from sagefit.core.catalog import PACKAGED_CATALOG
from sagefit.core.modes import ScalingMode
from sagefit.core.planner import Plan
from sagefit.core.profile_scaling import ScheduledCapacity
from sagefit.cost.arrivals import HORIZON_S, Traffic
from sagefit.cost.schedule import bounds_over_month
from sagefit.cost.settings import CostSettings
from sagefit.cost.simulate import Minutes, ModeResult, ModeSpec, simulate

if TYPE_CHECKING:  # rich is imported only when a table is printed
    from rich.table import Table


def estimate_note(catalog_source: str = PACKAGED_CATALOG) -> str:
    """The closing note, naming the catalog file the plan's prices came from."""
    return (
        f"every figure is an estimate from a simulated month; assumptions in {A.SOURCE} "
        "(`sagefit cost --list-assumptions`, override with --assume NAME=VALUE), "
        f"hardware and prices in {catalog_source}"
    )


ESTIMATE_NOTE = estimate_note()
REALTIME_TIMEOUT_S = 60
"""InvokeEndpoint (real-time) waits this long for the container's response."""
BASELINE = ScalingMode.ALWAYS_ON
"""The mode every saving is measured against: it is always simulated, whatever ``--mode`` asks for."""


def with_baseline(modes: Iterable[ScalingMode | str]) -> tuple[ScalingMode, ...]:
    """``modes`` as ScalingMode members (the command line passes their spellings), the baseline first."""
    wanted = [ScalingMode(m) for m in modes]
    return (BASELINE, *(m for m in wanted if m is not BASELINE))


@dataclass(frozen=True)
class CostEstimate:
    """Every simulated mode's month, the modes asked for, and the notes that qualify the figures."""

    plan: Plan
    traffic: Traffic
    settings: CostSettings
    results: dict[ScalingMode, ModeResult]
    shown: tuple[ScalingMode, ...]
    seed: int
    notes: tuple[str, ...]
    max_service_s: float

    @property
    def always_on(self) -> ModeResult:
        return self.results[BASELINE]

    def saving(self, mode: ScalingMode) -> tuple[float, float] | None:
        """(USD, share) saved against always-on; None for always-on itself."""
        if mode is BASELINE:
            return None
        base = self.always_on.cost
        usd = base - self.results[mode].cost
        return usd, (usd / base if base else 0.0)


def mode_spec(
    plan: Plan,
    mode: ScalingMode | str,
    traffic: Traffic,
    schedules: bool = True,
    scheduled: tuple[ScheduledCapacity, ...] | None = None,
) -> ModeSpec:
    """The plan's instance under ``mode``, with the profile's bounds and schedules (from ``plan.spec``).

    A mode keeps the profile's minimum when the profile's mode shares its floor (both can scale to
    zero, or neither can), else it starts from its own floor: always-on keeps at least one instance,
    the others may start from 0. Every mode keeps the profile's maximum. ``schedules=False`` leaves the
    profile's scheduled actions out; ``scheduled`` simulates these instead of the profile's (what
    `sagefit recommend` tries).
    """
    mode = ScalingMode(mode)
    scaling = plan.spec.scaling
    floor = mode.min_capacity_floor
    same_floor = mode.can_scale_to_zero == scaling.mode.can_scale_to_zero
    low = max(floor, scaling.min_capacity) if same_floor else floor
    high = max(scaling.max_capacity, low)
    if scheduled is None:
        scheduled = scaling.schedules if schedules else ()
    bounds = bounds_over_month(low, high, scheduled, traffic.start, HORIZON_S, floor)
    return ModeSpec(mode=mode, bounds=bounds, price_per_hour=plan.spec.price_per_hour)


def service_times(traffic: Traffic, settings: CostSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tokens in, tokens out, service seconds) per request; a trace's own counts win."""
    n = traffic.requests
    t_in = np.full(n, float(settings.input_tokens))
    t_out = np.full(n, float(settings.output_tokens))
    if traffic.tokens_in is not None:
        t_in = np.where(np.isnan(traffic.tokens_in), t_in, traffic.tokens_in)
    if traffic.tokens_out is not None:
        t_out = np.where(np.isnan(traffic.tokens_out), t_out, traffic.tokens_out)
    service = t_in / settings.prefill_tokens_per_s + t_out / settings.decode_tokens_per_s
    return t_in, t_out, service


def run_modes(
    plan: Plan,
    traffic: Traffic,
    settings: CostSettings,
    modes: Iterable[ScalingMode | str] = tuple(ScalingMode),
    schedules: bool = True,
) -> dict[ScalingMode, ModeResult]:
    """Simulate ``modes`` (always-on is always included: it is the baseline of every saving)."""
    _, _, service = service_times(traffic, settings)
    view = Minutes(traffic.arrivals, service, HORIZON_S)
    wanted = with_baseline(modes)
    return {
        mode: simulate(traffic.arrivals, service, mode_spec(plan, mode, traffic, schedules), settings, HORIZON_S, view)
        for mode in wanted
    }


def estimate(
    plan: Plan,
    traffic: Traffic,
    settings: CostSettings,
    modes: Iterable[ScalingMode | str] = tuple(ScalingMode),
    seed: int = 0,
    schedules: bool = True,
) -> CostEstimate:
    """Simulate the month for ``modes`` (and the always-on baseline) and gather the notes to print."""
    modes = tuple(ScalingMode(m) for m in modes)
    t_in, t_out, service = service_times(traffic, settings)
    results = run_modes(plan, traffic, settings, modes, schedules)
    notes = list(traffic.notes)
    over = int(((t_in > plan.max_input_tokens) | (t_in + t_out > plan.max_total_tokens)).sum())
    if over:
        notes.append(
            f"{over:,} trace requests exceed the profile's limits (max_input_tokens {plan.max_input_tokens}, "
            f"max_total_tokens {plan.max_total_tokens}); the container would reject them, the "
            "simulation serves them as given"
        )
    own = plan.profile.scaling.schedules
    if own and schedules:
        names = ", ".join(s.name for s in own)
        notes.append(
            f"scheduled bounds simulated: {names} (profile scaling.schedules; --ignore-schedules leaves them out)"
        )
    elif own:
        notes.append("the profile's scaling.schedules are left out (--ignore-schedules)")
    seen: set[str] = set()
    for mode in results:
        for note in mode_spec(plan, mode, traffic, schedules).bounds.notes:
            if note not in seen:
                seen.add(note)
                notes.append(f"{mode}: {note}")
    max_service = float(service.max()) if service.size else 0.0
    shown = tuple(m for m in ScalingMode if m in modes)
    for mode in shown:
        notes.extend(_mode_notes(plan, results[mode], max_service))
    notes.extend(f"plan: {w}" for w in plan.warnings)
    if plan.spec.fallbacks:  # capacity fallback: simulated on the planned type only
        others = ", ".join(f"{m.instance_type} ${m.price_per_hour:,.3f}/h" for m in plan.spec.fallbacks)
        notes.append(
            f"instance pool: every instance is billed as {plan.instance_type} (priority 1); the fallbacks "
            f"({others}) run only when it is short of capacity, at their own prices"
        )
    return CostEstimate(plan, traffic, settings, results, shown, seed, tuple(notes), max_service)


def _mode_notes(plan: Plan, r: ModeResult, max_service: float) -> list[str]:
    notes = []
    scaling = plan.profile.scaling
    if r.failed:
        notes.append(
            f"{r.mode}: {r.failed:,} requests failed for good: they arrived while a schedule held "
            "max capacity at 0, and a real-time endpoint cannot queue them"
        )
    if r.rejected:
        notes.append(
            f"{r.mode}: {r.rejected:,} requests were refused with HTTP 429: engine {plan.engine} "
            f"rejects past {plan.max_concurrent_requests} concurrent requests per instance instead of "
            "queueing (raise serving.target_concurrency or scaling.max_capacity, or use engine vllm)"
        )
    if r.expired:
        notes.append(
            f"{r.mode}: {r.expired:,} requests expired in the S3 queue, older than "
            f"async_request_ttl_s before an instance could take them"
        )
    if r.unfinished:
        notes.append(
            f"{r.mode}: {r.unfinished:,} requests are still queued when the month ends: the traffic "
            f"exceeds what {scaling.max_capacity} instance(s) serve (raise scaling.max_capacity)"
        )
    if r.mode.is_realtime and r.requests and max_service + r.queue_wait_p95_s > REALTIME_TIMEOUT_S:
        notes.append(
            f"{r.mode}: requests need up to {max_service:.0f} s of decode plus {r.queue_wait_p95_s:.0f} s "
            f"queueing (p95), beyond InvokeEndpoint's {REALTIME_TIMEOUT_S} s: stream responses, "
            "shorten outputs, or use async"
        )
    return notes


# --------------------------------------------------------------------------- rendering


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _latency(r: ModeResult) -> str:
    if r.cold_start_latency_s is None:
        return "-"
    return " / ".join(_short(v) for v in r.cold_start_latency_s)


def _short(seconds: float) -> str:
    if seconds >= 7200:
        return f"{seconds / 3600:.1f}h"
    if seconds >= 120:
        return f"{seconds / 60:.1f}m"
    return f"{seconds:.0f}s"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


HITS_NOTE = (
    "* requests arriving with no instance up: on scale-to-zero they fail (NoCapacityInvocationFailures) "
    "and the client is assumed to retry until one is; on async they wait in the S3 queue"
)


def header_lines(est: CostEstimate) -> list[str]:
    plan, cfg, cold = est.plan, est.settings, est.settings.cold_start
    profile = plan.profile
    service = cfg.service_s(cfg.input_tokens, cfg.output_tokens)
    lines = [
        f"sagefit cost: {profile.name} ({profile.stack_name}) on {plan.instance_type} at "
        f"${plan.price_per_hour:,.3f}/h ({plan.price_region}); profile mode: {profile.scaling.mode}, "
        f"capacity {profile.scaling.min_capacity}-{profile.scaling.max_capacity}",
        f"traffic: {est.traffic.spec} = {est.traffic.description} (seed {est.seed})",
        f"request (estimate): {cfg.input_tokens:,} in / {cfg.output_tokens:,} out tokens = {service:.1f} s at "
        f"{cfg.decode_tokens_per_s:.1f} tokens/s; {cfg.slots} at once per instance",
        f"cold start (estimate): {_duration(cold.total_s)} = provisioning {cold.provisioning_s:.0f} s + container "
        f"{cold.container_start_s:.0f} s ({plan.engine}) + download {cold.download_s:.0f} s ({cold.weights_gb:.1f} GB "
        f"from {WEIGHTS_SOURCE_NAMES[cold.weights_source]} at {cfg['model_download_gb_s']:g} GB/s) + load "
        f"{cold.load_s:.0f} s ({cfg['model_load_gb_s']:g} GB/s)",
        f"scaling: to zero after {_duration(cfg.scale_in_delay_s)} idle ({cfg['scale_in_periods']:g} one-minute "
        f"datapoints + {cfg['alarm_delay_s']:g} s alarm delay); wake alarm after its {cfg['wake_alarm_period_s']:g} s "
        f"period + {cfg['alarm_delay_s']:g} s",
        "billing: per second, from the scaling action that launches an instance to the one that removes it",
    ]
    return lines


def cost_table(est: CostEstimate) -> Table:
    """The table of every shown mode's month (rich, imported here: JSON output never needs it)."""
    from rich.table import Table

    table = Table(title="cost for the month (estimate)", show_lines=False)
    table.add_column("mode", no_wrap=True)
    for name, justify in (
        ("instance-h", "right"),
        ("$/month", "right"),
        ("$/1k requests", "right"),
        ("cold starts", "right"),
        ("requests hitting\na cold start*", "right"),
        ("their added latency\np50 / p95 / max", "right"),
        ("queue wait\np95 (others)", "right"),
        ("saving vs\nalways-on", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    own = est.plan.spec.mode
    for mode in est.shown:
        r = est.results[mode]
        saving = est.saving(mode)
        per_1k = r.cost_per_1k
        table.add_row(
            f"{mode}{' (profile)' if mode is own else ''}",
            f"{r.instance_hours:,.1f}",
            _money(r.cost),
            "-" if per_1k is None else _money(per_1k),
            f"{r.cold_starts:,}",
            f"{r.cold_start_requests:,}",
            _latency(r),
            _duration(r.queue_wait_p95_s),
            "-" if saving is None else f"{_money(saving[0])} ({saving[1]:.0%})",
        )
    return table


def print_estimate(est: CostEstimate, out: TextIO) -> None:
    from rich.console import Console

    console = Console(file=out, width=max(150, Console(file=out).width), highlight=False, soft_wrap=True)
    for line in header_lines(est):
        console.print(line, markup=False)
    console.print(cost_table(est), soft_wrap=False)
    if any(est.results[m].cold_start_requests for m in est.shown):
        console.print(HITS_NOTE, markup=False)
    for note in est.notes:
        console.print(f"note: {note}", markup=False)
    console.print(f"Note: {estimate_note(est.plan.catalog_source)}.", markup=False)


def _result_dict(est: CostEstimate, r: ModeResult) -> dict[str, Any]:
    saving = est.saving(r.mode)
    latency = r.cold_start_latency_s
    return {
        "mode": r.mode,
        "profile_mode": r.mode is est.plan.spec.mode,
        "instance_hours": round(r.instance_hours, 3),
        "cost_usd": round(r.cost, 2),
        "cost_per_1k_requests_usd": None if r.cost_per_1k is None else round(r.cost_per_1k, 2),
        "cold_starts": r.cold_starts,
        "wakeups": r.wakeups,
        "cold_start_requests": r.cold_start_requests,
        "cold_start_handling": r.mode.cold_start_handling,
        "cold_start_added_latency_s": None
        if latency is None
        else {"p50": round(latency.p50, 1), "p95": round(latency.p95, 1), "max": round(latency.max, 1)},
        "queue_wait_p95_s": round(r.queue_wait_p95_s, 1),
        "failed_requests": r.failed,
        "rejected_requests": r.rejected,
        "expired_requests": r.expired,
        "unfinished_requests": r.unfinished,
        "peak_instances": r.peak_instances,
        "saving_vs_always_on_usd": None if saving is None else round(saving[0], 2),
        "saving_vs_always_on_share": None if saving is None else round(saving[1], 4),
    }


def estimate_to_dict(est: CostEstimate) -> dict[str, Any]:
    plan, cfg = est.plan, est.settings
    return {
        "profile": plan.profile.name,
        "stack_name": plan.profile.stack_name,
        "instance_type": plan.instance_type,
        "price_per_hour": plan.price_per_hour,
        "price_region": plan.price_region,
        "hours_per_month": A.HOURS_PER_MONTH,
        "traffic": {
            "spec": est.traffic.spec,
            "description": est.traffic.description,
            "requests": est.traffic.requests,
            "month_start": est.traffic.start.isoformat(),
            "seed": est.seed,
        },
        "request": {
            "input_tokens": cfg.input_tokens,
            "output_tokens": cfg.output_tokens,
            "service_s": round(cfg.service_s(cfg.input_tokens, cfg.output_tokens), 2),
            "max_service_s": round(est.max_service_s, 2),
            "decode_tokens_per_s": round(cfg.decode_tokens_per_s, 2),
            "concurrent_per_instance": cfg.slots,
        },
        "cold_start": cfg.cold_start.to_dict(),
        "scale_in_delay_s": cfg.scale_in_delay_s,
        "modes": [_result_dict(est, est.results[m]) for m in est.shown],
        "notes": list(est.notes),
        "assumptions": cfg.to_dict(),
        "estimate": estimate_note(plan.catalog_source),
    }
