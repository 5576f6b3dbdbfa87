"""Adapter inference components in the emulator: what AWS documents about them, enforced.

An adapter inference component names a base component (``Specification.BaseInferenceComponentName``)
and the adapter's artifacts (``Specification.Container.ArtifactUrl``), and runs on the base's compute.
The rules below are the API reference's (InferenceComponentSpecification, its BaseInferenceComponentName
and ComputeResourceRequirements members; InferenceComponentContainerSpecification.ArtifactUrl). AWS's
error messages for them are not documented, so every message here is ours.

DeleteInferenceComponent's reference says only "Deletes an inference component" and nothing about a
base that still holds adapters. The emulator takes the strict reading and refuses it; CloudFormation's
dependency order (each adapter component depends on its base) deletes the adapters first, and moto's
stack delete retries what failed once the rest is gone, so a stack still deletes cleanly.

This module imports nothing from :mod:`.rules`, which lists these rules (:data:`ADAPTER_RULES`) in
its ``RULES`` table for the README.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from moto.sagemaker.exceptions import ValidationError

from sagefit.core.aws_rules import SAGEMAKER_API

_SPEC_DOC = f"{SAGEMAKER_API}/API_InferenceComponentSpecification.html"
_CONTAINER_DOC = f"{SAGEMAKER_API}/API_InferenceComponentContainerSpecification.html (ArtifactUrl)"
_DELETE_DOC = f"{SAGEMAKER_API}/API_DeleteInferenceComponent.html"
_CREATE = "CreateInferenceComponent and AWS::SageMaker::InferenceComponent"

ADAPTER_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "An adapter component's BaseInferenceComponentName must name an existing, InService inference "
        "component on the same endpoint that is not itself an adapter; message ours",
        f"{_SPEC_DOC} (BaseInferenceComponentName)",
        _CREATE,
    ),
    (
        "An adapter component has no ComputeResourceRequirements (it uses its base's); message ours",
        f"{_SPEC_DOC} (ComputeResourceRequirements)",
        _CREATE,
    ),
    (
        "An adapter component needs Container.ArtifactUrl, a single .tar.gz; message ours",
        _CONTAINER_DOC,
        _CREATE,
    ),
    (
        "DeleteInferenceComponent of a base that still holds adapter components is refused (undocumented: "
        "the strict reading; CloudFormation deletes the adapters first); message ours",
        _DELETE_DOC,
        "DeleteInferenceComponent and CloudFormation deletes of AWS::SageMaker::InferenceComponent",
    ),
)
"""(text, source, where enforced) of each rule, for :data:`sagefit.emulator.moto_ext.rules.RULES`."""


class Component(Protocol):
    """What these checks read of an emulated inference component."""

    name: str
    endpoint_name: str
    status: str
    specification: dict[str, Any] | None


def base_of(component: Component) -> str | None:
    """The base component an adapter component names; None for a component with a model."""
    return (component.specification or {}).get("BaseInferenceComponentName")


def check_adapter(
    name: str, endpoint_name: str, specification: dict[str, Any] | None, components: Mapping[str, Component]
) -> None:
    """CreateInferenceComponent of an adapter component (a Specification with a base); no-op otherwise."""
    base_name = (specification or {}).get("BaseInferenceComponentName")
    if base_name is None:
        return
    assert specification is not None
    base = components.get(base_name)
    if base is None:
        raise ValidationError(
            message=f"Adapter inference component {name}: base inference component {base_name} does not exist."
        )
    if base.endpoint_name != endpoint_name:
        raise ValidationError(
            message=f"Adapter inference component {name}: base inference component {base_name} is on endpoint "
            f"{base.endpoint_name}, not {endpoint_name}."
        )
    if base.status != "InService":
        raise ValidationError(
            message=f"Adapter inference component {name}: base inference component {base_name} is {base.status}, "
            "not InService."
        )
    if base_of(base) is not None:
        raise ValidationError(
            message=f"Adapter inference component {name}: {base_name} is itself an adapter inference component."
        )
    if specification.get("ComputeResourceRequirements"):
        raise ValidationError(
            message=f"Adapter inference component {name}: omit ComputeResourceRequirements; an adapter uses "
            "the compute resources of its base inference component."
        )
    artifact = (specification.get("Container") or {}).get("ArtifactUrl")
    if not artifact or not str(artifact).endswith(".tar.gz"):
        raise ValidationError(
            message=f"Adapter inference component {name}: Container.ArtifactUrl must point to the adapter's "
            f"single gzip compressed tar archive (.tar.gz), got {artifact!r}."
        )


def check_base_delete(name: str, components: Mapping[str, Component]) -> None:
    """DeleteInferenceComponent: refused while adapter components name ``name`` as their base."""
    adapters = sorted(c.name for c in components.values() if base_of(c) == name)
    if adapters:
        raise ValidationError(
            message=f"Inference component {name} is the base of adapter inference components "
            f"{', '.join(adapters)}; delete them first."
        )
