"""cdk-nag AwsSolutions checks, with every accepted finding acknowledged where it arises and why.

Acknowledging needs only aws-cdk-lib (``Validations``); cdk_nag itself, whose jsii assembly takes a
tenth of a second or more to load, is imported when the checks are applied, so ``-c sagefit:nag=false``
skips it.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from constructs import IConstruct


def apply_nag(app: cdk.App) -> None:
    """Fail the synth on any AwsSolutions finding that is not acknowledged."""
    from cdk_nag import AwsSolutionsChecks

    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def _acknowledgment(rule: str, finding: str | None, reason: str) -> cdk.Acknowledgment:
    return cdk.Acknowledgment(id=f"AwsSolutions::{rule}" + (f"[{finding}]" if finding else ""), reason=reason)


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
