"""KMS in moto: CloudFormation's tag shape on AWS::KMS::Key.

Every sagefit stack creates a tagged KMS key (the CDK tags every taggable resource), and moto 5.2.5
failed such a stack with ``KeyError: 'TagKey'``: CloudFormation writes tags as ``{Key, Value}``
(AWS::KMS::Key Tags, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-kms-key.html)
while moto's KMS backend expects the KMS API's ``{TagKey, TagValue}``. :func:`install` translates;
call it only through :func:`sagefit.emulator.moto_ext.install_moto_extensions`.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

EXTENSIONS: list[str] = [
    "CloudFormation accepts Tags on AWS::KMS::Key (moto failed the stack with KeyError 'TagKey')",
]


def install() -> None:
    """AWS::KMS::Key Tags come as ``{Key, Value}`` (CloudFormation's tag shape) but moto's KMS
    backend stores ``{TagKey, TagValue}`` (the KMS API's), so a tagged key failed the stack.
    Translate before moto's own handler runs."""
    from moto.kms.models import Key

    original: Callable[..., Key] = Key.__dict__["create_from_cloudformation_json"].__func__

    @functools.wraps(original)
    def create_from_cloudformation_json(
        cls: type[Key],
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Key:
        cloudformation_json = copy.deepcopy(cloudformation_json)
        props = cloudformation_json.get("Properties", {})
        props["Tags"] = [
            {"TagKey": tag["Key"], "TagValue": tag["Value"]} if "Key" in tag else tag for tag in props.get("Tags", [])
        ]
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    setattr(Key, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))
