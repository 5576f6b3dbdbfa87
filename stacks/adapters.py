"""`AdapterComponents`: one adapter inference component per LoRA adapter profile on a base's component.

CreateInferenceComponent makes an adapter component from two values: the base
(``Specification.BaseInferenceComponentName``: "Specify this parameter only if your request is meant
to create an adapter inference component") and the adapter's artifacts ("use the Container parameter
to specify the location of the adapter artifacts. In the parameter value, use the ArtifactUrl
parameter"); ``ComputeResourceRequirements`` is omitted ("Omit this parameter if your request is meant
to create an adapter inference component ... it uses the compute resources of the base inference
component"). Source: API reference, InferenceComponentSpecification. The component gets no
``RuntimeConfig`` either: its copies are the base's, which autoscaling and the hard cap move, and the
AWS::SageMaker::InferenceComponent schema requires only ``EndpointName`` (cfn-lint's bundled schema).

Every value comes from the base's spec (``plan.spec.adapters`` of a profile of its own, ``member.adapters``
of a shared endpoint's member; :class:`sagefit.core.spec.AdapterSpec`). The construct takes only what
it attaches to: the base's component and name, the endpoint and the execution role, so one construct
serves both (:func:`endpoint_adapters` builds its props from a profile's `LlmEndpoint`). The execution
role may read each adapter's one ``.tar.gz`` object and nothing else of its bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sm
from constructs import Construct

from sagefit.core.spec import AdapterSpec
from stacks.managed_role import ManagedPolicyRole

if TYPE_CHECKING:
    from stacks.endpoint import LlmEndpoint


@dataclass(frozen=True)
class AdapterComponentsProps:
    """What the adapter components attach to."""

    adapters: tuple[AdapterSpec, ...]
    base: sm.CfnInferenceComponent
    """The base inference component: created before the adapters, deleted after them."""
    base_name: str
    """The base's fixed name (from its spec); the schema has no GetAtt for it."""
    endpoint_name: str
    """The endpoint's name (a token of the endpoint resource, so the adapters wait for the endpoint)."""
    role: ManagedPolicyRole
    """The execution role SageMaker reads the artifacts with."""


def endpoint_adapters(endpoint: LlmEndpoint) -> AdapterComponentsProps:
    """The props of a profile's own endpoint's adapters (its ``plan.spec.adapters``)."""
    base, name = endpoint.inference_component, endpoint.inference_component_name
    if base is None or name is None:  # the planner refuses adapters on a base without one (sagefit.core.adapters)
        raise ValueError(f"{endpoint.spec.names.stack}: adapters need the base's inference component")
    return AdapterComponentsProps(
        adapters=endpoint.spec.adapters,
        base=base,
        base_name=name,
        endpoint_name=endpoint.endpoint.attr_endpoint_name,
        role=endpoint.role,
    )


def _logical_id(adapter: AdapterSpec) -> str:
    """``mistral-7b-support`` -> ``Mistral7bSupport``: stable per adapter, whatever the order of files."""
    return "".join(part[:1].upper() + part[1:] for part in adapter.profile_name.split("-"))


def object_arn(partition: str, s3_uri: str) -> str:
    """``s3://bucket/key`` as the S3 object ARN (Service Authorization Reference, Amazon S3:
    ``arn:${Partition}:s3:::${BucketName}/${ObjectName}``)."""
    bucket, _, key = s3_uri.removeprefix("s3://").partition("/")
    return f"arn:{partition}:s3:::{bucket}/{key}"


class AdapterComponents(Construct):
    """The adapter inference components on ``props.base``."""

    def __init__(self, scope: Construct, construct_id: str, props: AdapterComponentsProps) -> None:
        super().__init__(scope, construct_id)
        adapters, base, role = props.adapters, props.base, props.role
        partition = Stack.of(self).partition
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[object_arn(partition, adapter.artifact_url) for adapter in adapters],
            )
        )
        self.components: dict[str, sm.CfnInferenceComponent] = {}
        for adapter in adapters:
            component = sm.CfnInferenceComponent(
                self,
                _logical_id(adapter),
                inference_component_name=adapter.component_name,
                endpoint_name=props.endpoint_name,
                specification=sm.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                    # The base's fixed name (its spec's); the schema has no GetAtt for it.
                    base_inference_component_name=props.base_name,
                    container=sm.CfnInferenceComponent.InferenceComponentContainerSpecificationProperty(
                        artifact_url=adapter.artifact_url
                    ),
                ),
            )
            # The base must exist (and be InService) before an adapter is created, and outlive it on
            # delete: CloudFormation creates in dependency order and deletes in reverse.
            component.add_dependency(base)
            component.node.add_dependency(role.policy)  # SageMaker reads the artifact with the role
            self.components[adapter.profile_name] = component
        CfnOutput(
            self,
            "AdapterInferenceComponentNames",
            value=",".join(adapter.component_name for adapter in adapters),
            description="sagefit invoke ADAPTER addresses each with InferenceComponentName",
        )
