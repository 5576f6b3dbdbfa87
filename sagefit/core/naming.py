"""Physical names sagefit gives deployed resources, shared by the stacks and the operations commands.

Only resources that are updated in place get fixed names (the endpoint, its inference component,
the budget), so `sagefit status` and `sagefit invoke` find them without CloudFormation; the model and
endpoint config stay unnamed so that CloudFormation can replace them.

An endpoint whose variant is an Application Auto Scaling target (always-on, async) carries its
instance type in its name. SageMaker refuses an UpdateEndpoint that changes the instance type of, or
removes, a variant registered with auto scaling until the target is deregistered
(docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html: "If the update would change
the instance type for any model that is a target for auto scaling, the update fails", and its note:
deregistering is needed for "changing the instance type" and "removing a production variant" that has
auto scaling configured). CloudFormation cannot deregister before it updates: it creates and updates
in dependency order and deletes only in the cleanup phase. A new name turns the instance-type change
into a new endpoint instead: CloudFormation creates it (the scalable target's ResourceId changes with
it, so a new target is registered after the new endpoint exists), then in cleanup deregisters the old
target (a different ResourceId: the new registration survives) and deletes the old endpoint. No
UpdateEndpoint ever changes an autoscaled instance type.
"""

from __future__ import annotations

import hashlib

from sagefit.core.profiles import Profile

VARIANT_NAME = "AllTraffic"
COST_TAG_KEY = "sagefit:stack"
"""The cost-allocation tag every resource of a stack carries (value: the stack name)."""


LONGEST_INSTANCE_SLUG = "trn1n-32xlarge"
"""The longest SageMaker hosting instance type as a slug: profile validation keeps room for it
within the endpoint name's 63 characters, whichever instance the planner picks."""


def instance_slug(instance_type: str) -> str:
    """``ml.g5.12xlarge`` -> ``g5-12xlarge``: letters, digits and hyphens, as endpoint names allow."""
    return instance_type.removeprefix("ml.").replace(".", "-")


def pool_slug(pool: tuple[str, ...]) -> str:
    """``pool-`` and 8 hex digits of the ordered pool: 13 characters, within LONGEST_INSTANCE_SLUG.

    An autoscaled variant with instance pools has as many instance types as pools. Neither the API
    reference (ProductionVariant.InstancePools) nor the instance-pools guide
    (docs.aws.amazon.com/sagemaker/latest/dg/realtime-endpoints-heterogeneous.html) exempts a pool
    change from the rule above ("If the update would change the instance type for any model that is
    a target for auto scaling, the update fails"), so sagefit treats any change of the pool (a type
    added, removed or reordered, or pools turned on or off) as an instance-type change: a new
    endpoint, never an UpdateEndpoint of an autoscaled variant. The digest covers the order too,
    since the priorities are the pool.
    """
    return "pool-" + hashlib.sha256(",".join(pool).encode()).hexdigest()[:8]


def endpoint_name(profile: Profile, instance_type: str | None = None, pool: tuple[str, ...] = ()) -> str:
    """The profile's name, plus the instance type (or the pool's digest) where the variant is an
    auto-scaling target.

    ``instance_type`` None gives the longest name the profile can produce (for validation).
    """
    if not profile.scaling.mode.names_endpoint_by_instance_type:
        return profile.name
    if pool:
        return f"{profile.name}-{pool_slug(pool)}"
    slug = LONGEST_INSTANCE_SLUG if instance_type is None else instance_slug(instance_type)
    return f"{profile.name}-{slug}"


def inference_component_name(profile: Profile) -> str | None:
    """Scale-to-zero endpoints serve through one inference component; the others have none."""
    if not profile.scaling.mode.uses_inference_component:
        return None
    return f"{profile.name}-ic"


def budget_name(profile: Profile) -> str:
    return f"sagefit-{profile.stack_name}"


def alarm_prefix(profile: Profile) -> str:
    """CloudFormation names the stack's alarms ``<StackName>-<logical id>-<suffix>``."""
    return f"{profile.stack_name}-"
