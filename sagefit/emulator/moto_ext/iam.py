"""IAM in moto: updating and deleting an AWS::IAM::ManagedPolicy with its stack.

sagefit's roles hold their permissions in customer-managed policies the stack creates (no inline
policies: cdk-nag HIPAA/NIST ``IAMNoInlinePolicy``, stacks/managed_role.py). moto 5.2.5 creates
``AWS::IAM::ManagedPolicy`` in CloudFormation but has no delete for it, so the policy stayed attached
and deleting the stack failed on the role ("Cannot delete entity, must detach all policies first").
CloudFormation deletes a managed policy by detaching it from its roles, users and groups and then
deleting it (AWS::IAM::ManagedPolicy, CloudFormation User Guide; IAM API reference DeletePolicy:
"you must first detach the policy from all users, groups, and roles"). moto had no update either:
a changed policy dropped out of the stack's resources, so it was never deleted; an update now
rewrites the document and the role attachments in place. :func:`install` adds both;
call it only through :func:`sagefit.emulator.moto_ext.install_moto_extensions`.
"""

from __future__ import annotations

import json
from typing import Any

EXTENSIONS: list[str] = [
    "CloudFormation deletes AWS::IAM::ManagedPolicy, detaching it first (moto left it attached, "
    "so the stack's role could not be deleted), and updates it in place (moto lost track of it)",
]


def install() -> None:
    """Give moto's ``ManagedPolicy`` the CloudFormation delete it lacks."""
    from moto.iam.models import ManagedPolicy, iam_backends
    from moto.utilities.utils import get_partition

    def delete_from_cloudformation_json(
        cls: type[ManagedPolicy],
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        backend = iam_backends[account_id][get_partition(region_name)]
        arn = resource_name  # the physical id of AWS::IAM::ManagedPolicy is its ARN
        if arn not in {policy.arn for policy in backend.managed_policies.values()}:
            return
        for role in list(backend.roles.values()):
            if arn in role.managed_policies:
                backend.detach_role_policy(arn, role.name)
        for user in list(backend.users.values()):
            if arn in user.managed_policies:
                backend.detach_user_policy(arn, user.name)
        for group in list(backend.groups.values()):
            if arn in group.managed_policies:
                backend.detach_group_policy(arn, group.name)
        backend.delete_policy(arn)

    def update_from_cloudformation_json(
        cls: type[ManagedPolicy],
        original_resource: ManagedPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ManagedPolicy:
        backend = iam_backends[account_id][get_partition(region_name)]
        props = cloudformation_json.get("Properties", {})
        policy = original_resource
        for version in policy.versions:
            if version.version_id == policy.default_version_id:
                version.document = json.dumps(props.get("PolicyDocument"))
        wanted = set(props.get("Roles", []))
        for role in list(backend.roles.values()):
            attached = policy.arn in role.managed_policies
            if role.name in wanted and not attached:
                backend.attach_role_policy(policy.arn, role.name)
            elif attached and role.name not in wanted:
                backend.detach_role_policy(policy.arn, role.name)
        return policy

    setattr(ManagedPolicy, "update_from_cloudformation_json", classmethod(update_from_cloudformation_json))
    setattr(ManagedPolicy, "delete_from_cloudformation_json", classmethod(delete_from_cloudformation_json))
