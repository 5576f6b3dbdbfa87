"""Physical names sagefit gives deployed resources, shared by the stacks and the operations commands.

Only resources that are updated in place get fixed names (the endpoint, its inference component,
the budget), so `sagefit status` and `sagefit invoke` find them without CloudFormation; the model and
endpoint config stay unnamed so that CloudFormation can replace them.
"""

from __future__ import annotations

from sagefit.core.profiles import Profile

VARIANT_NAME = "AllTraffic"
COST_TAG_KEY = "sagefit:stack"
"""The cost-allocation tag every resource of a stack carries (value: the stack name)."""


def endpoint_name(profile: Profile) -> str:
    return profile.name


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
