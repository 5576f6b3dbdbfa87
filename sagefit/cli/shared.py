"""Shared endpoints on the command line: loading them with their members, and printing their plans.

`sagefit plan` prints every shared endpoint after the profiles of their own; `sagefit plan --endpoint
NAME` prints one (as text or JSON); `sagefit validate` plans every endpoint file. Kept free of
aws_cdk and boto3, like the rest of `plan` and `validate`.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, TextIO

from sagefit.core.packing import Packing

if TYPE_CHECKING:
    from sagefit.core.catalog import Catalog
    from sagefit.core.profiles import LoadedProfile
    from sagefit.core.shared_plan import SharedPlan
    from sagefit.core.shared_profile import LoadedEndpoint

    Groups = list[tuple[LoadedEndpoint, list[LoadedProfile]]]

MIB_PER_GIB = 1024


def load_groups(args: argparse.Namespace, catalog: Catalog | None = None) -> tuple[Groups, list[LoadedProfile]]:
    """The shared endpoints in ``--profiles``/endpoints with their members, and the other profiles."""
    from sagefit.core.profiles import load_profiles
    from sagefit.core.shared_members import group_members
    from sagefit.core.shared_profile import load_endpoints

    profiles = load_profiles(args.profiles, catalog)
    return group_members(load_endpoints(args.profiles, catalog), profiles)


def plan_groups(groups: Groups, catalog: Catalog | None, name: str | None = None) -> list[SharedPlan]:
    """Plan every shared endpoint (or only ``name``, refused with the known names when unknown)."""
    from sagefit.core.errors import SagefitError
    from sagefit.core.shared_plan import plan_shared

    if name is not None:
        groups = [(e, m) for e, m in groups if name in (e.endpoint.name, e.endpoint.stack_name)]
        if not groups:
            raise SagefitError(
                f"no shared endpoint named {name!r}",
                "name a file in model_profiles/endpoints/ by its name or stack_name",
                field="--endpoint",
            )
    return [plan_shared(endpoint, members, catalog) for endpoint, members in groups]


def _gib(mb: int) -> str:
    return f"{mb / MIB_PER_GIB:.1f}"


def print_shared(plan: SharedPlan, out: TextIO) -> None:
    """The placement, the utilisation and the saving against separate endpoints, in plain text."""
    endpoint = plan.endpoint
    packing = plan.packing
    capacity = packing.capacity
    out.write(
        f"shared endpoint {endpoint.name} ({endpoint.stack_name}, {endpoint.region}): "
        f"{plan.instances} x {plan.instance_type} at ${plan.price_per_hour:,.3f}/h "
        f"(fleet {endpoint.min_instances}-{endpoint.max_instances} instances, managed instance scaling)\n"
    )
    if plan.pool:  # capacity fallback: every type here packs the same fleet (sagefit.core.shared_pool)
        pool = " > ".join(f"{c.instance.instance_type} ${c.price_per_hour:,.3f}/h" for c in plan.pool)
        out.write(f"  instance pool (capacity fallback, in priority order): {pool}\n")
    elif plan.pool_note:
        out.write(f"  {plan.pool_note}\n")
    for index in range(packing.instances):
        cells = [
            f"{p.member} GPU {','.join(map(str, p.gpus))} ({_gib(p.memory_mb)} GiB host)"
            for p in packing.on_instance(index)
        ]
        out.write(f"  instance {index}: {'; '.join(cells)}\n")
    out.write(
        f"  utilisation: GPUs {packing.used_accelerators}/{capacity.accelerators * packing.instances} "
        f"({packing.accelerator_utilisation:.0%}), host memory {_gib(packing.used_memory_mb)}/"
        f"{_gib(capacity.memory_mb * packing.instances)} GiB ({packing.memory_utilisation:.0%})\n"
    )
    for member in plan.members:
        scaling = member.loaded.profile.scaling
        out.write(
            f"  member {member.name}: {member.need.accelerators} GPU x {member.copies} copy, copies "
            f"{scaling.min_capacity}-{scaling.max_capacity}; alone: {member.alone.instance_type} "
            f"${member.alone.monthly_cost_always_on:,.2f}/month\n"
        )
        lora, fit = member.plan.lora, member.plan.fit
        if lora is not None:  # adapter profiles on this member: adapter components on its copies
            names = ", ".join(item.adapter.name for item in member.plan.adapters)
            out.write(
                f"    adapters {names}: LoRA {lora.slots} x rank {lora.rank}, "
                f"{fit.lora_per_gpu_bytes / 1024**3:.2f} GiB/GPU out of its KV cache\n"
            )
    verb = "saves" if plan.saving >= 0 else "costs"
    out.write(
        f"  a month always on: shared ${plan.monthly_cost:,.2f} ({plan.instances} instance(s)) vs separate "
        f"${plan.separate_monthly_cost:,.2f} ({len(plan.members)} endpoints): {verb} "
        f"${abs(plan.saving):,.2f}/month\n"
    )
    if plan.saving < 0:
        out.write(
            f"  note: at list prices {plan.instance_type} costs more per GPU than the members' own instances; "
            "sharing saves endpoints, instances and instance starts, not instance-month dollars\n"
        )
    fleets = [
        f"{c.instance.instance_type} x{c.packing.instances} ${c.monthly_usd:,.2f}"
        for c in plan.candidates
        if isinstance(c.packing, Packing)
    ]
    out.write(f"  candidates: {', '.join(fleets)}\n")


def shared_to_json(plans: list[SharedPlan]) -> str:
    return json.dumps([plan.to_dict() for plan in plans], indent=2)


def cmd_plan_endpoint(args: argparse.Namespace, catalog: Catalog | None, out: TextIO) -> int:
    """`sagefit plan --endpoint NAME`: one shared endpoint's plan."""
    groups, _ = load_groups(args, catalog)
    (plan,) = plan_groups(groups, catalog, args.endpoint)
    if args.format == "json":
        out.write(json.dumps(plan.to_dict(), indent=2) + "\n")
    else:
        print_shared(plan, out)
    return 0


def shared_target(args: argparse.Namespace, validate: bool = True) -> tuple[str, str] | None:
    """(stack, region) when the ``stack`` argument names a shared endpoint (by name or stack name),
    planned first when ``validate`` so a bad member fails before any CLI runs; None when it names
    none. A member's own name is refused: its stack is the endpoint's."""
    from sagefit.core.errors import SagefitError
    from sagefit.core.shared_plan import plan_shared

    groups, _ = load_groups(args)
    for loaded, members in groups:
        endpoint = loaded.endpoint
        if args.stack in (endpoint.name, endpoint.stack_name):
            if validate:
                plan_shared(loaded, members)
            return endpoint.stack_name, endpoint.region
        for member in members:
            if args.stack in (member.profile.name, member.profile.stack_name):
                raise SagefitError(
                    f"{args.stack} is a member of shared endpoint {endpoint.name}, whose stack "
                    f"{endpoint.stack_name} deploys and destroys it with the other members",
                    f"name {endpoint.stack_name}, or remove endpoint: from the profile to give it a stack of its own",
                    member.path,
                    "endpoint",
                )
    return None
