"""Shared endpoint files: ``model_profiles/endpoints/NAME.yaml``, one endpoint several profiles join.

A profile joins a shared endpoint with ``endpoint: NAME``; the endpoint file says where the members
run (stack, region), on which instance types the planner may pack them, how far the fleet may grow
and what it may cost. A profile without ``endpoint:`` keeps its own stack. Validation is as strict as
a profile's: unknown keys, duplicate keys and out-of-range numbers are one line naming the file, the
field and the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from sagefit.core import aws_rules
from sagefit.core import numbers as num
from sagefit.core.catalog import Catalog, load_catalog
from sagefit.core.errors import SagefitError
from sagefit.core.profile_base import Strict
from sagefit.core.profile_budget import Budget
from sagefit.core.profile_errors import FieldProblem, describe_error, refuse_duplicates, validate_model
from sagefit.core.profile_pool import yaml_words
from sagefit.core.yaml_input import load_yaml

ENDPOINTS_DIR = "endpoints"
"""The subdirectory of the profiles directory that holds the endpoint files."""

MAX_CANDIDATES = 10
"""More candidate types than this only slow the packing down; ten covers every GPU family twice."""

_NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"
_STACK = r"^[A-Za-z][A-Za-z0-9-]{0,127}$"


class SharedEndpoint(Strict):
    """One endpoint that several profiles share as inference components."""

    name: str = Field(pattern=_NAME, description="The SageMaker endpoint's name; profiles join with endpoint: NAME.")
    stack_name: str = Field(pattern=_STACK)
    region: str = "us-east-1"
    instance_types: Literal["auto"] | tuple[str, ...] = Field(
        default="auto",
        description="Candidate instance types (the cheapest packing wins), or auto: every catalog type.",
    )
    min_instances: num.InstanceCount = Field(
        default=0, description="ManagedInstanceScaling.MinInstanceCount: instances kept while no copy runs."
    )
    max_instances: Annotated[num.InstanceCount, Field(gt=0)] = Field(
        default=2, description="ManagedInstanceScaling.MaxInstanceCount: the fleet's ceiling."
    )
    scale_in_cooldown_minutes: num.CooldownMinutes | None = Field(
        default=None,
        description="ScaleInPolicy.CooldownInMinutes: minutes after the last endpoint operation before "
        "consolidation scale-in is evaluated; `sagefit cost` bills an instance without a copy this long.",
    )
    instance_pool: Annotated[Literal["auto", "off"], BeforeValidator(yaml_words)] = Field(
        default="auto",
        description="Capacity fallback: auto puts the other candidate types that pack the same fleet in the "
        "variant's InstancePools (sagefit.core.shared_pool); off deploys the planned type only.",
    )
    budget: Budget = Budget()

    @model_validator(mode="after")
    def _checks(self) -> SharedEndpoint:
        if isinstance(self.instance_types, tuple):
            if not self.instance_types:
                raise FieldProblem("instance_types", "lists no instance type", "list at least one, or write auto")
            if len(set(self.instance_types)) != len(self.instance_types):
                raise FieldProblem("instance_types", "lists an instance type twice", "list each type once")
            if len(self.instance_types) > MAX_CANDIDATES:
                raise FieldProblem(
                    "instance_types",
                    f"lists {len(self.instance_types)} types, more than {MAX_CANDIDATES}",
                    "keep the few you would accept, or write auto",
                )
        if self.max_instances < self.min_instances:
            raise FieldProblem(
                "max_instances",
                f"max_instances ({self.max_instances}) is below min_instances ({self.min_instances})",
                "raise max_instances or lower min_instances",
            )
        if self.budget.hard_cap and self.min_instances > 0:
            # The cap holds every member at zero copies; managed instance scaling then releases the
            # instances, but never below MinInstanceCount (SageMaker Developer Guide, "Scale an
            # endpoint to zero instances", which requires MinInstanceCount 0:
            # https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html).
            raise FieldProblem(
                "budget.hard_cap",
                f"the hard cost cap cannot stop the spending while min_instances ({self.min_instances}) "
                "instances stay up with no copy on them",
                "set min_instances: 0, or remove budget.hard_cap",
            )
        for rule, value, field, fix in (
            (aws_rules.STACK_NAME, self.stack_name, "stack_name", "start with a letter; letters, digits, hyphens"),
            (aws_rules.ENDPOINT_NAME, self.name, "name", "use lowercase letters, digits and hyphens"),
            (aws_rules.BUDGET_NAME, budget_name(self), "stack_name", "shorten stack_name"),
        ):
            problem = rule.problem(value)
            if problem is not None:
                raise FieldProblem(field, f"{problem} ({rule.source})", fix)
        return self


def budget_name(endpoint: SharedEndpoint) -> str:
    """The same scheme as a profile's budget (:func:`sagefit.core.naming.budget_name`)."""
    return f"sagefit-{endpoint.stack_name}"


class LoadedEndpoint(BaseModel):
    """A validated endpoint file and where it came from, so later errors can name the file."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    endpoint: SharedEndpoint


def _describe(error: Mapping[str, Any]) -> tuple[str, str, str]:
    """:func:`describe_error`, with the did-you-mean hint drawn from the endpoint file's fields."""
    field, problem, fix = describe_error(error)
    if error["type"] == "extra_forbidden":
        loc = tuple(error["loc"])
        allowed = list(Budget.model_fields) if loc[:1] == ("budget",) else list(SharedEndpoint.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"allowed here: {', '.join(allowed)}"
        fix = f"remove it or fix its spelling ({hint})"
    if error["type"] == "missing":
        fix = fix.replace("to the profile", "to the endpoint file")
    return field, problem, fix


def parse_endpoint(text: str, path: Path | str, catalog: Catalog | None = None) -> SharedEndpoint:
    """Validate one endpoint file's YAML text; raise :class:`SagefitError` on the first problem."""
    raw = load_yaml(text, path)
    if not isinstance(raw, dict):
        raise SagefitError("the endpoint file must be a YAML mapping of fields", "see model_profiles/endpoints/", path)
    endpoint = validate_model(SharedEndpoint, raw, path, _describe)
    catalog = catalog or load_catalog()
    if isinstance(endpoint.instance_types, tuple):
        known = catalog.names()
        for instance_type in endpoint.instance_types:
            if instance_type not in known:
                close = difflib.get_close_matches(instance_type, known, n=1)
                hint = f"did you mean {close[0]}?" if close else "see sagefit/data/instances.yaml"
                raise SagefitError(f"unknown instance type {instance_type!r}", hint, path, "instance_types") from None
    if endpoint.region not in catalog.regions:
        raise SagefitError(
            f"unknown region {endpoint.region!r}", f"use one of {', '.join(catalog.regions)}", path, "region"
        )
    return endpoint


def load_endpoint(path: Path, catalog: Catalog | None = None) -> LoadedEndpoint:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        raise SagefitError("cannot read the endpoint file", "save it as UTF-8 YAML", path) from None
    return LoadedEndpoint(path=path, endpoint=parse_endpoint(text, path, catalog))


def load_endpoints(profiles_dir: Path, catalog: Catalog | None = None) -> list[LoadedEndpoint]:
    """Every endpoint file in ``PROFILES/endpoints/`` (none when the directory is absent), by file name."""
    directory = profiles_dir / ENDPOINTS_DIR
    if not directory.is_dir():
        return []
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    loaded = [load_endpoint(path, catalog) for path in files]
    refuse_duplicates(((item.path, item.endpoint) for item in loaded), ("name", "stack_name"), "endpoint file")
    return loaded
