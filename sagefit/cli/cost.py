"""`sagefit cost`: a simulated month of traffic, billed per scaling mode (and, optionally, plotted).

numpy and matplotlib load only when the command runs (matplotlib only with ``--plot``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagefit.cli.common import CATALOG_HELP, add_command, catalog, load
from sagefit.core.errors import SagefitError
from sagefit.core.modes import ScalingMode

if TYPE_CHECKING:
    from sagefit.cli.common import SubParsers
    from sagefit.cost.plot import Sweep

ALL_MODES = "all"


def _check(args: argparse.Namespace) -> None:
    """Refuse what argparse cannot: a missing profile, a negative seed."""
    if not args.profile:
        raise SagefitError(
            "name the profile to cost", "e.g. sagefit cost llama2-70b-awq --traffic monthly:300", field="PROFILE"
        )
    if args.seed < 0:
        raise SagefitError(f"{args.seed} is not a seed", "give a whole number from 0 up", field="--seed")


def _plot_json(path: Path, plotted: Sweep, share: float) -> dict[str, Any]:
    return {
        "path": str(path),
        "crossovers": [
            {
                "mode": c.mode,
                "requests_per_month": round(c.volume),
                "kind": c.kind,
                "cost_usd": round(c.cost, 2),
                "label": c.label(share),
            }
            for c in plotted.crossovers
        ],
    }


def cmd_cost(args: argparse.Namespace) -> int:
    from sagefit.cost.settings import describe_assumptions, parse_overrides

    if args.list_assumptions:
        print(describe_assumptions())
        return 0
    _check(args)
    overrides = parse_overrides(args.assume)
    plot_path = None
    if args.plot is not None:
        from sagefit.cost.plot import check_path

        plot_path = check_path(args.plot)
    from sagefit.cli.shared_cost import cmd_cost_shared
    from sagefit.core.planner import plan_profile
    from sagefit.core.profiles import find_profile
    from sagefit.cost.report import estimate, estimate_to_dict, print_estimate
    from sagefit.cost.settings import resolve
    from sagefit.cost.traffic import parse_traffic

    chosen = catalog(args)
    if plot_path is None:
        shared = cmd_cost_shared(args, chosen, sys.stdout)  # a shared endpoint, or None for a profile
        if shared is not None:
            return shared
    plan = plan_profile(find_profile(load(args, chosen), args.profile), chosen)
    spec = parse_traffic(args.traffic, plan.profile.time_zone)
    empty = spec.nothing_inside("--plot" if plot_path is not None else "--traffic")
    if empty is not None:
        raise empty
    settings = resolve(plan, overrides)
    modes = tuple(ScalingMode) if args.mode == ALL_MODES else (ScalingMode(args.mode),)
    schedules = not args.ignore_schedules
    est = estimate(plan, spec.generate(args.seed), settings, modes, seed=args.seed, schedules=schedules)
    plotted = None
    if plot_path is not None:
        from sagefit.cost.plot import plot

        _, plotted = plot(plot_path, plan, spec, settings, modes, args.seed, schedules)
    if args.format == "json":
        data = estimate_to_dict(est)
        if plot_path is not None and plotted is not None:
            data["plot"] = _plot_json(plot_path, plotted, settings["breakeven_saving"])
        print(json.dumps(data, indent=2))
        return 0
    print_estimate(est, sys.stdout)
    if plotted is not None:
        share = settings["breakeven_saving"]
        marks = "; ".join(c.label(share) for c in plotted.crossovers) or "no crossover in the range"
        print(f"plot: wrote {plot_path} ({len(plotted.volumes)} volumes; {marks})")
    return 0


def register(sub: SubParsers) -> None:
    cost = add_command(
        sub,
        "cost",
        cmd_cost,
        "simulate a month of traffic: what each scaling mode bills, and the cold starts it costs (estimate)",
    )
    cost.add_argument(
        "profile",
        nargs="?",
        metavar="PROFILE",
        help="profile name (llama2-70b-awq) or stack name, or a shared endpoint (small-models)",
    )
    cost.add_argument(
        "--traffic",
        default="monthly:300",
        metavar="SPEC",
        help="monthly:N | business-hours:N/day | steady:R/s | burst:rate=R/h,busy=3h,idle=2d | trace:FILE.csv "
        "(default: monthly:300)",
    )
    cost.add_argument("--mode", choices=(*ScalingMode.names(), ALL_MODES), default=ALL_MODES)
    cost.add_argument("--format", choices=("table", "json"), default="table")
    cost.add_argument("--plot", type=Path, metavar="FILE.png", help="write monthly cost against request volume")
    cost.add_argument(
        "--assume",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one assumption of the simulation (repeatable)",
    )
    cost.add_argument("--list-assumptions", action="store_true", help="print the assumptions and their sources")
    cost.add_argument("--seed", type=int, default=0, help="seed of the generated traffic (default 0)")
    cost.add_argument("--ignore-schedules", action="store_true", help="leave the profile's scaling.schedules out")
    cost.add_argument("--catalog", type=Path, metavar="PATH", help=CATALOG_HELP)
    cost.add_argument(
        "--member",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="a shared endpoint member's own traffic (repeatable; the others get --traffic)",
    )
