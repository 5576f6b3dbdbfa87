"""Placing the endpoint and the stack's functions in the profile's VPC (``network:``), and the
endpoint config's storage encryption finding that the instance type decides.

Synth stays offline: an existing VPC is given by IDs and written straight into the L1 properties
(``VpcConfig``), never looked up; a new one (:mod:`stacks.new_vpc`) hands over its own references.
Both reach the endpoint and the functions as one :class:`Placement`. The ENI permissions each
service needs to attach to the VPC go into the role's managed policy (stacks/managed_role.py), not an
AWS managed policy (AwsSolutions-IAM4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sagemaker as sm
from constructs import Construct

from sagefit.core.profile_network import Network
from sagefit.core.spec import DeploymentSpec
from stacks.nag import acknowledge_compliance

LAMBDA_ENI_ACTIONS = [
    # AWSLambdaVPCAccessExecutionRole's actions (Lambda Developer Guide, "Giving Lambda functions
    # access to resources in an Amazon VPC": execution role and user permissions).
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
SAGEMAKER_ENI_ACTIONS = [
    # SageMaker Developer Guide, "Give SageMaker AI Hosted Endpoints Access to Resources in Your
    # Amazon VPC": the execution role needs these to create the endpoint's network interfaces.
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
]
ENI_REASON = (
    "the VPC's network interface actions (EC2 Describe* take no resource; the set is AWS's documented "
    "minimum for a VPC-attached {service}), needed because the profile places it in a VPC (network:)"
)


@dataclass(frozen=True)
class Placement:
    """The subnets and security groups the endpoint and the functions attach to: the profile's IDs
    for an existing VPC, or the references of the VPC the stack creates (:mod:`stacks.new_vpc`)."""

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]

    @classmethod
    def existing(cls, network: Network) -> Placement | None:
        """The profile's existing VPC (None when it names none)."""
        if not network.vpc_id:
            return None
        return cls(network.subnet_ids, network.security_group_ids)


def sagemaker_vpc_config(placement: Placement | None) -> sm.CfnModel.VpcConfigProperty | None:
    """The Model's ``VpcConfig`` (CreateModel API reference, VpcConfig: Subnets and SecurityGroupIds)."""
    if placement is None:
        return None
    return sm.CfnModel.VpcConfigProperty(
        subnets=list(placement.subnet_ids), security_group_ids=list(placement.security_group_ids)
    )


def endpoint_config_vpc_config(placement: Placement | None) -> sm.CfnEndpointConfig.VpcConfigProperty | None:
    """The EndpointConfig's ``VpcConfig``, which an endpoint of inference components uses in place
    of the model's (CreateEndpointConfig API reference, VpcConfig)."""
    if placement is None:
        return None
    return sm.CfnEndpointConfig.VpcConfigProperty(
        subnets=list(placement.subnet_ids), security_group_ids=list(placement.security_group_ids)
    )


def model_network(placement: Placement | None, isolation: bool) -> dict[str, Any]:
    """The Model's network properties: its VpcConfig, and CreateModel ``EnableNetworkIsolation`` (no
    network in or out of the container; the weights come from S3, which
    sagefit.core.profile_network.check_network requires)."""
    return {
        "vpc_config": sagemaker_vpc_config(placement),
        "enable_network_isolation": True if isolation else None,
    }


def endpoint_config_network(
    placement: Placement | None, isolation: bool, uses_inference_component: bool
) -> dict[str, Any]:
    """An endpoint of inference components takes VpcConfig and EnableNetworkIsolation on its endpoint
    config (CreateEndpointConfig API reference: both apply to the components' containers); other
    endpoints take them from the model their variant names."""
    if not uses_inference_component:
        return {}
    return {
        "vpc_config": endpoint_config_vpc_config(placement),
        "enable_network_isolation": True if isolation else None,
    }


def acknowledge_nvme(config: Construct, spec: DeploymentSpec) -> None:
    """An endpoint config on local NVMe storage has no KmsKeyId (HIPAA/NIST
    SageMakerEndpointConfigurationKMSKeyConfigured) because SageMaker refuses it there."""
    if not spec.local_nvme:
        return
    reason = (
        f"{spec.instance_type} has local NVMe instance storage, for which CreateEndpointConfig refuses "
        "KmsKeyId (API reference, CreateEndpointConfig KmsKeyId); the instance store is encrypted by the "
        "hardware instead"
    )
    acknowledge_compliance(config, {"SageMakerEndpointConfigurationKMSKeyConfigured": reason})


def grant_sagemaker_eni(role: iam.Role, network: Network) -> None:
    if network.in_vpc:
        role.add_to_policy(iam.PolicyStatement(actions=SAGEMAKER_ENI_ACTIONS, resources=["*"]))


def place_function(function: lambda_.Function, role: iam.Role, placement: Placement | None) -> None:
    """Put ``function`` in the stack's VPC (``AWS::Lambda::Function`` VpcConfig) with the ENI
    permissions Lambda checks for at CreateFunction."""
    if placement is None:
        return
    role.add_to_policy(iam.PolicyStatement(actions=LAMBDA_ENI_ACTIONS, resources=["*"]))
    cfn = cast(lambda_.CfnFunction, function.node.default_child)
    cfn.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
        subnet_ids=list(placement.subnet_ids), security_group_ids=list(placement.security_group_ids)
    )
