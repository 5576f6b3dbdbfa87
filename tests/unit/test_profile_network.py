"""The profile's ``network:`` section: what it accepts and the one-line errors for bad combinations."""

from __future__ import annotations

import pytest

from sagefit.core.errors import SagefitError
from sagefit.core.profile_network import Network
from sagefit.core.profiles import parse_profile
from tests.support.network import SECURITY_GROUP, SUBNETS, VPC_ID, WEIGHTS, network_yaml, new_vpc_yaml
from tests.support.paths import PROFILES_DIR


def _profile(name: str, weights: str | None, network: str) -> str:
    text = (PROFILES_DIR / name).read_text()
    if weights:
        text = text.replace("model:\n", f"model:\n  model_data_s3_uri: {weights}\n", 1)
    return text.rstrip("\n") + "\n" + network


def test_no_network_is_the_default():
    profile = parse_profile((PROFILES_DIR / "zephyr-7b.yaml").read_text(), "zephyr-7b.yaml")
    assert profile.network == Network()
    assert profile.network.vpc_id is None and not profile.network.isolation


def test_a_gated_model_with_staged_weights_may_be_isolated():
    profile = parse_profile(_profile("llama2-7b.yaml", WEIGHTS, network_yaml()), "p.yaml")
    network = profile.network
    assert (network.vpc_id, network.subnet_ids, network.security_group_ids) == (VPC_ID, SUBNETS, (SECURITY_GROUP,))
    assert network.isolation and profile.model.gated


def test_a_vpc_without_isolation_needs_no_s3_weights():
    profile = parse_profile(_profile("llama2-7b.yaml", None, network_yaml(isolation=False)), "p.yaml")
    assert profile.network.vpc_id == VPC_ID and not profile.network.isolation


@pytest.mark.parametrize(
    ("name", "weights", "network", "message"),
    [
        (
            "zephyr-7b.yaml",
            None,
            network_yaml(),
            "p.yaml: network.isolation: network isolation needs the weights in S3",
        ),
        (
            "llama2-7b.yaml",
            None,
            network_yaml(),
            "p.yaml: network.isolation: meta-llama/Llama-2-7b-chat-hf is a gated Hub model",
        ),
        (
            "zephyr-7b.yaml",
            None,
            network_yaml(False, ("us-east-1a", "us-east-1a")),
            "network.subnets: the subnets are all in one Availability Zone",
        ),
        ("zephyr-7b.yaml", None, "network:\n  isolation: true\n", "network isolation needs the weights in S3"),
        (
            "zephyr-7b.yaml",
            None,
            network_yaml(False).replace(SECURITY_GROUP, "sg-nothex"),
            "network.security_group_ids: 'sg-nothex' is not a security group ID",
        ),
        (
            "zephyr-7b.yaml",
            None,
            network_yaml(False).replace(SUBNETS[1], SUBNETS[0]),
            "network.subnets: a subnet is listed twice",
        ),
        ("zephyr-7b.yaml", None, "network:\n  vpc_id: vpc-12\n", "network.vpc_id"),
    ],
)
def test_bad_combinations_are_one_line_errors(name, weights, network, message):
    with pytest.raises(SagefitError) as caught:
        parse_profile(_profile(name, weights, network), "p.yaml")
    line = str(caught.value)
    assert message in line and "\n" not in line and "fix:" in line, line


# -- network.new_vpc ----------------------------------------------------------------------------------
def test_a_new_vpc_with_staged_weights_is_split_into_one_subnet_per_zone():
    profile = parse_profile(_profile("zephyr-7b.yaml", WEIGHTS, new_vpc_yaml()), "p.yaml")
    network = profile.network
    assert network.new_vpc is not None and network.in_vpc and network.vpc_id is None
    assert network.new_vpc.subnet_cidrs == ("10.20.0.0/20", "10.20.16.0/20")
    three = parse_profile(_profile("zephyr-7b.yaml", WEIGHTS, "network:\n  new_vpc: {availability_zones: 3}\n"), "p")
    assert three.network.new_vpc.subnet_cidrs == ("10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20")
    assert not Network().in_vpc


@pytest.mark.parametrize(
    ("weights", "network", "message"),
    [
        (
            WEIGHTS,
            new_vpc_yaml() + f"  vpc_id: {VPC_ID}\n",
            "network.new_vpc: new_vpc creates a VPC, so it cannot go with vpc_id",
        ),
        (None, new_vpc_yaml(isolation=False), "network.new_vpc: a new VPC has no internet route"),
        (WEIGHTS, "network:\n  new_vpc: {cidr: 10.0.0.0/24}\n", "network.new_vpc.cidr: 10.0.0.0/24 is a /24"),
        (WEIGHTS, "network:\n  new_vpc: {cidr: 10.0.0.1/16}\n", "network.new_vpc.cidr: 10.0.0.1/16 has host bits set"),
        (WEIGHTS, "network:\n  new_vpc: {availability_zones: 1}\n", "network.new_vpc.availability_zones"),
    ],
)
def test_bad_new_vpc_settings_are_one_line_errors(weights, network, message):
    with pytest.raises(SagefitError) as caught:
        parse_profile(_profile("zephyr-7b.yaml", weights, network), "p.yaml")
    line = str(caught.value)
    assert message in line and "\n" not in line and "fix:" in line, line
