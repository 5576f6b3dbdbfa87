"""`sagefit cost --plot FILE.png`: monthly cost against monthly request volume, per scaling mode.

The traffic pattern of ``--traffic`` is kept and its volume swept over a log-spaced grid (a trace is
thinned, or copied with +-30 min jitter). Each zero-capable mode's curve is marked where always-on
becomes the better buy: where it crosses always-on, or, when it never does (with a maximum of one
instance it cannot: the bill of a mode that scales to zero is bounded by always-on's), where its
saving falls below ``breakeven_saving``. matplotlib is imported only here (``pip install
'sagefit[plot]'``), with the Agg backend, and the PNG is written atomically.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sagefit.core.atomic import write_atomically
from sagefit.core.errors import SagefitError
from sagefit.core.modes import ScalingMode
from sagefit.core.planner import Plan
from sagefit.cost.arrivals import HORIZON_S
from sagefit.cost.report import BASELINE, REALTIME_TIMEOUT_S, run_modes, with_baseline
from sagefit.cost.settings import CostSettings
from sagefit.cost.traffic_spec import TrafficSpec

if TYPE_CHECKING:  # matplotlib is optional (sagefit[plot]) and imported only when plotting
    from matplotlib.figure import Figure

COLORS: dict[ScalingMode, str] = {
    ScalingMode.ALWAYS_ON: "#444444",
    ScalingMode.SCALE_TO_ZERO: "#1f77b4",
    ScalingMode.ASYNC: "#d62728",
}
STYLES: dict[ScalingMode, dict[str, Any]] = {
    ScalingMode.ALWAYS_ON: {"color": COLORS[ScalingMode.ALWAYS_ON], "linewidth": 2.5, "marker": "o", "markersize": 3},
    ScalingMode.SCALE_TO_ZERO: {
        "color": COLORS[ScalingMode.SCALE_TO_ZERO],
        "linewidth": 4,
        "alpha": 0.55,
        "marker": "s",
        "markersize": 5,
    },
    ScalingMode.ASYNC: {
        "color": COLORS[ScalingMode.ASYNC],
        "linewidth": 1.8,
        "linestyle": "--",
        "marker": "o",
        "markersize": 3,
    },
}


@dataclass(frozen=True)
class Crossover:
    """Where always-on becomes the better buy for ``mode``."""

    mode: ScalingMode
    volume: float
    cost: float
    kind: str
    """"crossing": the curve crosses always-on; "break-even": the saving drops below the share."""

    def label(self, share: float) -> str:
        if self.kind == "crossing":
            return f"{self.mode}: always-on cheaper above ~{_volume(self.volume)}/month"
        return f"{self.mode}: saves < {share:.0%} above ~{_volume(self.volume)}/month"


@dataclass(frozen=True)
class Sweep:
    """Each mode's bill over a grid of monthly volumes of one traffic pattern."""

    volumes: np.ndarray
    costs: dict[ScalingMode, np.ndarray]
    crossovers: tuple[Crossover, ...]
    current_volume: float
    over_capacity_from: float | None = None  # from this volume on, some mode cannot keep up


OVERLOAD_SHARE = 0.01
"""A volume is beyond capacity when a mode still has this share of the month's requests queued at its
end, or when a real-time mode's p95 queue wait passes InvokeEndpoint's limit (REALTIME_TIMEOUT_S):
requests pile up and the bills stop being comparable. (Async requests expiring while a schedule holds
the endpoint at zero are the schedule's doing, not the load's, and do not count.)"""


