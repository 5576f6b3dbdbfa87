"""Profile field overrides from CDK context, e.g. ``-c sagefit:MistralStack:max_capacity=2``.

Overrides go through the same validation as the profile file, so a bad value fails with the same
one-line error as ``sagefit validate``.
"""

from __future__ import annotations

from typing import Any

import yaml

from sagefit.core.catalog import Catalog
from sagefit.core.errors import SagefitError
from sagefit.core.profiles import LoadedProfile, parse_profile

OVERRIDABLE = {
    "region": ("region",),
    "instance_type": ("serving", "instance_type"),
    "target_concurrency": ("serving", "target_concurrency"),
    "mode": ("scaling", "mode"),
    "min_capacity": ("scaling", "min_capacity"),
    "max_capacity": ("scaling", "max_capacity"),
    "budget": ("budget", "monthly_usd"),
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
    return LoadedProfile(path=loaded.path, profile=profile)
