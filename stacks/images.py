"""Serving images, resolved offline from the SageMaker Python SDK's bundled image configuration.

sagemaker-core ships the Deep Learning Container registry per region as JSON. Importing
``sagemaker.core.image_uris`` to read it costs seconds of start-up on every synth, so this module
reads the same JSON and applies the SDK's own tag rule; a test checks the result against
``sagemaker.core.image_uris.retrieve`` for every seed profile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata

from sagefit.core.errors import SagefitError
from sagefit.core.spec import DeploymentSpec

FRAMEWORKS = {"tgi": "huggingface-llm", "djl-lmi": "djl-lmi"}


@dataclass(frozen=True)
class ImageUri:
    """A resolved container image and the ECR repository it lives in (for least-privilege pulls)."""

    uri: str
    registry_account: str
    repository: str
    region: str

    def repository_arn(self, partition: str) -> str:
        """The repository's ARN in ``partition`` (a stack passes ``Stack.partition``, the
        ``AWS::Partition`` pseudo parameter, so the ARN holds in aws-cn and aws-us-gov too).

        Format from the Service Authorization Reference, Amazon ECR resource types:
        ``arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}``.
        """
        return f"arn:{partition}:ecr:{self.region}:{self.registry_account}:repository/{self.repository}"


@lru_cache(maxsize=None)
def _config(framework: str) -> dict:
    path = metadata.distribution("sagemaker-core").locate_file(
        f"sagemaker/core/image_uri_config/{framework}.json"
    )
    data = json.loads(path.read_text())
    return data.get("inference", data)


def image_for(spec: DeploymentSpec) -> ImageUri:
    """The serving image of a planned deployment: its engine, at its version, in its region."""
    return resolve_image(spec.container.engine, spec.container.version, spec.region)


def resolve_image(container: str, version: str, region: str) -> ImageUri:
    """The image URI the SDK would give for ``container`` at ``version`` in ``region``."""
    framework = FRAMEWORKS[container]
    config = _config(framework)
    version = config.get("version_aliases", {}).get(version, version)
    spec = config["versions"].get(version)
    if spec is None:
        known = ", ".join(sorted(config["versions"]))
        raise SagefitError(
            f"no {container} image version {version!r} in sagemaker-core's image config",
            f"use one of: {known}",
            field="serving.container_version",
        )
    account = spec["registries"].get(region)
    if account is None:
        raise SagefitError(
            f"no {container} image published in {region}", "choose another region", field="region"
        )
    repository = spec["repository"]
    tag = spec["tag_prefix"]
    if "container_version" in spec:
        py = spec["py_versions"][0]
        tag = "-".join((tag, "gpu", py, spec["container_version"]["gpu"]))
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    uri = f"{account}.dkr.ecr.{region}.{suffix}/{repository}:{tag}"
    return ImageUri(uri=uri, registry_account=account, repository=repository, region=region)
