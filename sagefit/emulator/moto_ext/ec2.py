"""CloudFormation's ``Fn::GetAZs`` in moto: the zones of the stack's own region.

A new VPC's subnets (stacks/new_vpc.py) pick their zones with ``Fn::Select [i, Fn::GetAZs ""]``.
"An empty string is equivalent to specifying AWS::Region" (CloudFormation User Guide, Fn::GetAZs:
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getavailabilityzones.html),
but moto 5.2.5 answers ``<DEFAULT_REGION>a..d`` (us-east-1) for it whatever the stack's region
(moto/cloudformation/parsing.py ``clean_json``), and EC2 then refuses a us-east-1 zone for a subnet
in another region. This module resolves ``""`` and ``{"Ref": "AWS::Region"}`` to the stack's region.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.cloudformation import parsing

EXTENSIONS: list[str] = [
    "CloudFormation's Fn::GetAZs with an empty string (or Ref AWS::Region) lists the stack's own region's "
    "zones (moto gave us-east-1's whatever the region)",
]

_ZONE_LETTERS = ("a", "b", "c", "d")
"""The same four letters moto's own answer uses."""


def install() -> None:
    original = parsing.clean_json

    @functools.wraps(original)
    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetAZs" in resource_json:
            region = resource_json["Fn::GetAZs"]
            if region in ("", {"Ref": "AWS::Region"}):
                return [f"{resources_map._region_name}{letter}" for letter in _ZONE_LETTERS]
        return original(resource_json, resources_map)

    # clean_json recurses through the module global, so nested Fn::Select/Fn::GetAZs see this too.
    parsing.clean_json = clean_json
