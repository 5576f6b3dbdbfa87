"""The serving image versions an engine can run, from sagemaker-core's bundled image configuration.

``serving.container_version`` must name a version of the engine's image family that is published
in the profile's region, or synth fails later naming no file. The SageMaker Python SDK ships that
registry as JSON (``sagemaker/core/image_uri_config/<family>.json``); this module reads it the way
``stacks.images`` does (the same file, no SDK import, no CDK), so `validate` and `plan` refuse an
unknown version with the file and field.

sagemaker-core comes with the ``cdk`` extra. Without it nothing can be synthesized or deployed, and
the check is skipped (:func:`family_config` answers None) rather than failing every `plan`.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import metadata
from typing import Any

DISTRIBUTION = "sagemaker-core"
CONFIG_DIR = "sagemaker/core/image_uri_config"


@cache
def family_config(family: str) -> dict[str, Any] | None:
    """The inference section of ``<family>.json``, or None when sagemaker-core is not installed."""
    try:
        path = metadata.distribution(DISTRIBUTION).locate_file(f"{CONFIG_DIR}/{family}.json")
    except metadata.PackageNotFoundError:
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    inference: dict[str, Any] = data.get("inference", data)
    return inference


def resolve_version(family: str, version: str) -> str:
    """``version`` with the family's aliases (``latest``, ``3.3``) resolved to a version key."""
    config = family_config(family) or {}
    return str(config.get("version_aliases", {}).get(version, version))


def known_versions(family: str) -> tuple[str, ...] | None:
    """Every version key and alias of ``family``, or None when the configuration is not installed."""
    config = family_config(family)
    if config is None:
        return None
    return tuple(sorted({*config.get("versions", {}), *config.get("version_aliases", {})}))


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Numeric parts compare as numbers (0.9 < 0.30), the rest as text."""
    return tuple((int(part), "") if part.isdigit() else (-1, part) for part in version.split("."))


def version_problem(family: str, version: str, region: str) -> tuple[str, str, str] | None:
    """(field, problem, fix) when ``family`` has no image ``version`` in ``region``; None when it has
    one, or when sagemaker-core is not installed to say."""
    config = family_config(family)
    if config is None:
        return None
    spec = config.get("versions", {}).get(resolve_version(family, version))
    if spec is None:
        versions = sorted(config.get("versions", {}), key=_version_key)
        shown = ", ".join(versions[-8:])
        return (
            "serving.container_version",
            f"{version!r} is not a {family} image version in {DISTRIBUTION}'s image config",
            f"use one of its versions (newest: {shown}) or remove the field for the engine's default",
        )
    if region not in spec.get("registries", {}):
        return (
            "region",
            f"the {family} image {version} is not published in {region}",
            "choose a region where the image is published, or another container_version",
        )
    return None


def cuda_major(family: str, version: str) -> int | None:
    """The CUDA major version of ``family``'s image ``version``, from its tag (``-cu130`` -> 13,
    ``cu124-ubuntu22.04`` -> 12), or None when the configuration is not installed or names none."""
    config = family_config(family)
    if config is None:
        return None
    spec = config.get("versions", {}).get(resolve_version(family, version)) or {}
    tag = " ".join([str(spec.get("tag_prefix", "")), str((spec.get("container_version") or {}).get("gpu", ""))])
    found = re.search(r"cu(\d{2,3})\d(?!\d)", tag)
    return int(found.group(1)) if found else None
