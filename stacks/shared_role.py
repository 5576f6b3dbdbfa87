"""The execution role of a shared endpoint: every member's image, every member's log group, one key.

One role serves the endpoint config (an inference-component endpoint names its role there) and every
member's model, so it pulls each member's image repository and writes the endpoint's and each
component's log groups (names from the SageMaker Developer Guide, "Log Amazon SageMaker AI events
with Amazon CloudWatch", as in :mod:`stacks.execution_role`).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from sagefit.core.shared_spec import SharedDeploymentSpec
from stacks import cdk_values
from stacks.execution_role import ROLE_ID, grant_endpoint_basics, grant_model_data, model_objects_arn
from stacks.images import ImageUri
from stacks.managed_role import ManagedPolicyRole
from stacks.nag import acknowledge_all


def shared_log_groups(spec: SharedDeploymentSpec) -> list[str]:
    return [
        f"/aws/sagemaker/Endpoints/{spec.names.endpoint}",
        *(f"/aws/sagemaker/InferenceComponents/{m.component_name}" for m in spec.members),
    ]


def shared_execution_role(
    scope: Construct, stack: Stack, spec: SharedDeploymentSpec, images: list[ImageUri], key: kms.IKey
) -> ManagedPolicyRole:
    """ECR pull of the members' repositories, the endpoint's own logs and metrics, its own key."""
    partition = stack.partition
    role = ManagedPolicyRole(
        scope,
        ROLE_ID,
        assumed_by=cdk_values.service_principal("sagemaker.amazonaws.com"),
        description=f"SageMaker execution role for shared endpoint {spec.names.endpoint} (sagefit)",
    )
    repositories = sorted({image.repository_arn(partition) for image in images})
    grant_endpoint_basics(role, stack, repositories, shared_log_groups(spec))
    staged = {m.container.model_data.uri: m.container.model_data for m in spec.members if m.container.model_data}
    for uri in sorted(staged):
        grant_model_data(role, partition, staged[uri])
    key.grant_encrypt_decrypt(role)
    return role


def acknowledge_shared_role(role: iam.Role, spec: SharedDeploymentSpec, account: str, region: str) -> None:
    """Accept the wildcards cdk-nag finds in the role's policy, each with its reason."""
    reasons = {
        "Resource::*": "ecr:GetAuthorizationToken and cloudwatch:PutMetricData take no resource; "
        "PutMetricData is limited to /aws/sagemaker/* namespaces by condition",
        "Action::kms:GenerateDataKey*": "grant on the stack's own key only",
        "Action::kms:ReEncrypt*": "grant on the stack's own key only",
    }
    for group in shared_log_groups(spec):
        arn = f"arn:<AWS::Partition>:logs:{region}:{account}:log-group:{group}:*"
        reasons[f"Resource::{arn}"] = "log streams of this endpoint's own log groups; names are set by SageMaker"
    for member in spec.members:
        data = member.container.model_data
        if data is not None and not data.compressed:
            objects = model_objects_arn(data, "<AWS::Partition>")
            reasons[f"Resource::{objects}"] = (
                "GetObject of a member's weights staged under its model_data_s3_uri prefix only"
            )
    acknowledge_all(role, "AwsSolutions-IAM5", reasons)
