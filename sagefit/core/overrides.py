"""CDK context for the app, e.g. ``-c sagefit:MistralStack:max_capacity=2`` or ``-c sagefit:nag=false``.

Overrides go through the same validation as the profile file, so a bad value fails with the same
one-line error as ``sagefit validate``. Nothing given with ``-c sagefit:...`` is ignored: a key must
name a known setting or a stack (by its ``stack_name``, in its own case), and a yes/no setting must
say yes or no (``-c sagefit:nag=ture`` is an error, not "off").
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import yaml

from sagefit.core.catalog import Catalog
from sagefit.core.errors import SagefitError
from sagefit.core.profiles import LoadedProfile, parse_profile

PREFIX = "sagefit:"
SETTINGS = ("profiles", "alertEmail", "nag", "nagPacks", "localTarget")
"""The app-wide keys (``sagefit:<key>``); stacks/application.py documents what each does."""
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")

OVERRIDABLE = {
    "region": ("region",),
    "instance_type": ("serving", "instance_type"),
    "instance_pool": ("serving", "instance_pool"),
    "target_concurrency": ("serving", "target_concurrency"),
    "mode": ("scaling", "mode"),
    "min_capacity": ("scaling", "min_capacity"),
    "max_capacity": ("scaling", "max_capacity"),
    "budget": ("budget", "monthly_usd"),
    "acknowledge_fast_burn": ("budget", "acknowledge_fast_burn"),
}


def apply_overrides(loaded: LoadedProfile, overrides: dict[str, Any], catalog: Catalog | None = None) -> LoadedProfile:
    """Return ``loaded`` with ``overrides`` (short field name -> value) applied and re-validated
    against ``catalog`` (default: :func:`~sagefit.core.catalog.load_catalog`'s)."""
    if not overrides:
        return loaded
    # Only the fields the profile sets: defaults derived from others (min_capacity from the mode) are
    # derived again, so that e.g. mode=always-on gets always-on's default minimum.
    data = loaded.profile.model_dump(mode="json", exclude_unset=True)
    for key, value in overrides.items():
        path = OVERRIDABLE.get(key)
        option = f"-c sagefit:{loaded.profile.stack_name}:{key}"
        if path is None:
            raise SagefitError(f"cannot override {key!r}", f"use one of: {', '.join(sorted(OVERRIDABLE))}", option)
        target = data
        for part in path[:-1]:
            target = target.setdefault(part, {})
        if isinstance(value, str):
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                raise SagefitError(
                    f"cannot read {value!r}", "give a plain value, e.g. 2 or ml.g5.xlarge", option
                ) from None
        target[path[-1]] = value
    source = f"{loaded.path} (with -c overrides)"
    profile = parse_profile(yaml.safe_dump(data), source, catalog)
    return loaded.model_copy(update={"profile": profile})  # keeps the base's adapters


def parse_flag(value: Any, key: str, default: bool) -> bool:
    """A yes/no context value: true/false, 1/0 or yes/no (any case); None is ``default``.

    Anything else is an error: a misspelt "true" read as false would silently switch a check off."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise SagefitError(f"{value!r} is not a yes/no value", "use true or false (or 1/0, yes/no)", f"-c {PREFIX}{key}")


def _unknown_stack(stack: str, field: str, profiles: list[LoadedProfile]) -> SagefitError:
    """The error for an override keyed by something other than a stack name, with the likely fix."""
    option = f"-c {PREFIX}{stack}:{field}"
    stacks = [item.profile.stack_name for item in profiles]
    by_profile = {item.profile.name: item.profile.stack_name for item in profiles}
    by_case = {name.lower(): name for name in stacks}
    if stack in by_profile:
        return SagefitError(
            f"{stack!r} is a profile name; overrides are keyed by stack name",
            f"write {PREFIX}{by_profile[stack]}:{field}",
            option,
        )
    if stack.lower() in by_case:
        return SagefitError(
            f"no stack named {stack!r} (stack names are case-sensitive)",
            f"write {PREFIX}{by_case[stack.lower()]}:{field}",
            option,
        )
    close = difflib.get_close_matches(stack, stacks, n=1)
    hint = f"did you mean {PREFIX}{close[0]}:{field}? " if close else ""
    return SagefitError(f"no stack named {stack!r}", f"{hint}known stacks: {', '.join(sorted(stacks))}", option)


def context_overrides(context: Mapping[str, Any], profiles: list[LoadedProfile]) -> dict[str, dict[str, Any]]:
    """Stack name -> {field: value} from the ``sagefit:<Stack>:<field>`` keys of ``context``.

    Every other ``sagefit:`` key must be one of :data:`SETTINGS`; an unknown setting, an unknown
    stack, a profile name used as a stack name, or a stack name in the wrong case is an error naming
    the key (and the known stacks), never skipped."""
    stacks = {item.profile.stack_name for item in profiles}
    found: dict[str, dict[str, Any]] = {}
    for key, value in context.items():
        if not key.startswith(PREFIX):
            continue
        rest = key[len(PREFIX) :]
        stack, sep, field = rest.partition(":")
        if not sep:
            if rest not in SETTINGS:
                close = difflib.get_close_matches(rest, SETTINGS, n=1) or [
                    s for s in SETTINGS if s.lower() == rest.lower()
                ]
                hint = f"did you mean {PREFIX}{close[0]}? " if close else ""
                raise SagefitError(
                    f"unknown setting {rest!r}",
                    f"{hint}settings: {', '.join(SETTINGS)}; overrides are {PREFIX}<Stack>:<field>",
                    f"-c {key}",
                )
            continue
        if stack not in stacks:
            raise _unknown_stack(stack, field, profiles)
        found.setdefault(stack, {})[field] = value
    return found
