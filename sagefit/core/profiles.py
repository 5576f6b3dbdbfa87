"""Model profiles: the short YAML a user writes for each model.

A profile says what the model is (architecture numbers from its ``config.json``), how it should be
served (container, token limits, concurrency, an optional latency floor or pinned instance), how it
scales and what it may cost. Everything the planner and the stacks need comes from here, validated
up front so that a mistake surfaces as one line naming the file, the field and the fix.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from sagefit.core import aws_rules
from sagefit.core import numbers as num
from sagefit.core.catalog import Catalog, load_catalog
from sagefit.core.errors import SagefitError
from sagefit.core.model_data import MODEL_DATA_FIX, model_data_problem
from sagefit.core.profile_adapter import LoadedAdapter, attach_adapters, read_adapter
from sagefit.core.profile_base import Strict as _Strict
from sagefit.core.profile_budget import Budget
from sagefit.core.profile_checks import check_catalog, check_image
from sagefit.core.profile_errors import FieldProblem, refuse_duplicates, validate_model
from sagefit.core.profile_network import Network, check_network
from sagefit.core.profile_pool import InstancePoolSetting
from sagefit.core.profile_scaling import Scaling, known_zone
from sagefit.core.yaml_input import load_yaml

Dtype = Literal["float16", "bfloat16"]
Quantization = Literal["none", "bitsandbytes", "eetq", "awq", "gptq", "bitsandbytes-nf4", "bitsandbytes-fp4"]
Container = Literal["tgi", "djl-lmi"]
EngineName = Literal["vllm", "tgi"]

_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class Architecture(_Strict):
    """The numbers from the model's ``config.json`` that memory and speed depend on."""

    parameters: num.ParameterCount = Field(description="Total parameter count (all experts for MoE).")
    active_parameters: num.ParameterCount | None = Field(
        default=None, description="Parameters read per token (MoE); defaults to all of them."
    )
    layers: num.Dimension
    hidden_size: num.Dimension
    attention_heads: num.Dimension
    kv_heads: num.Dimension
    head_dim: num.Dimension
    vocab_size: num.Vocabulary
    tied_embeddings: bool = False
    context_length: num.TokenCount = Field(description="max_position_embeddings")

    @model_validator(mode="after")
    def _heads_consistent(self) -> Architecture:
        if self.kv_heads > self.attention_heads or self.attention_heads % self.kv_heads:
            raise ValueError(f"kv_heads ({self.kv_heads}) must divide attention_heads ({self.attention_heads})")
        if self.active_parameters is not None and self.active_parameters > self.parameters:
            raise ValueError("active_parameters cannot exceed parameters")
        return self


class ModelSpec(_Strict):
    """Which weights to serve and in what precision."""

    hf_model_id: str = Field(pattern=_HF_ID.pattern)
    revision: str | None = None
    gated: bool = Field(default=False, description="Needs a Hugging Face token (read from Secrets Manager).")
    hf_token_secret: str | None = Field(
        default=None, description="Secrets Manager secret name holding the Hugging Face token."
    )
    model_data_s3_uri: str | None = Field(default=None, pattern=r"^s3://[a-z0-9.-]{3,63}(/.*)?$")
    license: str | None = None
    dtype: Dtype = "bfloat16"
    quantization: Quantization = "none"
    architecture: Architecture

    @model_validator(mode="after")
    def _gated_needs_secret(self) -> ModelSpec:
        if self.gated and not self.hf_token_secret:
            raise ValueError("a gated model needs hf_token_secret (a Secrets Manager secret name)")
        return self

    @model_validator(mode="after")
    def _model_data_form(self) -> ModelSpec:
        # An S3 prefix (ModelDataSource, uncompressed) or a .tar.gz (ModelDataUrl): see model_data.py.
        problem = model_data_problem(self.model_data_s3_uri) if self.model_data_s3_uri else None
        if problem is not None:
            raise FieldProblem("model.model_data_s3_uri", problem, MODEL_DATA_FIX)
        return self


