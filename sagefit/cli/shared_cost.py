"""`sagefit cost ENDPOINT`: a shared endpoint's month, against the same members on endpoints of their own.

Every member gets ``--traffic`` (each its own draw: seed + its position), unless ``--member
NAME=SPEC`` gives it its own. The simulation is :mod:`sagefit.cost.shared`'s.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, TextIO

from sagefit.core.errors import SagefitError

if TYPE_CHECKING:
    from sagefit.core.catalog import Catalog
    from sagefit.cost.shared import SharedCost


def member_traffic(args: argparse.Namespace, names: list[str]) -> dict[str, str]:
    """Each member's traffic spec: ``--member NAME=SPEC`` where given, else ``--traffic``."""
    chosen = dict.fromkeys(names, args.traffic)
    for item in args.member:
        name, sep, spec = item.partition("=")
        if not sep or not spec:
            raise SagefitError(
                f"{item!r} is not NAME=SPEC", "e.g. --member mistral-7b-v0-3=monthly:300", field="--member"
            )
        if name not in chosen:
            raise SagefitError(
                f"{name!r} is not a member of this endpoint", f"members: {', '.join(names)}", field="--member"
            )
        chosen[name] = spec
    return chosen


def print_shared_cost(cost: SharedCost, out: TextIO) -> None:
    plan = cost.plan
    out.write(f"shared endpoint {plan.endpoint.name} on {plan.instance_type} (simulated month, estimate)\n")
    for member in cost.members:
        alone = next(m.alone for m in plan.members if m.name == member.name)
        out.write(
            f"  {member.name}: {member.alone.requests:,} requests; alone on {alone.instance_type}: "
            f"{member.alone.instance_hours:,.1f} instance-hours ${member.alone.cost:,.2f}, "
            f"{member.alone.cold_starts} cold starts\n"
        )
    out.write(
        f"  separate endpoints: {cost.separate_instance_hours:,.1f} instance-hours, ${cost.separate_cost:,.2f}\n"
        f"  shared endpoint:    {cost.shared_instance_hours:,.1f} instance-hours of {plan.instance_type}, "
        f"${cost.shared_cost:,.2f} (peak {cost.peak_instances} instance(s))\n"
    )
    if cost.shared_cost > cost.separate_cost:
        out.write(
            f"  note: fewer instance-hours, but an hour of {plan.instance_type} costs more than the members' "
            "own instances' hours together (list prices); see README, Shared endpoints\n"
        )
    if cost.over_max_s > 0:
        out.write(
            f"  note: for {cost.over_max_s / 3600:,.1f} hours the copies needed more than max_instances "
            f"({plan.endpoint.max_instances}); they would wait or fail there\n"
        )


def cmd_cost_shared(args: argparse.Namespace, catalog: Catalog | None, out: TextIO) -> int | None:
    """Cost the shared endpoint ``args.profile`` names; None when it names none (a profile, then)."""
    from sagefit.cli.shared import load_groups, plan_groups

    groups, _ = load_groups(args, catalog)
    if not any(args.profile in (e.endpoint.name, e.endpoint.stack_name) for e, _ in groups):
        if args.member:
            raise SagefitError("--member applies to a shared endpoint", "name one, e.g. small-models", field="--member")
        return None
    from sagefit.cost.settings import parse_overrides
    from sagefit.cost.shared import shared_cost
    from sagefit.cost.traffic import parse_traffic

    (plan,) = plan_groups(groups, catalog, args.profile)
    specs = member_traffic(args, [m.name for m in plan.members])
    traffic = {}
    for index, member in enumerate(plan.members):
        spec = parse_traffic(specs[member.name], member.loaded.profile.time_zone)
        empty = spec.nothing_inside(f"--member {member.name}" if args.member else "--traffic")
        if empty is not None:
            raise empty
        traffic[member.name] = spec.generate(args.seed + index)
    cost = shared_cost(plan, traffic, parse_overrides(args.assume))
    if args.format == "json":
        out.write(json.dumps(cost.to_dict(), indent=2) + "\n")
    else:
        print_shared_cost(cost, out)
    return 0
