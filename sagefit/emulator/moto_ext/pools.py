"""Instance pools and per-instance-type inference-component specifications, as AWS checks them.

moto 5.2.5 knows neither: its endpoint config refuses a variant without InstanceType ("Invalid Keys
for ProductionVariant"), and it would take any Specifications. These checks follow the API reference
(ProductionVariant.InstancePools, InstancePool, VariantInstanceProvisionTimeoutInSeconds,
CreateInferenceComponent.Specifications, InferenceComponentSpecification.InstanceType) and the
developer guide's instance-pools page; :data:`RULE_TEXTS` lists them for :data:`.rules.RULES` (and so
the README). Where AWS's wording is not documented, the message is ours.

:mod:`.rules` imports this module, so this one imports :mod:`.rules` only inside its functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from moto.sagemaker.exceptions import ValidationError

from sagefit.core import aws_rules
from sagefit.core.aws_rules import SAGEMAKER_API

_POOL_DOC = f"{SAGEMAKER_API}/API_InstancePool.html"
_GUIDE = "https://docs.aws.amazon.com/sagemaker/latest/dg/realtime-endpoints-heterogeneous.html"
_SPECS_DOC = f"{SAGEMAKER_API}/API_CreateInferenceComponent.html"
_SPEC_DOC = f"{SAGEMAKER_API}/API_InferenceComponentSpecification.html"
_CONFIG = "CreateEndpointConfig and AWS::SageMaker::EndpointConfig"
_COMPONENT = "Create/UpdateInferenceComponent and AWS::SageMaker::InferenceComponent"

RULE_TEXTS: tuple[tuple[str, str, str], ...] = (
    ("InstancePools: 1 to 5 pools per variant", f"{SAGEMAKER_API}/API_ProductionVariant.html", _CONFIG),
    ("InstancePool Priority 1 to 5", _POOL_DOC, _CONFIG),
    (
        "InstancePool priorities unique within a variant (SageMaker tries pools in priority order; a tie "
        "has none); message ours",
        _POOL_DOC,
        _CONFIG,
    ),
    ("VariantInstanceProvisionTimeoutInSeconds 300 to 3600", f"{SAGEMAKER_API}/API_ProductionVariant.html", _CONFIG),
    (
        "InstanceType and InstancePools not both on one variant (the guide: InstancePools replace the "
        "InstanceType parameter); message ours",
        _GUIDE,
        _CONFIG,
    ),
    (
        "an InstancePool's InstanceType must be a valid instance type, and its ModelNameOverride an existing model",
        _POOL_DOC,
        _CONFIG,
    ),
    ("Specification or Specifications, not both; Specifications 1 to 5 entries", _SPECS_DOC, _COMPONENT),
    (
        "Specifications: one per instance type, InstanceType on each entry when there are several, and "
        "each InstanceType one the variant runs (its InstanceType or an InstancePool); message ours",
        _SPEC_DOC,
        _COMPONENT,
    ),
)


def variant_types(variant: dict[str, Any]) -> tuple[str, ...]:
    """The instance types a variant runs, in priority order: its pools', or its one InstanceType."""
    pools = variant.get("InstancePools")
    if pools:
        return tuple(p["InstanceType"] for p in sorted(pools, key=lambda p: int(p["Priority"])))
    instance_type = variant.get("InstanceType")
    return (instance_type,) if instance_type else ()


def check_pool_fields(variant: dict[str, Any], path: str) -> None:
    """Bounds of the pool shapes (AWS checks them before anything else)."""
    from sagefit.emulator.moto_ext import rules

    rules.check_bound(
        aws_rules.POOL_PROVISION_TIMEOUT_S,
        variant.get("VariantInstanceProvisionTimeoutInSeconds"),
        f"{path}.variantInstanceProvisionTimeoutInSeconds",
    )
    pools = variant.get("InstancePools")
    if pools is None:
        return
    if not 1 <= len(pools) <= aws_rules.MAX_INSTANCE_POOLS:
        raise rules.constraint_error(
            len(pools), f"{path}.instancePools", f"Member must have length between 1 and {aws_rules.MAX_INSTANCE_POOLS}"
        )
    for index, pool in enumerate(pools, start=1):
        rules.check_bound(
            aws_rules.POOL_PRIORITY, pool.get("Priority"), f"{path}.instancePools.{index}.member.priority"
        )


def check_pools(variant: dict[str, Any], validate_instance_type: Any, models: Iterable[str]) -> None:
    """The rules between a variant's fields and its pools: InstanceType or pools, unique priorities,
    valid instance types (moto's check, ``validate_instance_type``) and existing override models."""
    pools = variant.get("InstancePools")
    if not pools:
        return
    name = variant["VariantName"]
    if variant.get("InstanceType"):
        raise ValidationError(
            message=f"Production variant '{name}' sets both InstanceType and InstancePools; InstancePools replace "
            "InstanceType."
        )
    priorities = [int(p["Priority"]) for p in pools]
    if len(set(priorities)) != len(priorities):
        raise ValidationError(message=f"Production variant '{name}' has instance pools with the same Priority.")
    known = set(models)
    for pool in pools:
        validate_instance_type(pool["InstanceType"])
        override = pool.get("ModelNameOverride")
        if override and override not in known:
            raise ValidationError(
                message=f"Could not find model '{override}' (ModelNameOverride of {pool['InstanceType']})."
            )


def check_specifications(
    specification: dict[str, Any] | None,
    specifications: list[dict[str, Any]] | None,
    variant: dict[str, Any] | None,
) -> None:
    """Specification or Specifications; one per instance type, each one the variant runs."""
    from sagefit.emulator.moto_ext import rules

    if specifications is None:
        return
    if specification is not None:
        raise ValidationError(message="Specify either Specification or Specifications, not both.")
    if not 1 <= len(specifications) <= aws_rules.MAX_INSTANCE_POOLS:
        raise rules.constraint_error(
            len(specifications),
            "specifications",
            f"Member must have length between 1 and {aws_rules.MAX_INSTANCE_POOLS}",
        )
    types = [s.get("InstanceType") for s in specifications]
    if len(specifications) > 1 and None in types:
        raise ValidationError(message="InstanceType is required on each of several Specifications.")
    if len(set(types)) != len(types):
        raise ValidationError(message="Specifications must have one entry per instance type.")
    runs = variant_types(variant or {})
    for instance_type in types:
        if instance_type is not None and instance_type not in runs:
            raise ValidationError(
                message=f"Specification InstanceType {instance_type} is not an instance type of the variant "
                f"(it runs {', '.join(runs) or 'none'})."
            )
