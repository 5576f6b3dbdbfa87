"""A ``network:`` section for test profiles: an existing VPC, two subnets in two zones, one group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

VPC_ID = "vpc-0123456789abcdef0"
SUBNETS = ("subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2")
SECURITY_GROUP = "sg-0ccccccccccccccc3"
WEIGHTS = "s3://my-models/llama2/7b/"


def network_yaml(isolation: bool = True, zones: tuple[str, str] = ("us-east-1a", "us-east-1b")) -> str:
    return (
        "network:\n"
        f"  vpc_id: {VPC_ID}\n"
        "  subnets:\n"
        f"    - {{id: {SUBNETS[0]}, availability_zone: {zones[0]}}}\n"
        f"    - {{id: {SUBNETS[1]}, availability_zone: {zones[1]}}}\n"
        f"  security_group_ids: [{SECURITY_GROUP}]\n"
        f"  isolation: {'true' if isolation else 'false'}\n"
    )


NEW_VPC_CIDR = "10.20.0.0/16"


def new_vpc_yaml(isolation: bool = True) -> str:
    """A ``network:`` that has the stack create its VPC."""
    return f"network:\n  new_vpc: {{cidr: {NEW_VPC_CIDR}}}\n  isolation: {'true' if isolation else 'false'}\n"


def make_private(path: Path, weights: str | None = WEIGHTS, isolation: bool = True, new_vpc: bool = False) -> None:
    """Rewrite the profile at ``path`` in place: weights in S3 (unless None) and the network section
    (the existing test VPC, or a new one)."""
    text = path.read_text()
    if weights:
        text = text.replace("model:\n", f"model:\n  model_data_s3_uri: {weights}\n", 1)
    network = new_vpc_yaml(isolation) if new_vpc else network_yaml(isolation)
    path.write_text(text.rstrip("\n") + "\n" + network)


PRIVATE_PROFILES = ("llama2-7b.yaml", "llama2-70b.yaml")
"""llama2-7b: gated, scale-to-zero (inference components); llama2-70b: gated, always-on."""
ALL_PACKS = "AwsSolutions,HIPAA,NIST80053R5"


def synth_private(root: Path, new_vpc: bool = False) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The private seeds (weights in S3, isolated, in a VPC: the existing test VPC, or with ``new_vpc``
    one the stack creates) synthesized with all three cdk-nag packs: (cdk.out directory, stack name ->
    stack, stack name -> template JSON). Raises on any finding."""
    from aws_cdk.assertions import Template

    from stacks.application import build_app
    from tests.support.cdk import cdk_context, new_app  # first: the jsii environment
    from tests.support.paths import PROFILES_DIR, REPO_ROOT

    directory = root / "profiles"
    directory.mkdir()
    for name in PRIVATE_PROFILES:
        (directory / name).write_text((PROFILES_DIR / name).read_text())
        make_private(directory / name, new_vpc=new_vpc)
    outdir = root / "out"
    app = new_app(outdir, cdk_context(**{"sagefit:profiles": str(directory), "sagefit:nagPacks": ALL_PACKS}))
    stacks = {stack.stack_name: stack for stack in build_app(app, base_dir=REPO_ROOT)}
    app.synth()
    return outdir, stacks, {name: Template.from_stack(stack).to_json() for name, stack in stacks.items()}
