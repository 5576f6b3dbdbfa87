"""Adapter profiles: a LoRA adapter served as an adapter inference component on another profile.

An adapter profile is a short file of its own in the profiles directory::

    name: mistral-7b-support        # the adapter's name; its inference component is NAME-ic
    base: mistral-7b                # the profile whose inference component it attaches to
    adapter_s3_uri: s3://my-adapters/mistral-support/adapter.tar.gz
    rank: 16                        # the adapter's LoRA rank (r in its adapter_config.json)

It has no stack, instance, serving, scaling or budget of its own: "The adapter inference component
uses the compute resources that you assigned to the base inference component" (API reference,
InferenceComponentSpecification.BaseInferenceComponentName), so those sections belong to the base and
are refused here with that fix. The artifact is one ``.tar.gz`` holding the adapter's
``adapter_config.json`` and ``adapter_model.safetensors``: ``ArtifactUrl`` "must point to a single
gzip compressed tar archive (.tar.gz suffix)" (API reference, InferenceComponentContainerSpecification).

This module checks one file and what needs the whole directory (the base exists and is no adapter);
the engine's limits (rank, adapter count, memory) and the base's mode are checked at plan time
(:mod:`sagefit.core.adapters`), where an override of the base can change them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sagefit.core import aws_rules
from sagefit.core.errors import SagefitError
from sagefit.core.profile_base import Strict
from sagefit.core.profile_errors import FieldProblem, validate_model
from sagefit.core.yaml_input import load_yaml

if TYPE_CHECKING:
    from sagefit.core.profiles import LoadedProfile

ADAPTER_KEY = "base"
"""A profile file with this top-level key is an adapter profile."""

_ADAPTER_LINE = re.compile(rf"^{ADAPTER_KEY}\s*:", re.MULTILINE)
_NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"

BASE_SECTIONS = ("model", "serving", "scaling", "budget", "network", "stack_name", "region", "time_zone")
"""What an adapter shares with its base and may not set itself."""

ARTIFACT_SOURCE = (
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_InferenceComponentContainerSpecification.html "
    "(ArtifactUrl)"
)


class AdapterProfile(Strict):
    """One LoRA adapter on a base profile's inference component."""

    name: str = Field(pattern=_NAME, description="The adapter's name; its inference component is NAME-ic.")
    base: str = Field(pattern=_NAME, description="The profile whose inference component serves the adapter.")
    adapter_s3_uri: str = Field(
        pattern=r"^s3://[a-z0-9.-]{3,63}/.+$",
        description="The adapter's .tar.gz (adapter_config.json + adapter_model.safetensors) in S3.",
    )
    rank: int = Field(ge=1, le=65536, description="The adapter's LoRA rank (r in its adapter_config.json).")
    target_modules: tuple[str, ...] = Field(
        default=(),
        description="Informative: vLLM reads the modules from adapter_config.json and wraps every supported layer.",
    )

    @model_validator(mode="after")
    def _checks(self) -> AdapterProfile:
        if not self.adapter_s3_uri.endswith(".tar.gz"):
            raise FieldProblem(
                "adapter_s3_uri",
                f"{self.adapter_s3_uri} is not a .tar.gz: an adapter component's ArtifactUrl must point to a "
                f"single gzip compressed tar archive ({ARTIFACT_SOURCE})",
                "tar -czf adapter.tar.gz adapter_config.json adapter_model.safetensors, upload it, and name it here",
            )
        problem = aws_rules.INFERENCE_COMPONENT_NAME.problem(adapter_component_name(self.name))
        if problem is not None:
            raise FieldProblem(
                "name",
                f"{problem} ({aws_rules.INFERENCE_COMPONENT_NAME.source})",
                "shorten the adapter name to 60 characters or fewer (its inference component is NAME-ic)",
            )
        if self.name == self.base:
            raise FieldProblem("base", f"adapter {self.name} names itself as its base", "set base to another profile")
        return self


def adapter_component_name(name: str) -> str:
    """The adapter's inference component name, as a profile's is NAME-ic (:mod:`sagefit.core.naming`)."""
    return f"{name}-ic"


class LoadedAdapter(BaseModel):
    """A validated adapter profile and the file it came from."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    adapter: AdapterProfile

    @property
    def component_name(self) -> str:
        return adapter_component_name(self.adapter.name)


def read_adapter(path: Path) -> LoadedAdapter | None:
    """The adapter profile in ``path``, or None when the file is an ordinary profile (no ``base:``)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return None  # load_profile reports it with its own message
    if not _ADAPTER_LINE.search(text):
        return None
    raw = load_yaml(text, path)
    if not isinstance(raw, dict) or ADAPTER_KEY not in raw:
        return None
    for section in BASE_SECTIONS:
        if section in raw:
            raise SagefitError(
                f"adapter {raw.get('name', path.stem)} shares its base's compute and has no {section} of its own",
                f"remove {section} (set it in the base profile {raw[ADAPTER_KEY]})",
                path,
                section,
            )
    return LoadedAdapter(path=path, adapter=validate_model(AdapterProfile, raw, path))


def attach_adapters(profiles: list[LoadedProfile], adapters: Sequence[LoadedAdapter]) -> list[LoadedProfile]:
    """Each profile with the adapters that name it as their base, checked against the directory.

    Refused, in one line each: a base that does not exist, a base that is itself an adapter, and an
    adapter whose name is taken by a profile or another adapter (component names must be unique)."""
    by_name = {item.profile.name: item for item in profiles}
    adapter_names = {item.adapter.name: item for item in adapters}
    seen: dict[str, Path] = {}
    for item in adapters:
        adapter = item.adapter
        clash = seen.get(adapter.name) or (by_name[adapter.name].path if adapter.name in by_name else None)
        if clash is not None:
            raise SagefitError(
                f"adapter name {adapter.name!r} is taken (also in {clash.name})",
                "give each profile and adapter its own name",
                item.path,
                "name",
            )
        seen[adapter.name] = item.path
    for item in adapters:
        adapter = item.adapter
        if adapter.base in adapter_names:
            grand = adapter_names[adapter.base].adapter.base
            raise SagefitError(
                f"adapter {adapter.name}: base {adapter.base} is itself an adapter (on {grand}); "
                "an adapter component attaches to a base inference component, not to another adapter",
                f"set base: {grand}",
                item.path,
                "base",
            )
        if adapter.base not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise SagefitError(
                f"adapter {adapter.name}: base profile {adapter.base} not found",
                f"set base to one of the profiles in this directory ({known})",
                item.path,
                "base",
            )
    return [
        item.model_copy(update={"adapters": tuple(a for a in adapters if a.adapter.base == item.profile.name)})
        for item in profiles
    ]


def find_adapter(profiles: list[LoadedProfile], key: str) -> tuple[LoadedProfile, LoadedAdapter] | None:
    """The base and the adapter named ``key`` (adapter name or its component name), if one is."""
    for item in profiles:
        for adapter in item.adapters:
            if key in (adapter.adapter.name, adapter.component_name):
                return item, adapter
    return None
