"""An IAM role whose permissions live in one customer-managed policy the stack creates, never inline.

HIPAA Security and NIST 800-53 rev5 (cdk-nag ``IAMNoInlinePolicy``) reject inline policies: the
CDK's grants (``key.grant_decrypt(role)``, a Lambda's dead-letter grant) would otherwise land in the
role's ``DefaultPolicy``, an ``AWS::IAM::Policy``. Overriding ``add_to_principal_policy`` (which
``Role.add_to_policy`` and every ``Grant`` call) sends each statement to the managed policy instead.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from constructs import Construct

POLICY_ID = "Policy"


class ManagedPolicyRole(iam.Role):
    """``iam.Role`` with one attached ``iam.ManagedPolicy`` (child ``Policy``) holding every statement."""

    def __init__(
        self, scope: Construct, construct_id: str, statements: list[iam.PolicyStatement] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.policy = iam.ManagedPolicy(self, POLICY_ID, roles=[self], statements=statements or None)

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        self.policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self.policy)
