"""The profile's ``network:`` section: place the endpoint (and the meter and hard-cap functions) in a
VPC, an existing one or one the stack creates, and optionally cut the model container off the network.

Synth stays offline (no VPC lookups), so an existing VPC's subnets come with their Availability Zones::

    network:
      vpc_id: vpc-0abc...
      subnets:
        - {id: subnet-0aaa..., availability_zone: us-east-1a}
        - {id: subnet-0bbb..., availability_zone: us-east-1b}
      security_group_ids: [sg-0ccc...]
      isolation: true        # EnableNetworkIsolation; needs model.model_data_s3_uri

or the stack builds one (private isolated subnets in two or three zones, the VPC endpoints the
endpoint and the functions use, a flow log; :mod:`stacks.new_vpc`)::

    network:
      new_vpc: {cidr: 10.0.0.0/16}
      isolation: true

``new_vpc`` is a mapping rather than a ``create: true`` flag because its settings (the address range,
the zone count) mean nothing for an existing VPC: the two forms are exclusive, and each carries only
its own fields.
"""

from __future__ import annotations

import ipaddress
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
_CIDR = r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$"
MIN_VPC_PREFIX, MAX_VPC_PREFIX = 16, 20
SUBNET_SPLIT_BITS = 4

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


class NewVpc(_Strict):
    """A VPC the stack creates: one private isolated subnet per zone, no internet route."""

    cidr: str = Field(default="10.0.0.0/16", pattern=_CIDR, description="The VPC's IPv4 range, /16 to /20.")
    availability_zones: int = Field(default=2, ge=2, le=3, description="Zones, hence subnets (at least two).")

    @model_validator(mode="after")
    def _range(self) -> NewVpc:
        network = ipaddress.ip_network(self.cidr, strict=False)
        # CreateVpc accepts /16 to /28 (Amazon VPC User Guide, "VPC CIDR blocks"); sagefit splits the
        # range in 16 and gives each zone one part, which must hold the interface endpoints' and the
        # endpoint's network interfaces, so it stops at /20 (/24 subnets, 251 usable addresses).
        if not MIN_VPC_PREFIX <= network.prefixlen <= MAX_VPC_PREFIX:
            raise FieldProblem(
                "network.new_vpc.cidr",
                f"{self.cidr} is a /{network.prefixlen}",
                f"use a range from /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX}, such as 10.0.0.0/16",
            )
        if str(network) != self.cidr:
            raise FieldProblem("network.new_vpc.cidr", f"{self.cidr} has host bits set", f"write {network}")
        return self

    @property
    def subnet_cidrs(self) -> tuple[str, ...]:
        """One /(prefix+4) block per zone, the first ones of the range."""
        parts = ipaddress.ip_network(self.cidr).subnets(prefixlen_diff=SUBNET_SPLIT_BITS)
        return tuple(str(next(parts)) for _ in range(self.availability_zones))


class Network(_Strict):
    """Where the endpoint runs. Empty (the default): SageMaker's own network, internet access on."""

    new_vpc: NewVpc | None = Field(default=None, description="Create a VPC (exclusive with vpc_id).")
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
        if self.new_vpc is not None:
            if self.vpc_id or self.subnets or self.security_group_ids:
                raise FieldProblem(
                    "network.new_vpc",
                    "new_vpc creates a VPC, so it cannot go with vpc_id, subnets or security_group_ids",
                    "keep new_vpc to create one, or vpc_id with its subnets and groups to use an existing one",
                )
            return self
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

    @property
    def in_vpc(self) -> bool:
        """The endpoint and the functions run in a VPC: an existing one, or the one the stack creates."""
        return self.vpc_id is not None or self.new_vpc is not None


def _matches(pattern: str, text: str) -> bool:
    import re

    return re.fullmatch(pattern, text) is not None


def check_network(profile: Profile, path: Path | str) -> None:
    """The network settings against the model's: an isolated container, or one in a new VPC, cannot reach the Hub.

    With ``EnableNetworkIsolation`` the container has no outbound network at all (SageMaker API
    reference, CreateModel EnableNetworkIsolation), so the weights must come from S3
    (``ModelDataSource`` or ``ModelDataUrl``, which SageMaker fetches for the container); and a new
    VPC has no internet route at all.
    """
    network, model = profile.network, profile.model
    if network.new_vpc is not None and not model.model_data_s3_uri:
        # The new VPC's subnets have no route to the internet (stacks/new_vpc.py), so the engine
        # could not download from the Hub even without isolation.
        raise SagefitError(
            "a new VPC has no internet route, so the container cannot download the weights from the Hub",
            "stage them in S3 (sagefit stage) and set model.model_data_s3_uri",
            path,
            "network.new_vpc",
        )
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
