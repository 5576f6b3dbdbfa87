"""Which profiles join which shared endpoint, and which keep a stack of their own.

Kept apart from the planning (:mod:`sagefit.core.shared_plan`): the CDK app, `plan`, `validate`,
`deploy` and `cost` all split the profiles directory this one way before planning anything.
"""

from __future__ import annotations

from sagefit.core.errors import SagefitError
from sagefit.core.profiles import LoadedProfile
from sagefit.core.shared_profile import LoadedEndpoint


def group_members(
    endpoints: list[LoadedEndpoint], profiles: list[LoadedProfile]
) -> tuple[list[tuple[LoadedEndpoint, list[LoadedProfile]]], list[LoadedProfile]]:
    """Each endpoint with its members, and the profiles that keep a stack of their own.

    A profile naming no endpoint file, an endpoint file no profile joins, and an endpoint stack name a
    profile also uses are refused, each naming the file and the fix."""
    by_name = {e.endpoint.name: e for e in endpoints}
    stacks = {p.profile.stack_name: p for p in profiles}
    for item in endpoints:
        clash = stacks.get(item.endpoint.stack_name)
        if clash is not None:
            raise SagefitError(
                f"stack_name {item.endpoint.stack_name!r} is also profile {clash.path.name}'s",
                "give the endpoint file its own stack_name",
                item.path,
                "stack_name",
            )
    groups: dict[str, list[LoadedProfile]] = {name: [] for name in by_name}
    solo = []
    for loaded in profiles:
        name = loaded.profile.endpoint
        if name is None:
            solo.append(loaded)
        elif name not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise SagefitError(
                f"no shared endpoint named {name!r} (known: {known})",
                f"add model_profiles/endpoints/{name}.yaml, or fix or remove endpoint:",
                loaded.path,
                "endpoint",
            )
        else:
            groups[name].append(loaded)
    for item in endpoints:
        if not groups[item.endpoint.name]:
            raise SagefitError(
                f"no profile joins shared endpoint {item.endpoint.name!r}",
                f"add endpoint: {item.endpoint.name} to a scale-to-zero profile, or remove the file",
                item.path,
                "name",
            )
    return [(e, groups[e.endpoint.name]) for e in endpoints], solo
