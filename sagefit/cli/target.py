"""``--target local|aws|auto`` for every command that acts on AWS or the emulator, and the line that
names the target before anything is done there.

``local`` means the emulator a ``make deploy STACK=... KEEP=1`` left running (its URL comes from
``.sagefit/emulator.json``), reached with dummy credentials; ``aws`` the caller's account; ``auto``
chooses as :func:`sagefit.cdk_cli.resolve_target` does, except that an operation chooses the
emulator only if one is running (a deploy can start one; `status` has nothing to look at in a new
one), so without credentials or an emulator it fails on the credentials, naming both fixes. The
target line goes to stderr, so that what a command prints on stdout (an answer from `invoke`, a
status) stays clean for a pipe.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from sagefit.core.errors import SagefitError

if TYPE_CHECKING:
    from sagefit.ops.aws import AwsSession

TARGETS = ("auto", "local", "aws")
LOCAL_CREDENTIALS = ("testing", "testing")
"""The emulator accepts any credentials; these are moto's documented dummies."""


def add_target_option(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--target",
        choices=TARGETS,
        default="auto",
        help="aws: your AWS account; local: the emulator kept by `make deploy KEEP=1`; "
        "auto (default): AWS when credentials are configured, else the local emulator",
    )


def announce(line: str) -> None:
    """Print ``target: ...`` first, before the command acts there."""
    print(f"target: {line}", file=sys.stderr, flush=True)


def local_line(port: int) -> str:
    from sagefit.emulator.server import LOOPBACK

    return f"local emulator on {LOOPBACK}:{port}"


def aws_line(aws: AwsSession) -> str:
    from sagefit import cdk_cli

    override = cdk_cli.local_endpoint_override()  # set by hand: say where the requests really go
    through = f" (through {override})" if override is not None else ""
    return f"AWS account {aws.account()}, region {aws.region}{through}"


def announce_aws(region: str) -> AwsSession:
    """A session for ``region`` in the caller's account, announced (this also checks the credentials)."""
    from sagefit.ops.aws import AwsSession

    aws = AwsSession(region)
    announce(aws_line(aws))
    return aws


def target_session(args: argparse.Namespace, region: str, stack: str) -> AwsSession:
    """The session a command acts through on ``--target``, announced with its target line."""
    from sagefit import cdk_cli

    if args.target == "aws":
        cdk_cli.resolve_target("aws")  # refuses an endpoint variable pointing at this machine
        return announce_aws(region)
    from sagefit.emulator.lifecycle import kept_emulator
    from sagefit.ops.aws import AwsSession

    if args.target == "auto" and cdk_cli.resolve_target("auto") == "aws":
        return announce_aws(region)
    emulator = kept_emulator()
    if emulator is None and args.target == "auto":
        return announce_aws(region)
    if emulator is None:
        raise SagefitError(
            "no local emulator is running (the local target acts on one a KEEP=1 deploy left running)",
            f"make deploy STACK={stack} KEEP=1, or configure AWS credentials and pass --target aws",
            field="--target",
        )
    announce(local_line(emulator.port))
    return AwsSession(region, endpoint_url=emulator.endpoint_url, credentials=LOCAL_CREDENTIALS)
