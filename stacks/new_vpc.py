"""``network.new_vpc``: a VPC the stack creates for the endpoint, the spend meter and the hard cap.

Private isolated subnets only, one per zone (no internet gateway, no NAT): everything the stack's
workloads reach goes through VPC endpoints, listed below with who needs each. The weights must be
staged in S3 (sagefit.core.profile_network.check_network refuses Hub weights here: nothing could
download them).

Built from L1 resources on purpose: synth stays offline and deterministic (``ec2.Vpc`` looks the
account's zones up when the stack has an account, and closes the default security group with a
custom-resource Lambda function that would need its own role, findings and emulator support), and
every resource is one the local emulator's moto creates through CloudFormation.

The endpoint and the functions attach to the stack's ``WorkloadSecurityGroup`` (no inbound rule);
the interface endpoints accept HTTPS from the VPC's range only. A flow log records the VPC's traffic
in a log group encrypted with the stack's key (cdk-nag AwsSolutions-VPC7, HIPAA/NIST
VPCFlowLogsEnabled).
"""

from __future__ import annotations

from aws_cdk import Fn, RemovalPolicy, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from sagefit.core.profile_network import Network, NewVpc
from sagefit.core.spec import DeploymentSpec
from stacks import cdk_values
from stacks.managed_role import ManagedPolicyRole
from stacks.nag import acknowledge_compliance
from stacks.network import Placement

# Gateway endpoints (route-table entries, no hourly charge; Amazon VPC User Guide, "Gateway
# endpoints"): S3 for the staged weights, which SageMaker copies to /opt/ml/model through the
# model's VPC ("Give SageMaker AI Hosted Endpoints Access to Resources in Your Amazon VPC",
# https://docs.aws.amazon.com/sagemaker/latest/dg/host-vpc.html: "Create an Amazon S3 VPC endpoint");
# DynamoDB for the spend meter's table.
GATEWAY_SERVICES = ("s3", "dynamodb")

# Interface endpoints (AWS PrivateLink, https://docs.aws.amazon.com/vpc/latest/privatelink/aws-services-privatelink-support.html
# for the service names), each with who needs it:
# * the endpoint (https://docs.aws.amazon.com/sagemaker/latest/dg/host-vpc.html and "Connect to
#   SageMaker AI Within your VPC", https://docs.aws.amazon.com/sagemaker/latest/dg/interface-vpc-endpoint.html):
#   - sagemaker.runtime: clients in the VPC invoke the endpoint (InvokeEndpoint/-Async);
#   - ecr.api, ecr.dkr: the serving image is pulled from ECR;
#   - logs: the container's CloudWatch Logs;
#   - sts: SageMaker "uses AWS Security Token Service to download model artifacts from the S3 path"
#     (API reference, ContainerDefinition.ModelDataUrl).
#   No secretsmanager: the Hub token is a CloudFormation dynamic reference resolved at deploy time,
#   never fetched from inside the VPC, and a new VPC has staged weights, so no token at all.
# * the spend meter and the hard cap (their boto3 clients, sagefit/meter and sagefit/hardcap):
#   - sagemaker.api: DescribeEndpoint, the cap's UpdateInferenceComponentRuntimeConfig/DeleteEndpoint;
#   - monitoring: the meter's PutMetricData and the instance metrics it reads;
#   - sns: alerts to the stack's topic;
#   - application-autoscaling: the cap holds the scalable target at its capped capacity.
#   AWS Budgets (the cap's DescribeBudget) gets no endpoint here: whether it offers one was not
#   checked; the README says so.
ENDPOINT_SERVICES = ("sagemaker.runtime", "ecr.api", "ecr.dkr", "logs", "sts")
FUNCTION_SERVICES = ("sagemaker.api", "monitoring", "sns", "application-autoscaling")

FLOW_LOG_ACTIONS = [
    # Amazon VPC User Guide, "IAM role for publishing flow logs to CloudWatch Logs" (less the
    # log-group creation and account-wide Describe*, which a group the stack creates does not need).
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogStreams",
]


def service_name(region: str, service: str) -> str:
    """``com.amazonaws.<region>.<service>`` (AWS PrivateLink, AWS services that integrate)."""
    return f"com.amazonaws.{region}.{service}"


