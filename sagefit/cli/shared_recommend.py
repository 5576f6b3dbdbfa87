"""`sagefit recommend ENDPOINT --traffic SPEC`: a shared endpoint's cheapest candidate fleet that meets the
latency target (:mod:`sagefit.cost.shared_recommend`), with ``--member NAME=SPEC`` as for `sagefit cost`.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, TextIO

from sagefit.core.errors import SagefitError

if TYPE_CHECKING:
    from sagefit.core.catalog import Catalog
    from sagefit.cost.shared_recommend import SharedRecommendation


def _seconds(value: float) -> str:
    if value == float("inf"):
        return "lost"
    return f"{value / 60:.1f} min" if value >= 120 else f"{value:.0f} s"


def print_shared_recommendation(found: SharedRecommendation, top: int, out: TextIO) -> None:
    planned = found.as_planned
    out.write(
        f"shared endpoint {planned.endpoint.name}: candidate fleets for p95 latency {found.target_s:g} s per member "
        "(simulated month, estimate)\n"
    )
    for option in found.options[:top]:
        latency = ", ".join(f"{name} {_seconds(value)}" for name, value in option.latency_p95_s.items())
        verdict = "meets" if option.meets else "misses"
        out.write(
            f"  {option.plan.instance_type} x{option.plan.instances}: ${option.cost.shared_cost:,.2f}/month, "
            f"{option.cost.shared_instance_hours:,.1f} instance-hours (peak {option.cost.peak_instances}); "
            f"p95 {latency} ({verdict})\n"
        )
    best = found.best
    if best is None:
        out.write("  no candidate meets the target: raise --p95-latency or add instance types\n")
    elif best.plan.instance_type == planned.instance_type:
        out.write(f"  recommended: {best.plan.instance_type}, as planned\n")
    else:
        out.write(
            f"  recommended: {best.plan.instance_type} (the plan picks {planned.instance_type} by its packed fleet's "
            f"list price; write instance_types: [{best.plan.instance_type}] in the endpoint file to deploy it)\n"
        )


def cmd_recommend_shared(
    args: argparse.Namespace, target: float | None, top: int, catalog: Catalog | None, out: TextIO
) -> int | None:
    """Recommend for the shared endpoint ``args.profile`` names; None when it names none (a profile)."""
    from sagefit.cli.shared import load_groups
    from sagefit.core.catalog import load_catalog

    groups, _ = load_groups(args, catalog)
    found = [(e, m) for e, m in groups if args.profile in (e.endpoint.name, e.endpoint.stack_name)]
    if not found:
        if args.member:
            raise SagefitError("--member applies to a shared endpoint", "name one, e.g. small-models", field="--member")
        return None
    if args.write:
        raise SagefitError(
            "--write changes a profile's file; a shared endpoint's choice is its endpoint file's instance_types",
            "drop --write and edit instance_types as the recommendation says",
            field="--write",
        )
    from sagefit.cli.shared_cost import member_traffic
    from sagefit.core.modes import ScalingMode
    from sagefit.cost.recommend import target_for
    from sagefit.cost.shared_recommend import recommend_shared
    from sagefit.cost.traffic import parse_traffic

    ((loaded, members),) = found
    specs = member_traffic(args, [m.profile.name for m in members])
    traffic = {}
    for index, member in enumerate(members):
        spec = parse_traffic(specs[member.profile.name], member.profile.time_zone)
        empty = spec.nothing_inside(f"--member {member.profile.name}" if args.member else "--traffic")
        if empty is not None:
            raise empty
        traffic[member.profile.name] = spec.generate(args.seed + index)
    result = recommend_shared(
        loaded, members, traffic, target_for(ScalingMode.SCALE_TO_ZERO, target), catalog or load_catalog()
    )
    if args.format == "json":
        out.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        print_shared_recommendation(result, top, out)
    return 0
