"""The SageMaker execution role of an `LlmEndpoint`, and the cdk-nag findings it is accepted with.

Kept apart from the endpoint so that what the model container may do is read in one place: pull its
one image repository, write its own log groups and metrics, use the stack's key (and, for async
endpoints, the output bucket and the two notification topics, granted by
:mod:`stacks.async_destinations`). The role and its policy are created in the endpoint's scope,
so their construct paths (and CloudFormation logical ids) are the endpoint's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import ArnFormat, CfnElement, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sagefit.core.model_data import ModelData
from sagefit.core.spec import DeploymentSpec
from stacks import cdk_values
from stacks.images import ImageUri
from stacks.managed_role import ManagedPolicyRole
from stacks.nag import acknowledge_all
from stacks.network import ENI_REASON, grant_sagemaker_eni

if TYPE_CHECKING:
    from stacks.endpoint import LlmEndpoint

ROLE_ID = "ExecutionRole"


def log_groups(spec: DeploymentSpec) -> list[str]:
    """The log groups SageMaker writes for this endpoint (and its inference component).

    Names from the SageMaker Developer Guide, "Log Amazon SageMaker AI events with Amazon
    CloudWatch": ``/aws/sagemaker/Endpoints/<endpoint>`` and
    ``/aws/sagemaker/InferenceComponents/<component>``.
    """
    groups = [f"/aws/sagemaker/Endpoints/{spec.names.endpoint}"]
    if spec.names.inference_component:
        groups.append(f"/aws/sagemaker/InferenceComponents/{spec.names.inference_component}")
    return groups


def execution_role(
    scope: Construct, stack: Stack, spec: DeploymentSpec, image: ImageUri, key: kms.IKey
) -> ManagedPolicyRole:
    """Execution role: ECR pull of one repository, its own logs and metrics, its own key.

    ``stack`` is ``scope``'s stack, passed in because looking it up is a jsii round trip.
    """
    partition = stack.partition
    role = ManagedPolicyRole(
        scope,
        ROLE_ID,
        assumed_by=cdk_values.service_principal("sagemaker.amazonaws.com"),
        description=f"SageMaker execution role for {spec.names.endpoint} (sagefit)",
    )
    grant_endpoint_basics(role, stack, [image.repository_arn(partition)], log_groups(spec))
    if spec.container.model_data is not None:
        grant_model_data(role, partition, spec.container.model_data)
    key.grant_encrypt_decrypt(role)
    grant_sagemaker_eni(role, spec.network)
    return role


def grant_endpoint_basics(role: iam.Role, stack: Stack, repositories: list[str], groups: list[str]) -> None:
    """What every SageMaker execution role here needs: pull the images' repositories, write the
    endpoint's own log groups, put metrics under /aws/sagemaker/* only (SageMaker Developer Guide,
    "How to use SageMaker AI execution roles", CreateModel API: execution role permissions)."""
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            resources=repositories,
        )
    )
    role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            resources=[
                stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=f"{group}:*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
                for group in groups
            ],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
        )
    )


def model_objects_arn(data: ModelData, partition: str) -> str:
    """What the role may read: the archive itself, or every object under the prefix (the whole
    bucket for ``s3://bucket/``). Format from the Service Authorization Reference, Amazon S3 object
    resource type: ``arn:${Partition}:s3:::${BucketName}/${ObjectName}``."""
    if data.compressed:
        return f"arn:{partition}:s3:::{data.bucket}/{data.key}"
    return f"arn:{partition}:s3:::{data.bucket}/{data.key}/*" if data.key else f"arn:{partition}:s3:::{data.bucket}/*"


def grant_model_data(role: iam.Role, partition: str, data: ModelData) -> None:
    """Read access to the staged weights only (SageMaker Developer Guide, "How to use SageMaker AI
    execution roles", CreateModel API: execution role permissions, s3:GetObject and s3:ListBucket).

    An uncompressed prefix (``ModelDataSource`` S3Prefix) is listed before its objects are copied to
    /opt/ml/model ("SageMaker AI will ... use all objects under the prefix", "Deploying uncompressed
    models", https://docs.aws.amazon.com/sagemaker/latest/dg/large-model-inference-uncompressed.html),
    so the role may list the bucket, but only under that prefix: ListBucket's ``s3:prefix`` condition
    key (Service Authorization Reference, Amazon S3). A .tar.gz archive is one GetObject, no listing.
    """
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[model_objects_arn(data, partition)]))
    if data.compressed:
        return
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[f"arn:{partition}:s3:::{data.bucket}"],
            conditions={"StringLike": {"s3:prefix": [f"{data.key}/*"]}} if data.key else None,
        )
    )


def acknowledge_execution_role(
    role: iam.Role, endpoint: LlmEndpoint, spec: DeploymentSpec, output_bucket: s3.IBucket | None
) -> None:
    """Accept the wildcards cdk-nag finds in the execution role's policy, each with its reason.

    Call it once every grant is made: the findings name the async output bucket when there is one.
    """
    account, region = endpoint.nag_account_region
    reasons = {
        "Resource::*": "ecr:GetAuthorizationToken and cloudwatch:PutMetricData take no resource; "
        "PutMetricData is limited to /aws/sagemaker/* namespaces by condition",
        "Action::kms:GenerateDataKey*": "grant on the stack's own key only (async output, topics)",
        "Action::kms:ReEncrypt*": "grant on the stack's own key only (async output, topics)",
    }
    if spec.network.in_vpc:
        reasons["Resource::*"] += "; " + ENI_REASON.format(service="SageMaker endpoint")
    for group in log_groups(spec):
        arn = f"arn:<AWS::Partition>:logs:{region}:{account}:log-group:{group}:*"
        reasons[f"Resource::{arn}"] = "log streams of this endpoint's own log group; names are set by SageMaker"
    data = spec.container.model_data
    if data is not None and not data.compressed:
        objects = model_objects_arn(data, "<AWS::Partition>")
        reasons[f"Resource::{objects}"] = (
            "GetObject of the weights staged under the profile's model_data_s3_uri prefix only (SageMaker "
            "copies every object under it to /opt/ml/model); ListBucket is limited to the prefix by s3:prefix"
        )
    if output_bucket is not None:
        for action in ("s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:GetObject*", "s3:List*"):
            reasons[f"Action::{action}"] = "read/write grant on the async output bucket only"
        bucket_resource = output_bucket.node.default_child
        assert isinstance(bucket_resource, CfnElement), "an s3.Bucket's default child is its CfnBucket"
        bucket_id = endpoint.stack.get_logical_id(bucket_resource)
        reasons[f"Resource::<{bucket_id}.Arn>/*"] = "objects of the async output bucket only"
    acknowledge_all(role, "AwsSolutions-IAM5", reasons)
