"""The Model's container definition: image, environment and where its weights come from.

Everything is read from ``plan.spec.container``; this module only renders it. Staged weights
(:class:`sagefit.core.model_data.ModelData`) take one of the two forms CreateModel accepts:

* an uncompressed S3 prefix: ``ModelDataSource.S3DataSource`` with ``S3DataType: S3Prefix`` and
  ``CompressionType: None`` (SageMaker API reference, ContainerDefinition.ModelDataSource and
  S3ModelDataSource; the AWS::SageMaker::Model schema cfn-lint ships requires all three of S3Uri,
  S3DataType and CompressionType; CDK ``CfnModel.ModelDataSourceProperty``/``S3DataSourceProperty``).
  SageMaker copies the objects to /opt/ml/model before the container starts ("Deploying uncompressed
  models", https://docs.aws.amazon.com/sagemaker/latest/dg/large-model-inference-uncompressed.html);
* a .tar.gz archive: ``ModelDataUrl`` ("must point to a single gzip compressed tar archive",
  ContainerDefinition.ModelDataUrl).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import SecretValue
from aws_cdk import aws_sagemaker as sm

from sagefit.core.spec import ContainerSpec


def container_environment(container: ContainerSpec, environment: Mapping[str, str] | None = None) -> dict[str, str]:
    """The engine's variables, plus the Hub token for a gated model the engine downloads.

    ``hf_token_secret`` is None when the weights are staged (the container never contacts the Hub),
    so a staged model's template names no secret at all.
    """
    env = dict(container.environment if environment is None else environment)
    if container.hf_token_secret:
        # A CloudFormation dynamic reference: the token never appears in the template.
        env[container.hf_token_env] = SecretValue.secrets_manager(container.hf_token_secret).unsafe_unwrap()
    return env


def model_data_source(container: ContainerSpec) -> sm.CfnModel.ModelDataSourceProperty | None:
    """``ModelDataSource`` for weights staged uncompressed under a prefix; None otherwise."""
    data = container.model_data
    if data is None or data.compressed:
        return None
    return sm.CfnModel.ModelDataSourceProperty(
        s3_data_source=sm.CfnModel.S3DataSourceProperty(
            s3_uri=data.uri, s3_data_type="S3Prefix", compression_type="None"
        )
    )


def container_definition(
    container: ContainerSpec, image_uri: str, environment: Mapping[str, str] | None = None
) -> sm.CfnModel.ContainerDefinitionProperty:
    """The Model's primary container: the image, its environment and its staged weights, if any.

    ``environment`` replaces the plan's for a pool member whose engine settings differ."""
    data = container.model_data
    return sm.CfnModel.ContainerDefinitionProperty(
        image=image_uri,
        environment=container_environment(container, environment),
        model_data_url=data.uri if data is not None and data.compressed else None,
        model_data_source=model_data_source(container),
    )
