"""Rules on one production variant beyond names and bounds: its host AMI and its local storage.

Split from :mod:`.rules` (which lists them in its ``RULES`` table) to keep each module small.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.sagemaker.exceptions import ValidationError

from sagefit.core import aws_rules

AMI_RULE = "ProductionVariant.InferenceAmiVersion one of " + ", ".join(aws_rules.INFERENCE_AMI_VERSIONS)


def check_ami(value: Any, path: str) -> None:
    """Refuse an InferenceAmiVersion outside the API's enum (shape ProductionVariantInferenceAmiVersion,
    :data:`sagefit.core.aws_rules.INFERENCE_AMI_VERSIONS`), worded as AWS words an enum violation."""
    if value is None or value in aws_rules.INFERENCE_AMI_VERSIONS:
        return
    allowed = ", ".join(aws_rules.INFERENCE_AMI_VERSIONS)
    raise ValidationError(
        message=f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{allowed}]"
    )


@functools.cache
def _local_nvme_types() -> frozenset[str]:
    from sagefit.core.catalog import load_catalog

    catalog = load_catalog()
    return frozenset(name for name in catalog.names() if catalog.get(name).local_nvme)


def check_local_storage(variant: dict[str, Any], kms_key_id: str | None) -> None:
    instance_type = variant.get("InstanceType")
    if instance_type not in _local_nvme_types():
        return
    if kms_key_id:
        raise ValidationError(
            message=f"KmsKeyId cannot be specified: instance type {instance_type} has local instance storage, "
            "which is encrypted by the instance's hardware module."
        )
    if variant.get("VolumeSizeInGB") is not None:
        raise ValidationError(
            message=f"VolumeSizeInGB is not supported for instance type {instance_type}: it has local "
            "instance storage and no EBS volume."
        )
