"""`status`, `preflight` and `invoke` of a shared endpoint, one of its members, or an adapter on one.

A name given to these commands is looked up among the shared endpoints first (the endpoint's name or
stack name, a member's profile or stack name); what is found is planned as `sagefit deploy` plans it,
so the names and bounds read are the ones the stack was synthesized with. A member is read through
its spec as deployed on the shared endpoint (:func:`sagefit.core.shared_spec.member_deployment_spec`).
`resume` takes the endpoint and refuses a member (the cap holds every member at once); `diff` still
refuses a member in one line (:func:`sagefit.cli.common.find`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sagefit.cli.shared import load_groups
from sagefit.cli.status_lines import endpoint_lines, spend_lines

if TYPE_CHECKING:
    from sagefit.core.shared_plan import SharedPlan
    from sagefit.core.spec import DeploymentSpec
    from sagefit.ops.aws import AwsSession
    from sagefit.ops.shared_status import SharedStatus


@dataclass(frozen=True)
class SharedTarget:
    """A shared endpoint, planned, and the member a name picked (None: the endpoint itself)."""

    plan: SharedPlan
    member: str | None = None

    @property
    def member_names(self) -> list[str]:
        return [m.name for m in self.plan.members if self.member in (None, m.name)]


def find_shared(args: argparse.Namespace, name: str) -> SharedTarget | None:
    """The shared endpoint ``name`` names (its name or stack name), or whose member it names (the
    member's profile name or stack name); None when it names neither."""
    from sagefit.core.shared_plan import plan_shared

    groups, _ = load_groups(args)
    for loaded, members in groups:
        endpoint = loaded.endpoint
        if name in (endpoint.name, endpoint.stack_name):
            return SharedTarget(plan_shared(loaded, members))
        for member in members:
            if name in (member.profile.name, member.profile.stack_name):
                return SharedTarget(plan_shared(loaded, members), member.profile.name)
    return None


def all_shared(args: argparse.Namespace) -> list[SharedTarget]:
    """Every shared endpoint in ``--profiles``/endpoints, planned."""
    from sagefit.core.shared_plan import plan_shared

    groups, _ = load_groups(args)
    return [SharedTarget(plan_shared(loaded, members)) for loaded, members in groups]


def member_spec(target: SharedTarget) -> DeploymentSpec:
    """The member's spec as deployed on the shared endpoint (``target.member`` must be set)."""
    from sagefit.core.shared_spec import member_deployment_spec

    assert target.member is not None
    return member_deployment_spec(target.plan, target.member)


def read_shared_status(target: SharedTarget, session: AwsSession) -> SharedStatus:
    """The endpoint and the member(s) ``target`` picked, read now."""
    from sagefit.core.shared_spec import member_deployment_spec
    from sagefit.ops.shared_status import shared_status

    plan = target.plan
    members = [(name, member_deployment_spec(plan, name)) for name in target.member_names]
    return shared_status(plan.spec, members, session)


def print_shared_status(status: SharedStatus) -> None:
    """The endpoint once, then each member's component, copies, bounds and adapters."""
    first = status.endpoint
    print(f"{status.stack}: shared endpoint {status.endpoint_name}")
    if not status.deployed:
        print("  not deployed (no such endpoint in this account and region)")
        return
    print("\n".join(endpoint_lines(first)))
    for name, member in status.members:
        copies = member.copies
        line = f"{copies.current} copies running, {copies.desired} desired" if copies else "missing"
        bounds = f", copies {member.bounds.min_capacity}-{member.bounds.max_capacity}" if member.bounds else ""
        zero = " (scaled to zero: the next request wakes it)" if member.scaled_to_zero else ""
        print(f"  member {name}: inference component {member.inference_component}: {line}{bounds}{zero}")
        for component, state in member.adapters.items():
            print(f"    adapter component {component}: {state or 'missing'}")
    # one budget and one spend meter for the stack: the endpoint's instances, priced
    print("\n".join(spend_lines(first)))
