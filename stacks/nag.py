"""cdk-nag checks at synth, with every accepted finding acknowledged where it arises and why.

AwsSolutions runs by default; ``-c sagefit:nagPacks=AwsSolutions,HIPAA,NIST80053R5`` runs the HIPAA
Security and NIST 800-53 rev5 packs too (cdk-nag 3: ``HIPAASecurityChecks``, ``NIST80053R5Checks``).
They run only when asked: each pack adds to every synth's time.

Acknowledging needs only aws-cdk-lib (``Validations``); cdk_nag itself, whose jsii assembly takes a
tenth of a second or more to load, is imported when the checks are applied, so ``-c sagefit:nag=false``
skips it. An acknowledgment of a HIPAA or NIST finding is recorded only when that pack runs, so that
no acknowledgment is ever stale (tests/stacks/test_stack_quality.py checks each one matched a finding).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aws_cdk as cdk
from constructs import IConstruct

from sagefit.core.errors import SagefitError

PACKS_KEY = "sagefit:nagPacks"
DEFAULT_PACKS = ("AwsSolutions",)
PACK_IDS = {"AwsSolutions": "AwsSolutions", "HIPAA": "HIPAA.Security", "NIST80053R5": "NIST.800.53.R5"}
"""``-c sagefit:nagPacks`` name -> the pack's rule prefix (cdk-nag 3 ``NagPack.readPackName``)."""
COMPLIANCE_PACKS = ("HIPAA", "NIST80053R5")
"""The packs whose shared checks (``IAMNoInlinePolicy``, ``LambdaInsideVPC``...) have the same names."""


def nag_packs(value: Any) -> tuple[str, ...]:
    """The packs a ``-c sagefit:nagPacks`` value names (comma-separated; None is AwsSolutions only)."""
    if value is None:
        return DEFAULT_PACKS
    names = tuple(part.strip() for part in str(value).split(",") if part.strip())
    unknown = [name for name in names if name not in PACK_IDS]
    if unknown or not names:
        raise SagefitError(
            f"unknown cdk-nag pack {', '.join(map(repr, unknown)) or repr(value)}",
            f"use a comma-separated list of {', '.join(PACK_IDS)}",
            f"-c {PACKS_KEY}",
        )
    return names


_PACKS_IN_EFFECT: ContextVar[tuple[str, ...] | None] = ContextVar("sagefit_nag_packs", default=None)


@contextmanager
def packs_in_effect(packs: tuple[str, ...]) -> Iterator[None]:
    """While the stacks of one app are built, tell ``acknowledge_compliance`` the packs ``build_app``
    already read from the context: asking each scope again is two jsii round trips per call."""
    token = _PACKS_IN_EFFECT.set(packs)
    try:
        yield
    finally:
        _PACKS_IN_EFFECT.reset(token)


def _packs_of(scope: IConstruct) -> tuple[str, ...]:
    packs = _PACKS_IN_EFFECT.get()
    return packs if packs is not None else nag_packs(scope.node.try_get_context(PACKS_KEY))


def apply_nag(app: cdk.App, packs: Sequence[str] = DEFAULT_PACKS) -> None:
    """Fail the synth on any finding of ``packs`` that is not acknowledged."""
    import cdk_nag

    checks: dict[str, Callable[[IConstruct], cdk_nag.NagPack]] = {
        "AwsSolutions": cdk_nag.AwsSolutionsChecks,
        "HIPAA": cdk_nag.HIPAASecurityChecks,
        "NIST80053R5": cdk_nag.NIST80053R5Checks,
    }
    cdk.Validations.of(app).add_plugins(*(checks[pack](app) for pack in packs))


def _acknowledgment(rule: str, finding: str | None, reason: str) -> cdk.Acknowledgment:
    pack = rule.rsplit("-", 1)[0]
    return cdk.Acknowledgment(id=f"{pack}::{rule}" + (f"[{finding}]" if finding else ""), reason=reason)


def acknowledge(scope: IConstruct, rule: str, finding: str | None, reason: str) -> None:
    """Accept one cdk-nag finding (``rule`` plus the ``finding`` detail it names) on ``scope``."""
    cdk.Validations.of(scope).acknowledge(_acknowledgment(rule, finding, reason))


def acknowledge_all(scope: IConstruct, rule: str, reasons: Mapping[str, str]) -> None:
    """Accept every finding of ``rule`` in ``reasons`` (finding detail -> why) on ``scope``.

    One ``Validations.acknowledge`` call takes them all, in order: each call is a round trip to
    the jsii process, and a role collects up to a dozen findings.
    """
    if reasons:
        cdk.Validations.of(scope).acknowledge(
            *(_acknowledgment(rule, finding, reason) for finding, reason in reasons.items())
        )


def acknowledge_compliance(scope: IConstruct, reasons: Mapping[str, str]) -> None:
    """Accept HIPAA Security and NIST 800-53 rev5 findings (check name -> why) on ``scope``, for the
    packs this synth runs (none by default, so nothing is acknowledged that was never checked)."""
    packs = [PACK_IDS[pack] for pack in _packs_of(scope) if pack in COMPLIANCE_PACKS]
    if packs and reasons:
        cdk.Validations.of(scope).acknowledge(
            *(_acknowledgment(f"{pack}-{check}", None, reason) for pack in packs for check, reason in reasons.items())
        )
