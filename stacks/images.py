"""Serving images, resolved offline from the SageMaker Python SDK's bundled image configuration.

sagemaker-core ships the Deep Learning Container registry per region as JSON. Importing
``sagemaker.core.image_uris`` to read it costs seconds of start-up on every synth, so this module
reads the same JSON and applies the SDK's own tag rule; tests check the result against
``sagemaker.core.image_uris.retrieve`` for every seed profile and for every engine's default image
in every region it is published in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata

from sagefit.core.engines import get_engine
from sagefit.core.errors import SagefitError

FRAMEWORKS = {"tgi": "huggingface-llm", "djl-lmi": "djl-lmi"}
"""Old ``serving.container`` values -> sagemaker-core image family (kept for existing profiles)."""

FAMILIES = ("huggingface-llm", "djl-lmi", "vllm", "sglang")
"""Image families sagefit resolves: TGI, LMI (vLLM), the AWS vLLM DLC and the AWS SGLang DLC for
SageMaker (``<family>.json`` in sagemaker-core's ``image_uri_config``)."""


@dataclass(frozen=True)
class ImageUri:
    """A resolved container image and the ECR repository it lives in (for least-privilege pulls)."""

    uri: str
    registry_account: str
    repository: str
    region: str

    @property
    def repository_arn(self) -> str:
        return f"arn:aws:ecr:{self.region}:{self.registry_account}:repository/{self.repository}"


@lru_cache(maxsize=None)
def _config(framework: str) -> dict:
    path = metadata.distribution("sagemaker-core").locate_file(
        f"sagemaker/core/image_uri_config/{framework}.json"
    )
    data = json.loads(path.read_text())
    return data.get("inference", data)


def _tag(config: dict, spec: dict) -> str:
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


def resolve_family(
    family: str, version: str, region: str, field: str = "serving.container_version"
) -> ImageUri:
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
        raise SagefitError(
            f"no {family} image published in {region}", "choose another region", field="region"
        )
    repository = spec["repository"]
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    uri = f"{account}.dkr.ecr.{region}.{suffix}/{repository}:{_tag(config, spec)}"
    return ImageUri(uri=uri, registry_account=account, repository=repository, region=region)


def resolve_image(container: str, version: str, region: str) -> ImageUri:
    """The image URI the SDK would give for the old ``container`` key at ``version`` in ``region``."""
    return resolve_family(FRAMEWORKS[container], version, region)


def resolve_engine_image(engine: str, version: str | None, region: str) -> ImageUri:
    """The image of serving engine ``engine`` (``vllm``, ``tgi``), at its default version if None."""
    image = get_engine(engine).image
    return resolve_family(image.family, version or image.default_version, region)
