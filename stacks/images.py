"""Serving images, resolved offline from the SageMaker Python SDK's bundled image configuration.

sagemaker-core ships the Deep Learning Container registry per region as JSON. Importing
``sagemaker.core.image_uris`` to read it costs seconds of start-up on every synth, so this module
reads the same JSON and applies the SDK's own tag rule; tests check the result against
``sagemaker.core.image_uris.retrieve`` for every seed profile and for every engine's default image
in every region it is published in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sagefit.core.engines import get_engine
from sagefit.core.errors import SagefitError
from sagefit.core.image_config import family_config
from sagefit.core.spec import DeploymentSpec

FRAMEWORKS = {"tgi": "huggingface-llm", "djl-lmi": "djl-lmi"}
"""Old ``serving.container`` values -> sagemaker-core image family (kept for existing profiles)."""

FAMILIES = ("huggingface-llm", "djl-lmi", "vllm", "sglang")
"""Image families sagefit resolves: TGI, LMI (vLLM), the AWS vLLM DLC and the AWS SGLang DLC for
SageMaker (``<family>.json`` in sagemaker-core's ``image_uri_config``)."""


# (region prefix, partition, DNS suffix), most specific prefix first: the partitions of botocore's
# data/endpoints.json ("partition", "dnsSuffix", "regionRegex"), which the SDK's ECR host resolver uses.
PARTITIONS = (
    ("cn-", "aws-cn", "amazonaws.com.cn"),
    ("us-gov-", "aws-us-gov", "amazonaws.com"),
    ("us-isob-", "aws-iso-b", "sc2s.sgov.gov"),
    ("us-isof-", "aws-iso-f", "csp.hci.ic.gov"),
    ("us-iso-", "aws-iso", "c2s.ic.gov"),
    ("eu-isoe-", "aws-iso-e", "cloud.adc-e.uk"),
    ("eusc-", "aws-eusc", "amazonaws.eu"),
)


def _partition(region: str) -> tuple[str, str]:
    """(ARN partition, DNS suffix) of ``region``; the commercial partition when no prefix matches."""
    for prefix, partition, suffix in PARTITIONS:
        if region.startswith(prefix):
            return partition, suffix
    return "aws", "amazonaws.com"


@dataclass(frozen=True)
class ImageUri:
    """A resolved container image and the ECR repository it lives in (for least-privilege pulls)."""

    uri: str
    registry_account: str
    repository: str
    region: str

    @property
    def partition(self) -> str:
        """The partition of the image's region (botocore's partition table)."""
        return _partition(self.region)[0]

    def repository_arn(self, partition: str) -> str:
        """The repository's ARN in ``partition`` (a stack passes ``Stack.partition``, the
        ``AWS::Partition`` pseudo parameter, so the ARN holds in aws-cn and aws-us-gov too).

        Format from the Service Authorization Reference, Amazon ECR resource types:
        ``arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}``.
        """
        return f"arn:{partition}:ecr:{self.region}:{self.registry_account}:repository/{self.repository}"


def _config(framework: str) -> dict[str, Any]:
    """The family's image configuration, read by the core (sagefit.core.image_config), which checks
    ``serving.container_version`` against the same file when a profile is validated."""
    config = family_config(framework)
    if config is None:
        raise SagefitError("sagemaker-core's image configuration is not installed", "pip install 'sagefit[cdk]'")
    return config


def _tag(config: dict[str, Any], spec: dict[str, Any]) -> str:
    """The SDK's tag rule for a GPU inference image (``image_uris.retrieve`` + ``_format_tag``).

    ``tag_prefix``, then the processor (``gpu``) when the family lists processors and the version
    does not opt out with ``processor_in_tag: false``, the only Python version if one is listed, and
    the GPU container version if one is given; absent parts are skipped.
    """
    processors = config.get("processors") or spec.get("processors")
    processor = "gpu" if processors and spec.get("processor_in_tag", True) else None
    py_versions = spec.get("py_versions") or []
    py = py_versions[0] if len(py_versions) == 1 else None
    container = (spec.get("container_version") or {}).get("gpu")
    return "-".join(part for part in (spec["tag_prefix"], processor, py, container) if part)


def resolve_family(family: str, version: str, region: str, field: str = "serving.container_version") -> ImageUri:
    """The image URI the SDK would give for image family ``family`` at ``version`` in ``region``."""
    config = _config(family)
    version = config.get("version_aliases", {}).get(version, version)
    spec = config["versions"].get(version)
    if spec is None:
        known = ", ".join(sorted(config["versions"]))
        raise SagefitError(
            f"no {family} image version {version!r} in sagemaker-core's image config",
            f"use one of: {known}",
            field=field,
        )
    account = spec["registries"].get(region)
    if account is None:
        raise SagefitError(f"no {family} image published in {region}", "choose another region", field="region")
    repository = spec["repository"]
    suffix = _partition(region)[1]
    uri = f"{account}.dkr.ecr.{region}.{suffix}/{repository}:{_tag(config, spec)}"
    return ImageUri(uri=uri, registry_account=account, repository=repository, region=region)


def resolve_image(container: str, version: str, region: str) -> ImageUri:
    """The image URI the SDK would give for the old ``container`` key at ``version`` in ``region``."""
    return resolve_family(FRAMEWORKS[container], version, region)


def resolve_engine_image(engine: str, version: str | None, region: str) -> ImageUri:
    """The image of serving engine ``engine`` (``vllm``, ``tgi``), at its default version if None."""
    image = get_engine(engine).image
    return resolve_family(image.family, version or image.default_version, region)


def image_for(spec: DeploymentSpec) -> ImageUri:
    """The serving image of a planned deployment: its engine's image family, at its version, in its region."""
    return resolve_engine_image(spec.container.engine, spec.container.version, spec.region)
