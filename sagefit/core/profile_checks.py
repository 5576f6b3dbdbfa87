"""The checks a profile passes after its own fields: against the catalog and the image registry.

A profile's fields are checked by its pydantic models (:mod:`sagefit.core.profiles`); these checks
need data from outside the file: the instance catalog in use (regions, instance types) and the
serving images sagemaker-core lists (versions, regions). They run in :func:`parse_profile`, so
`validate`, `plan`, every command and synth refuse the same profiles with the same line.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from sagefit.core import image_config
from sagefit.core.errors import SagefitError

if TYPE_CHECKING:
    from sagefit.core.catalog import Catalog
    from sagefit.core.profiles import Profile


def check_catalog(profile: Profile, path: Path | str, catalog: Catalog) -> None:
    """The region and a pinned instance type must be in ``catalog``."""
    if profile.region not in catalog.regions:
        close = difflib.get_close_matches(profile.region, catalog.regions, n=1)
        hint = f"did you mean {close[0]}?" if close else "use a region where SageMaker runs"
        raise SagefitError(f"unknown region {profile.region!r}", hint, path, "region")
    pinned = profile.serving.instance_type
    if pinned is not None and pinned not in catalog.names():
        close = difflib.get_close_matches(pinned, catalog.names(), n=2)
        hint = f"did you mean {' or '.join(close)}?" if close else "remove it to size automatically"
        raise SagefitError(
            f"unknown instance type {pinned!r} (not in the instance catalog)",
            hint,
            path,
            "serving.instance_type",
        )


def check_image(profile: Profile, path: Path | str) -> None:
    """The engine's image must exist at ``serving.container_version`` (or the engine's default) in
    the profile's region, as sagemaker-core's image config lists it (the file synth resolves from)."""
    from sagefit.core.engines import get_engine

    image = get_engine(profile.serving.engine_name).image
    version = profile.serving.container_version or image.default_version
    problem = image_config.version_problem(image.family, version, profile.region)
    if problem is not None:
        field, reason, fix = problem
        raise SagefitError(reason, fix, path, field)
