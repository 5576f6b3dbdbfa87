"""The AWS CDK CLI, run for `sagefit deploy` / `sagefit destroy`: target choice and the ``cdk`` runner.

sagefit does not reimplement deployment; it runs the project's pinned CDK CLI
(``npx --no-install cdk``, from package.json) so that what `make deploy` does is what `cdk deploy`
does. This module decides where a deploy goes (``auto``: AWS when boto3 finds credentials, else the
local emulator) and runs the CLI against AWS. The local target, which points the same CLI at the
emulator, is :mod:`sagefit.emulator.local_target`; this module never imports it or moto, so the
path that talks to real AWS carries no emulator code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Literal

from sagefit.core.errors import SagefitError

CDK = ["npx", "--no-install", "cdk"]
# The same settings the Makefile exports: no Node end-of-life banner, no warnings, no telemetry.
QUIET_NODE = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "NODE_NO_WARNINGS": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}


def has_aws_credentials() -> bool:
    """Whether boto3 would find credentials, without probing the EC2 metadata service."""
    import botocore.session

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    try:
        return botocore.session.get_session().get_credentials() is not None
    except Exception:  # a broken profile means "no usable credentials" here
        return False


def resolve_target(requested: str) -> Literal["local", "aws"]:
    """``local`` or ``aws`` for the ``--target`` choice ``auto``, ``local`` or ``aws``."""
    if requested == "local" or (requested == "auto" and not has_aws_credentials()):
        return "local"
    return "aws"


def run_cdk(args: list[str], env: dict[str, str], what: str) -> None:
    """Run ``cdk <args>`` with ``env``; its output goes to the terminal, a failure is one line."""
    if shutil.which("npx") is None:
        raise SagefitError("npx (Node.js) not found", "install Node.js 20 and run `make setup`")
    result = subprocess.run([*CDK, *args], env=env, check=False)
    if result.returncode != 0:
        raise SagefitError(
            f"`cdk {what}` failed (exit {result.returncode}); its output is above",
            "fix the cause shown above and run again",
        )


def context_args(context: dict[str, str]) -> list[str]:
    """``-c key=value`` arguments for each CDK context value."""
    return [arg for key, value in context.items() for arg in ("-c", f"{key}={value}")]


def deploy_aws(stack: str) -> None:
    """``cdk deploy STACK`` with the caller's AWS credentials and region."""
    env = {**os.environ, **QUIET_NODE}
    run_cdk(["deploy", stack], env, f"deploy {stack}")


def destroy_aws(stack: str) -> None:
    """``cdk destroy STACK`` with the caller's AWS credentials and region."""
    env = {**os.environ, **QUIET_NODE}
    run_cdk(["destroy", stack], env, f"destroy {stack}")
