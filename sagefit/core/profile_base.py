"""The base every profile model shares: strict, frozen, finite.

Kept apart from :mod:`sagefit.core.profiles` so the profile's sections can live in modules of their
own (:mod:`sagefit.core.profile_budget`) without importing the profile itself.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys refused; every float finite (``.inf``/``.nan`` refused); numbers bounded by
    their types from :mod:`sagefit.core.numbers`, each with the reason for its bound."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