def check_path(path: Path) -> Path:
    """Refuse a --plot path that cannot be written, before anything runs."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise SagefitError(f"{path}: --plot writes PNG images", "give the file a .png name", field="--plot")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SagefitError(
            f"{path}: the directory {parent} does not exist", "create it or choose another path", field="--plot"
        )
    if not os.access(parent, os.W_OK):
        raise SagefitError(f"{path}: cannot write to {parent}", "choose a writable directory", field="--plot")
    return path


def _volume(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.3g}M"
    if v >= 1e3:
        return f"{v / 1e3:.3g}k"
    return f"{v:.0f}"


def volume_grid(plan: Plan, settings: CostSettings, current: float, points: int = 16) -> np.ndarray:
    """Log-spaced volumes from 10 a month up to past what the maximum fleet can serve."""
    per_request = settings.service_s(settings.input_tokens, settings.output_tokens)
    capacity = settings.slots * max(1, plan.profile.scaling.max_capacity) * HORIZON_S / per_request
    top = min(2e6, max(10 * max(current, 1), 1.2 * capacity, 1e3))
    grid = np.logspace(1, math.log10(top), points)
    return np.unique(np.round(np.append(grid, current if current >= 1 else []))).astype(float)


def find_crossover(
    mode: ScalingMode, volumes: np.ndarray, cost: np.ndarray, base: np.ndarray, share: float
) -> Crossover | None:
    """Where always-on becomes the better buy for ``mode``: its cost reaches always-on's, or else its
    saving drops below ``share``; None when neither happens over ``volumes``."""
    if not volumes.size:
        return None
    above = np.flatnonzero(cost >= base)
    if above.size:
        i = int(above[0])
        if i == 0:
            return Crossover(mode, float(volumes[0]), float(cost[0]), "crossing")
        volume, at_cost = _interpolate(volumes, cost - base, cost, i)
        return Crossover(mode, volume, at_cost, "crossing")
    saving = (base - cost) / np.where(base > 0, base, 1)
    small = np.flatnonzero(saving < share)
    if small.size:
        i = int(small[0])
        if i == 0:
            return Crossover(mode, float(volumes[0]), float(cost[0]), "break-even")
        volume, at_cost = _interpolate(volumes, saving - share, cost, i, rising=False)
        return Crossover(mode, volume, at_cost, "break-even")
    return None


def _interpolate(
    volumes: np.ndarray, f: np.ndarray, cost: np.ndarray, i: int, rising: bool = True
) -> tuple[float, float]:
    """Where ``f`` passes 0 between points i-1 and i (log-linear in volume)."""
    a, b = f[i - 1], f[i]
    frac = 0.0 if a == b else a / (a - b)
    frac = min(1.0, max(0.0, frac))
    lv = math.log10(volumes[i - 1]) + frac * (math.log10(volumes[i]) - math.log10(volumes[i - 1]))
    c = cost[i - 1] + frac * (cost[i] - cost[i - 1])
    return 10**lv, float(c)


def sweep(
    plan: Plan,
    spec: TrafficSpec,
    settings: CostSettings,
    modes: Iterable[ScalingMode | str] = tuple(ScalingMode),
    seed: int = 0,
    volumes: np.ndarray | None = None,
    schedules: bool = True,
) -> Sweep:
    """Bill ``modes`` (and the always-on baseline) over a grid of volumes; mark where always-on wins."""
    current = spec.expected_volume()
    grid = volume_grid(plan, settings, current) if volumes is None else np.asarray(volumes, dtype=float)
    wanted = with_baseline(modes)
    costs = {m: np.zeros(grid.size) for m in wanted}
    over = np.zeros(grid.size, dtype=bool)
    for i, volume in enumerate(grid):
        traffic = spec.with_volume(volume).generate(seed)
        results = run_modes(plan, traffic, settings, wanted, schedules=schedules)
        for mode in wanted:
            r = results[mode]
            costs[mode][i] = r.cost
            if r.requests and (
                r.unfinished / r.requests > OVERLOAD_SHARE
                or (mode.is_realtime and r.queue_wait_p95_s > REALTIME_TIMEOUT_S)
            ):
                over[i] = True
    first_over = int(np.argmax(over)) if over.any() else grid.size
    share = settings["breakeven_saving"]
    crossovers = []
    for mode in wanted[1:]:
        # only where every mode keeps up: past that, unserved requests make bills incomparable
        found = find_crossover(mode, grid[:first_over], costs[mode][:first_over], costs[BASELINE][:first_over], share)
        if found is not None:
            crossovers.append(found)
    over_from = None
    if first_over < grid.size:  # halfway (log scale) between the last volume that kept up and the first that did not
        over_from = float(grid[0]) if first_over == 0 else math.sqrt(grid[first_over - 1] * grid[first_over])
    return Sweep(grid, costs, tuple(crossovers), current, over_from)


def figure(plan: Plan, spec: TrafficSpec, settings: CostSettings, result: Sweep) -> Figure:
    """The matplotlib Figure (no pyplot state), with the crossovers marked and annotated."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    own = plan.spec.mode
    for mode, cost in result.costs.items():
        label = f"{mode} (profile)" if mode is own else str(mode)
        ax.plot(result.volumes, cost, label=label, **STYLES[mode])
    share = settings["breakeven_saving"]
    marked = {c.mode for c in result.crossovers}
    unmarked = [str(m) for m in result.costs if m is not BASELINE and m not in marked]
    if unmarked:
        ax.text(
            0.985,
            0.03,
            f"{' and '.join(unmarked)}: always-on never becomes the better buy in this range\n"
            f"(the saving stays above {share:.0%} of always-on)",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=9,
            gid="no-crossover",
            bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#999999"},
        )
    for k, cross in enumerate(result.crossovers):
        ax.plot(
            [cross.volume],
            [cross.cost],
            marker="X",
            markersize=13,
            color=COLORS[cross.mode],
            markeredgecolor="black",
            linestyle="none",
            gid=f"crossover-{cross.mode}",
        )
        ax.annotate(
            cross.label(share),
            xy=(cross.volume, cross.cost),
            xytext=(-20, -34 - 22 * k),
            textcoords="offset points",
            ha="right",
            fontsize=9,
            gid=f"crossover-label-{cross.mode}",
            arrowprops={"arrowstyle": "->", "color": COLORS[cross.mode]},
            bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": COLORS[cross.mode]},
        )
    if result.over_capacity_from is not None:
        ax.axvspan(
            result.over_capacity_from,
            result.volumes[-1],
            color="#bbbbbb",
            alpha=0.25,
            gid="over-capacity",
            label=f"beyond max_capacity {plan.profile.scaling.max_capacity}: requests pile up",
        )
    if result.current_volume >= 1:
        ax.axvline(
            result.current_volume,
            color="#2ca02c",
            linestyle="--",
            linewidth=1,
            label=f"your traffic: {_volume(result.current_volume)}/month ({spec.spec})",
        )
    ax.set_xscale("log")
    ax.set_xlim(result.volumes[0], result.volumes[-1])
    top = max(float(c.max()) for c in result.costs.values())
    ax.set_ylim(0, top * 1.25 if top > 0 else 1)
    ax.set_xlabel(f"requests per month ({spec.kind} pattern, volume scaled)")
    ax.set_ylabel("cost per month, USD (estimate)")
    ax.yaxis.set_major_formatter(lambda y, _: f"${y:,.0f}")
    ax.xaxis.set_major_formatter(lambda x, _: _volume(x))
    ax.grid(True, which="major", alpha=0.3)
    ax.set_title(
        f"{plan.profile.name} on {plan.instance_type} (${plan.price_per_hour:,.2f}/h, "
        f"max {plan.profile.scaling.max_capacity}): monthly cost by scaling mode"
    )
    ax.legend(loc="upper left", fontsize=9, ncol=2, framealpha=0.95)
    fig.text(
        0.01,
        0.01,
        f"Estimate: simulated {HORIZON_S // 3600}-hour months; cold start {settings.cold_start.total_s / 60:.1f} min; "
        "assumptions in sagefit/core/assumptions.py (sagefit cost --list-assumptions)",
        fontsize=7,
        color="#555555",
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def write_png(fig: Figure, path: Path) -> None:
    """Render ``fig`` in memory, then replace ``path`` with it in one rename."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    write_atomically(Path(path), buffer.getvalue(), "the plot")


def plot(
    path: Path,
    plan: Plan,
    spec: TrafficSpec,
    settings: CostSettings,
    modes: Iterable[ScalingMode | str] = tuple(ScalingMode),
    seed: int = 0,
    schedules: bool = True,
) -> tuple[Figure, Sweep]:
    """Sweep, draw and write the PNG; returns (figure, sweep)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        raise SagefitError("--plot needs matplotlib", "pip install 'sagefit[plot]'", field="--plot") from None
    if spec.kind == "trace" and not spec.expected_volume():
        raise SagefitError(
            f"the trace {spec.spec.partition(':')[2].strip()} has no request inside the month, "
            "so there is no pattern to sweep",
            f"plot a trace with requests in its first {HORIZON_S // 3600} hours",
            field="--plot",
        )
    result = sweep(plan, spec, settings, modes, seed, schedules=schedules)
    fig = figure(plan, spec, settings, result)
    write_png(fig, check_path(path))
    return fig, result