class Serving(_Strict):
    """How the serving container runs: limits per request, load, and hardware pins."""

    engine: EngineName | None = Field(
        default=None, description="Serving engine: vllm (default, through the LMI container) or tgi (legacy)."
    )
    container: Container | None = Field(
        default=None, description="Deprecated: the container name of earlier profiles (tgi, djl-lmi)."
    )
    container_version: str | None = None
    max_input_tokens: num.TokenCount
    max_total_tokens: num.TokenCount
    target_concurrency: num.Concurrency = 4
    min_decode_tokens_per_s: num.DecodeSpeed | None = None
    instance_type: str | None = None
    instance_pool: InstancePoolSetting = None
    tensor_parallel_degree: Literal[1, 2, 4, 8] | None = None

    @model_validator(mode="after")
    def _one_engine(self) -> Serving:
        from sagefit.core.engines import LEGACY_CONTAINERS

        if self.engine and self.container and LEGACY_CONTAINERS[self.container] != self.engine:
            raise FieldProblem(
                "serving.container",
                f"serving.container {self.container} runs engine {LEGACY_CONTAINERS[self.container]}, "
                f"not serving.engine {self.engine}",
                "remove serving.container (deprecated) and keep serving.engine",
            )
        return self

    @property
    def engine_name(self) -> str:
        """The engine this profile runs: serving.engine, the engine its legacy container ran, or vllm."""
        from sagefit.core.engines import DEFAULT_ENGINE, LEGACY_CONTAINERS

        if self.engine is not None:
            return self.engine
        if self.container is not None:
            return LEGACY_CONTAINERS[self.container]
        return DEFAULT_ENGINE

    def deprecations(self) -> list[str]:
        """What `plan` and `validate` warn about: the legacy container key and the retiring engine."""
        notes = []
        if self.container is not None:
            notes.append(f"serving.container: {self.container} is deprecated; write serving.engine: {self.engine_name}")
        if self.engine_name == "tgi":
            notes.append(
                "engine tgi is in maintenance mode upstream (text-generation-inference README, December "
                "2025); serving.engine: vllm is the default and what new deployments should use"
            )
        return notes

    @model_validator(mode="after")
    def _token_order(self) -> Serving:
        if self.max_input_tokens >= self.max_total_tokens:
            raise ValueError(
                f"max_input_tokens ({self.max_input_tokens}) must be below max_total_tokens ({self.max_total_tokens})"
            )
        return self


class Profile(_Strict):
    """One model deployment: a profile file in ``model_profiles/``."""

    name: str = Field(pattern=_PROFILE_NAME.pattern)
    stack_name: str = Field(pattern=_STACK_NAME.pattern)
    region: str = "us-east-1"
    time_zone: str = Field(default="UTC", description="IANA zone for traffic patterns such as business hours.")
    model: ModelSpec
    serving: Serving
    scaling: Scaling = Scaling()
    budget: Budget = Budget()
    network: Network = Network()
    endpoint: str | None = Field(
        default=None,
        pattern=_PROFILE_NAME.pattern,
        description="Join the shared endpoint model_profiles/endpoints/NAME.yaml instead of a stack of its own.",
    )

    @model_validator(mode="after")
    def _joins_as_component(self) -> Profile:
        """A shared endpoint hosts its members as inference components, one per member, so only a mode
        that serves through an inference component can join (ScalingMode.uses_inference_component)."""
        if self.endpoint is not None and not self.scaling.mode.uses_inference_component:
            raise FieldProblem(
                "endpoint",
                f"a {self.scaling.mode} profile cannot join shared endpoint {self.endpoint}: its members "
                "are inference components, which only scale-to-zero serves through",
                "set scaling.mode: scale-to-zero, or remove endpoint: to keep an endpoint of its own",
            )
        return self

    @model_validator(mode="after")
    def _known_time_zone(self) -> Profile:
        if not known_zone(self.time_zone):
            raise ValueError(f"unknown time_zone {self.time_zone!r} (IANA names such as Europe/Berlin)")
        return self

    @model_validator(mode="after")
    def _aws_accepts_the_names(self) -> Profile:
        """The names the stack gives AWS resources must pass AWS's own rules (see aws_rules)."""
        from sagefit.core import naming

        component = naming.inference_component_name(self)
        for rule, value, field, fix in (
            (
                aws_rules.STACK_NAME,
                self.stack_name,
                "stack_name",
                "start with a letter; use letters, digits and hyphens only",
            ),
            (
                aws_rules.ENDPOINT_NAME,
                self.name,
                "name",
                "use lowercase letters, digits and hyphens, ending in a letter or digit",
            ),
            (
                aws_rules.ENDPOINT_NAME,
                naming.endpoint_name(self),
                "name",
                f"shorten the profile name to {62 - len(naming.LONGEST_INSTANCE_SLUG)} characters or fewer "
                "(an always-on or async endpoint is NAME-<instance type>)",
            ),
            (
                aws_rules.INFERENCE_COMPONENT_NAME,
                component,
                "name",
                "shorten the profile name to 60 characters or fewer (its inference component is NAME-ic)",
            ),
            (aws_rules.BUDGET_NAME, naming.budget_name(self), "stack_name", "shorten stack_name"),
        ):
            problem = rule.problem(value) if value is not None else None
            if problem is not None:
                raise FieldProblem(field, f"{problem} ({rule.source})", fix)
        return self

    @model_validator(mode="after")
    def _fits_context(self) -> Profile:
        ctx = self.model.architecture.context_length
        if self.serving.max_total_tokens > ctx:
            raise ValueError(
                f"serving.max_total_tokens ({self.serving.max_total_tokens}) exceeds the model's context_length ({ctx})"
            )
        tp = self.serving.tensor_parallel_degree
        heads = self.model.architecture.attention_heads
        if tp is not None and heads % tp:
            raise ValueError(f"serving.tensor_parallel_degree {tp} does not divide the {heads} attention heads")
        return self


