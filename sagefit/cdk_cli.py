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
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from sagefit.core.errors import SagefitError

CDK = ["npx", "--no-install", "cdk"]
# The same settings the Makefile exports: no Node warnings, no CLI telemetry.
QUIET_NODE = {
    "NODE_NO_WARNINGS": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}
NODE_BIN = Path("node_modules") / ".bin"
"""Where package.json's ``node`` package puts the pinned Node.js (22): first on PATH for the CDK CLI
and the app's jsii runtime, which runs whatever ``node`` PATH finds (the system's may be past its end
of life, and jsii then prints a banner on every run)."""
PROFILES_CONTEXT = "sagefit:profiles"


def node_env(base: Mapping[str, str], root: Path | None = None) -> dict[str, str]:
    """``base`` with the quiet-Node settings and the project's ``node_modules/.bin`` first on PATH."""
    bin_dir = str(((root or Path.cwd()) / NODE_BIN).absolute())
    path = base.get("PATH", os.defpath)
    return {**base, **QUIET_NODE, "PATH": os.pathsep.join([bin_dir, path])}


def profiles_context(directory: Path) -> dict[str, str]:
    """The context that makes the CDK app synthesize the profiles in ``directory`` (absolute, so the
    app finds them whatever its working directory), the same ones the command validated."""
    return {PROFILES_CONTEXT: str(directory.absolute())}


def has_aws_credentials() -> bool:
    """Whether boto3 would find credentials, without probing the EC2 metadata service."""
    import botocore.session

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    try:
        return botocore.session.get_session().get_credentials() is not None
    except Exception:  # a broken profile means "no usable credentials" here
        return False


_LOOPBACK_HOSTS = ("localhost", "::1")


def local_endpoint_override() -> str | None:
    """An ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_<SERVICE>``) variable pointing at this machine.

    Set by hand to reach the emulator with the AWS CLI, it comes with dummy credentials that boto3
    finds as readily as real ones: they are not a reason to choose AWS.
    """
    for key, value in sorted(os.environ.items()):
        if key.startswith("AWS_ENDPOINT_URL") and value:
            host = urlparse(value).hostname or ""
            if host in _LOOPBACK_HOSTS or host.startswith("127."):
                return f"{key}={value}"
    return None


def resolve_target(requested: str) -> Literal["local", "aws"]:
    """``local`` or ``aws`` for the ``--target`` choice ``auto``, ``local`` or ``aws``.

    ``auto`` is AWS only when boto3 finds credentials and no endpoint variable points at this machine
    (decided: such a variable means the credentials are the emulator's dummies). ``aws`` with such a
    variable is a one-line error, since every request would go to the loopback address instead.
    """
    if requested == "local":
        return "local"
    override = local_endpoint_override()
    if requested == "aws":
        if override is not None:
            raise SagefitError(
                f"{override} points at this machine, not AWS",
                "unset that variable to reach AWS, or use --target local (make deploy TARGET=local)",
                field="--target",
            )
        return "aws"
    if override is not None or not has_aws_credentials():
        return "local"
    return "aws"


def run_cdk(args: list[str], env: dict[str, str], what: str) -> None:
    """Run ``cdk <args>`` with ``env``; its output goes to the terminal, a failure is one line."""
    if shutil.which("npx") is None:
        raise SagefitError("npx (Node.js) not found", "install Node.js and npm, then run `make setup`")
    result = subprocess.run([*CDK, *args], env=env, check=False)
    if result.returncode != 0:
        raise SagefitError(
            f"`cdk {what}` failed (exit {result.returncode}); its output is above",
            "fix the cause shown above and run again",
        )


def context_args(context: dict[str, str]) -> list[str]:
    """``-c key=value`` arguments for each CDK context value."""
    return [arg for key, value in context.items() for arg in ("-c", f"{key}={value}")]


def deploy_aws(stack: str, context: dict[str, str]) -> None:
    """``cdk deploy STACK -c ...`` with the caller's AWS credentials and region."""
    run_cdk(["deploy", stack, *context_args(context)], node_env(os.environ), f"deploy {stack}")


def destroy_aws(stack: str, context: dict[str, str]) -> None:
    """``cdk destroy STACK -c ...`` with the caller's AWS credentials and region."""
    run_cdk(["destroy", stack, *context_args(context)], node_env(os.environ), f"destroy {stack}")