class PrivateVpc(Construct):
    """The VPC, its isolated subnets, route table, security groups, VPC endpoints and flow log."""

    def __init__(self, scope: Construct, construct_id: str, settings: NewVpc, region: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        # DNS support and hostnames on: interface endpoints' private DNS names need both (Amazon VPC
        # User Guide, "DNS attributes for your VPC").
        self.vpc = ec2.CfnVPC(self, "Vpc", cidr_block=settings.cidr, enable_dns_support=True, enable_dns_hostnames=True)
        Tags.of(self.vpc).add("Name", Stack.of(self).stack_name)
        vpc_id = self.vpc.ref
        self.route_table = ec2.CfnRouteTable(self, "RouteTable", vpc_id=vpc_id)
        self.subnets = [self._subnet(index, cidr) for index, cidr in enumerate(settings.subnet_cidrs)]
        subnet_ids = [subnet.ref for subnet in self.subnets]
        self.workload_group = ec2.CfnSecurityGroup(
            self,
            "WorkloadSecurityGroup",
            group_description="sagefit endpoint and functions: no inbound traffic",
            vpc_id=vpc_id,
        )
        self.endpoint_group = ec2.CfnSecurityGroup(
            self,
            "EndpointSecurityGroup",
            group_description="sagefit VPC interface endpoints: HTTPS from the VPC",
            vpc_id=vpc_id,
            security_group_ingress=[
                ec2.CfnSecurityGroup.IngressProperty(
                    ip_protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_ip=settings.cidr,
                    description="HTTPS from the VPC",
                )
            ],
        )
        for service in GATEWAY_SERVICES:
            ec2.CfnVPCEndpoint(
                self,
                f"Gateway-{service}",
                vpc_id=vpc_id,
                service_name=service_name(region, service),
                vpc_endpoint_type="Gateway",
                route_table_ids=[self.route_table.ref],
            )
        for service in (*ENDPOINT_SERVICES, *FUNCTION_SERVICES):
            ec2.CfnVPCEndpoint(
                self,
                f"Interface-{service}",
                vpc_id=vpc_id,
                service_name=service_name(region, service),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=subnet_ids,
                security_group_ids=[self.endpoint_group.attr_group_id],
            )
        self.flow_log = self._flow_log(key)
        self.placement = Placement(tuple(subnet_ids), (self.workload_group.attr_group_id,))
        # The default security group stays as AWS creates it, but nothing uses it: every network
        # interface here gets one of the two groups above.
        acknowledge_compliance(
            self.vpc,
            {
                "VPCDefaultSecurityGroupClosed": "no network interface in this VPC uses its default security group "
                "(the endpoint and functions use WorkloadSecurityGroup, the VPC endpoints EndpointSecurityGroup); "
                "closing it needs ec2.Vpc's custom-resource Lambda function (Custom::VpcRestrictDefaultSG)",
            },
        )

    def _subnet(self, index: int, cidr: str) -> ec2.CfnSubnet:
        # Zones by position (Fn::GetAZs of the stack's region), so synth looks nothing up.
        subnet = ec2.CfnSubnet(
            self,
            f"Subnet{index + 1}",
            vpc_id=self.vpc.ref,
            cidr_block=cidr,
            availability_zone=Fn.select(index, Fn.get_azs()),
            map_public_ip_on_launch=False,
        )
        ec2.CfnSubnetRouteTableAssociation(
            self, f"Subnet{index + 1}Routes", subnet_id=subnet.ref, route_table_id=self.route_table.ref
        )
        return subnet

    def _flow_log(self, key: kms.IKey) -> ec2.CfnFlowLog:
        log_group = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=key,  # the stack's key allows CloudWatch Logs (llm_stack.allow_log_encryption)
            removal_policy=RemovalPolicy.DESTROY,
        )
        stack = Stack.of(self)
        # Confused-deputy guard on the trust policy (same User Guide page: aws:SourceAccount).
        principal = iam.PrincipalWithConditions(
            cdk_values.service_principal("vpc-flow-logs.amazonaws.com"),
            {"StringEquals": {"aws:SourceAccount": stack.account}},
        )
        role = ManagedPolicyRole(
            self,
            "FlowLogRole",
            assumed_by=principal,
            description="sagefit VPC flow log: writes to its own log group",
            statements=[iam.PolicyStatement(actions=FLOW_LOG_ACTIONS, resources=[log_group.log_group_arn])],
        )
        flow_log = ec2.CfnFlowLog(
            self,
            "FlowLog",
            resource_id=self.vpc.ref,
            resource_type="VPC",
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_group_name=log_group.log_group_name,
            deliver_logs_permission_arn=role.role_arn,
        )
        flow_log.node.add_dependency(role.policy)
        return flow_log


def stack_placement(stack: Stack, spec: DeploymentSpec, key: kms.IKey) -> Placement | None:
    """Where the stack's endpoint and functions attach: the VPC it creates for ``network.new_vpc``,
    the profile's existing VPC, or None (SageMaker's own network)."""
    network: Network = spec.network
    if network.new_vpc is not None:
        return PrivateVpc(stack, "Network", network.new_vpc, spec.region, key).placement
    return Placement.existing(network)
