"""``serving.instance_pool``: the profile's say on capacity fallback (SageMaker instance pools).

``auto`` lets the planner pick the fallbacks (every other instance the model fits, within the
profile's speed floor, cheapest first), ``off`` deploys one instance type, and a list names the pool
in priority order, the first entry being the instance the plan deploys. Left out, the scaling mode
decides (:attr:`sagefit.core.modes.ScalingMode.pools_by_default`). What can be checked without the
catalog is checked here; whether each type fits the model is the planner's check
(:mod:`sagefit.core.pools`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator

from sagefit.core import aws_rules
from sagefit.core.profile_errors import FieldProblem

FIELD = "serving.instance_pool"


def yaml_words(value: object) -> object:
    """PyYAML reads an unquoted ``off`` (and ``no``) as false, ``on`` as true (YAML 1.1 booleans):
    take them as the words the profile wrote."""
    if isinstance(value, bool):
        return "auto" if value else "off"
    return value


def _check_list(value: Literal["auto", "off"] | list[str] | None) -> Literal["auto", "off"] | list[str] | None:
    if not isinstance(value, list):
        return value
    if not value:
        raise FieldProblem(FIELD, "instance_pool is an empty list", "list at least one instance type, or write off")
    if len(value) > aws_rules.MAX_INSTANCE_POOLS:
        raise FieldProblem(
            FIELD,
            f"instance_pool lists {len(value)} instance types; a variant takes at most "
            f"{aws_rules.MAX_INSTANCE_POOLS} ({aws_rules.POOLS_SOURCE})",
            f"keep the first {aws_rules.MAX_INSTANCE_POOLS}",
        )
    repeated = sorted({name for name in value if value.count(name) > 1})
    if repeated:
        raise FieldProblem(FIELD, f"instance_pool lists {', '.join(repeated)} more than once", "list each type once")
    return value


InstancePoolSetting = Annotated[
    Literal["auto", "off"] | list[str] | None, BeforeValidator(yaml_words), AfterValidator(_check_list)
]
"""The field's type: ``auto``, ``off``, a list of up to five instance types, or left out (None)."""
