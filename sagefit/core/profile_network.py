"""The profile's ``network:`` section: place the endpoint (and the meter and hard-cap functions) in an
existing VPC, and optionally cut the model container off the network.

Synth stays offline (no VPC lookups), so the profile lists each subnet's Availability Zone itself::

    network:
      vpc_id: vpc-0abc...
      subnets:
        - {id: subnet-0aaa..., availability_zone: us-east-1a}
        - {id: subnet-0bbb..., availability_zone: us-east-1b}
      security_group_ids: [sg-0ccc...]
      isolation: true        # EnableNetworkIsolation; needs model.model_data_s3_uri

Creating a new VPC (with the endpoints an isolated model needs) is not supported yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sagefit.core.errors import SagefitError
from sagefit.core.profile_errors import FieldProblem

if TYPE_CHECKING:
    from sagefit.core.profiles import Profile

# ID formats: vpc-/subnet-/sg- followed by 8 or 17 hex digits (Amazon EC2 API reference, the Vpc,
# Subnet and SecurityGroup data types; short IDs are 8 digits, long IDs 17).
_VPC_ID = r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$"
_SUBNET_ID = r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$"
_SG_ID = r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$"
_AZ = r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$"

MAX_SUBNETS = 16
"""VpcConfig.Subnets: 1-16 items (SageMaker API reference, VpcConfig)."""
MAX_SECURITY_GROUPS = 5
"""VpcConfig.SecurityGroupIds: 1-5 items (SageMaker API reference, VpcConfig)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Subnet(_Strict):
    """One subnet and its Availability Zone (given, because synth does not look the subnet up)."""

    id: str = Field(pattern=_SUBNET_ID)
    availability_zone: str = Field(pattern=_AZ)


class Network(_Strict):
    """Where the endpoint runs. Empty (the default): SageMaker's own network, internet access on."""

    vpc_id: str | None = Field(default=None, pattern=_VPC_ID)
    subnets: tuple[Subnet, ...] = Field(default=(), max_length=MAX_SUBNETS)
    security_group_ids: tuple[str, ...] = Field(default=(), max_length=MAX_SECURITY_GROUPS)
    isolation: bool = Field(
        default=False, description="EnableNetworkIsolation: the model container gets no network access."
    )

    @model_validator(mode="after")
    def _complete(self) -> Network:
        for group in self.security_group_ids:
            if not _matches(_SG_ID, group):
                raise FieldProblem("network.security_group_ids", f"{group!r} is not a security group ID", "use sg- IDs")
        if self.vpc_id is None:
            if self.subnets or self.security_group_ids:
                raise FieldProblem("network", "subnets and security groups need network.vpc_id", "add vpc_id")
            return self
        if not self.subnets or not self.security_group_ids:
            raise FieldProblem(
                "network", "network.vpc_id needs subnets and security_group_ids", "list the VPC's subnets and groups"
            )
        if len({subnet.id for subnet in self.subnets}) != len(self.subnets):
            raise FieldProblem("network.subnets", "a subnet is listed twice", "list each subnet once")
        # SageMaker hosting spreads instances over the subnets' zones; AWS recommends subnets in at
        # least two Availability Zones ("Give SageMaker AI Hosted Endpoints Access to Resources in
        # Your Amazon VPC", Configure a VPC).
        if len({subnet.availability_zone for subnet in self.subnets}) < 2:
            raise FieldProblem(
                "network.subnets",
                "the subnets are all in one Availability Zone",
                "list subnets in at least two Availability Zones",
            )
        return self

    @property
    def subnet_ids(self) -> tuple[str, ...]:
        return tuple(subnet.id for subnet in self.subnets)


def _matches(pattern: str, text: str) -> bool:
    import re

    return re.fullmatch(pattern, text) is not None


def check_network(profile: Profile, path: Path | str) -> None:
    """The network settings against the model's: an isolated container cannot reach the Hub.

    With ``EnableNetworkIsolation`` the container has no outbound network at all (SageMaker API
    reference, CreateModel EnableNetworkIsolation), so the weights must come from S3
    (``ModelDataUrl``, which SageMaker fetches for the container).
    """
    network, model = profile.network, profile.model
    if not network.isolation or model.model_data_s3_uri:
        return
    if model.gated:
        raise SagefitError(
            f"{model.hf_model_id} is a gated Hub model and network isolation blocks the Hub",
            "stage its weights in S3 and set model.model_data_s3_uri",
            path,
            "network.isolation",
        )
    raise SagefitError(
        "network isolation needs the weights in S3 (the container cannot reach the Hub)",
        "set model.model_data_s3_uri, or isolation: false",
        path,
        "network.isolation",
    )
