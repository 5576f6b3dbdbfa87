"""Adapter inference components in the emulator (sagefit.emulator.moto_ext.adapters): a base that
exists, is InService, on the same endpoint and no adapter; no compute of their own; a .tar.gz
artifact; and a base that cannot be deleted while it holds adapters."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagefit.emulator.moto_ext.inference_components import components_of
from tests.emulator.test_moto_ext import (  # noqa: F401  (fixtures)
    ACCOUNT,
    REGION,
    REQUIREMENTS,
    aws_env,
    clients,
    error_of,
    make_endpoint,
    make_ic,
    sm,
)

ARTIFACT = "s3://adapters/support/adapter.tar.gz"


def make_adapter(sm: Any, name: str = "support", base: str = "ic", endpoint: str = "ep", **spec: Any) -> Any:
    specification = {"BaseInferenceComponentName": base, "Container": {"ArtifactUrl": ARTIFACT}, **spec}
    return sm.create_inference_component(
        InferenceComponentName=name, EndpointName=endpoint, Specification=specification
    )


def refused(sm: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        make_adapter(sm, **kwargs)
    code, message = error_of(caught)
    assert code == "ValidationException"
    return message


def test_adapter_on_its_base(sm: Any) -> None:
    make_endpoint(sm)
    make_ic(sm)
    make_adapter(sm)
    described = sm.describe_inference_component(InferenceComponentName="support")
    assert described["Specification"]["BaseInferenceComponentName"] == "ic"
    assert described["Specification"]["Container"]["ArtifactUrl"] == ARTIFACT
    assert described["EndpointName"] == "ep" and "RuntimeConfig" not in described


def test_base_must_exist_on_the_same_endpoint(sm: Any) -> None:
    make_endpoint(sm)
    make_endpoint(sm, endpoint="other")
    make_ic(sm)
    assert "base inference component nope does not exist" in refused(sm, base="nope")
    assert "is on endpoint ep, not other" in refused(sm, endpoint="other")


def test_base_must_be_in_service(sm: Any) -> None:
    make_endpoint(sm)
    make_ic(sm)
    from moto.sagemaker.models import sagemaker_backends

    components_of(sagemaker_backends[ACCOUNT][REGION])["ic"].status = "Creating"
    assert "is Creating, not InService" in refused(sm)


def test_no_adapter_of_an_adapter(sm: Any) -> None:
    make_endpoint(sm)
    make_ic(sm)
    make_adapter(sm)
    assert "support is itself an adapter inference component" in refused(sm, name="nested", base="support")


def test_adapter_has_no_compute_of_its_own(sm: Any) -> None:
    make_endpoint(sm)
    make_ic(sm)
    message = refused(sm, ComputeResourceRequirements=REQUIREMENTS)
    assert "omit ComputeResourceRequirements" in message


@pytest.mark.parametrize("container", [{}, {"ArtifactUrl": "s3://adapters/support/"}])
def test_adapter_artifact_is_one_tar_gz(sm: Any, container: dict[str, str]) -> None:
    make_endpoint(sm)
    make_ic(sm)
    assert ".tar.gz" in refused(sm, Container=container)


def test_base_with_adapters_is_not_deleted(sm: Any) -> None:
    make_endpoint(sm)
    make_ic(sm)
    make_adapter(sm)
    with pytest.raises(ClientError) as caught:
        sm.delete_inference_component(InferenceComponentName="ic")
    assert "is the base of adapter inference components support; delete them first" in error_of(caught)[1]
    sm.delete_inference_component(InferenceComponentName="support")
    sm.delete_inference_component(InferenceComponentName="ic")
    assert sm.list_inference_components()["InferenceComponents"] == []