class LoadedProfile(BaseModel):
    """A validated profile and the file it came from, so later errors can name the file."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    profile: Profile
    adapters: tuple[LoadedAdapter, ...] = ()
    """The adapter profiles whose base this is (:mod:`sagefit.core.profile_adapter`)."""


def parse_profile(text: str, path: Path | str, catalog: Catalog | None = None) -> Profile:
    """Validate one profile's YAML text; raise :class:`SagefitError` on the first problem.

    ``path`` only names the source in errors: a file, or where the text came from (overrides)."""
    raw = load_yaml(text, path)  # duplicate keys refused, naming the line
    if not isinstance(raw, dict):
        raise SagefitError("the profile must be a YAML mapping of fields", "start from model_profiles/*.yaml", path)
    profile = validate_model(Profile, raw, path)
    check_catalog(profile, path, catalog or load_catalog())
    check_image(profile, path)
    check_network(profile, path)
    return profile


def load_profile(path: Path, catalog: Catalog | None = None) -> LoadedProfile:
    """Read and validate one profile file."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SagefitError(f"cannot read the profile ({exc.strerror})", "check the path", path) from None
    except UnicodeDecodeError:
        raise SagefitError("cannot read the profile (not UTF-8 text)", "save it as UTF-8 YAML", path) from None
    return LoadedProfile(path=path, profile=parse_profile(text, path, catalog))


def load_profiles(directory: Path, catalog: Catalog | None = None) -> list[LoadedProfile]:
    """Read every ``*.yaml``/``*.yml`` profile in ``directory``, sorted by file name.

    Stack and profile names must be unique across the directory, since each becomes one CDK stack.
    Adapter profiles (a ``base:`` key) are attached to their base (``LoadedProfile.adapters``).
    """
    if not directory.is_dir():
        raise SagefitError(
            "profiles directory not found", "pass --profiles DIR or run from the project root", directory
        )
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise SagefitError("no *.yaml profiles found", "add a profile or pass --profiles DIR", directory)
    adapters = [adapter for adapter in map(read_adapter, files) if adapter is not None]
    adapter_files = {adapter.path for adapter in adapters}
    loaded = [load_profile(path, catalog) for path in files if path not in adapter_files]
    refuse_duplicates(((item.path, item.profile) for item in loaded), ("stack_name", "name"), "profile")
    return attach_adapters(loaded, adapters)


def find_profile(profiles: list[LoadedProfile], key: str) -> LoadedProfile:
    """Find a profile by its name or its stack name."""
    for item in profiles:
        if key in (item.profile.name, item.profile.stack_name):
            return item
    for item in (p for p in profiles if key in (a.adapter.name for a in p.adapters)):
        fix = f"use its base {item.profile.stack_name}; `sagefit invoke {key}` addresses the adapter itself"
        raise SagefitError(f"{key} is an adapter profile on {item.profile.name}, with no stack of its own", fix)
    names = [p.profile.stack_name for p in profiles] + [p.profile.name for p in profiles]
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(sorted(names))}"
    raise SagefitError(f"no profile or stack named {key!r}", hint)
