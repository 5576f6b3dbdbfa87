"""cdk-nag AwsSolutions checks, with every accepted finding acknowledged where it arises and why."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def apply_nag(app: cdk.App) -> None:
    """Fail the synth on any AwsSolutions finding that is not acknowledged."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule: str, finding: str | None, reason: str) -> None:
    """Accept one cdk-nag finding (``rule`` plus the ``finding`` detail it names) on ``scope``."""
    rule_id = f"AwsSolutions::{rule}" + (f"[{finding}]" if finding else "")
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
