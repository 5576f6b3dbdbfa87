"""`sagefit deploy` and `sagefit destroy`: the CDK CLI against AWS, or the local emulator.

The work is :mod:`sagefit.cdk_cli`'s (AWS) and :mod:`sagefit.emulator.local_target`'s (the local
emulator, imported only on that path); this module chooses the target and reports what happened.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sagefit.cli.common import STACK_HELP, add_command, find
from sagefit.cli.target import announce, announce_aws, local_line

if TYPE_CHECKING:
    from sagefit.cli.common import SubParsers

DEFAULT_PORT = 5055


def cmd_deploy(args: argparse.Namespace) -> int:
    from sagefit import cdk_cli
    from sagefit.cli.shared import shared_target
    from sagefit.core.planner import plan_profile

    shared = shared_target(args)  # a shared endpoint (model_profiles/endpoints/), planned, or None
    if shared is not None:
        stack, region = shared
    else:
        spec = plan_profile(find(args)).spec  # a profile that cannot be served fails here, before any CLI runs
        stack, region = spec.names.stack, spec.region
    # The CDK app synthesizes the same directory this command just validated.
    context = cdk_cli.profiles_context(args.profiles)
    target = cdk_cli.resolve_target(args.target)
    if target == "aws":
        announce_aws(region)
        cdk_cli.deploy_aws(stack, context)
        return 0
    from sagefit.emulator import local_target
    from sagefit.emulator.requirements import require_moto
    from sagefit.emulator.server import check_port

    require_moto()
    check_port(args.port, "--port")
    announce(local_line(args.port))
    result = local_target.deploy_local(stack, region, args.port, args.keep_emulator, context)
    print(f"\n{stack} deployed to the LOCAL EMULATOR (moto on {result.emulator_url}).")
    for key, value in sorted(result.outputs.items()):
        print(f"  {key}: {value}")
    print(f"  endpoint {result.outputs.get('EndpointName')}: {result.endpoint_status}")
    if result.component_status is not None:
        print(f"  inference component {result.outputs.get('InferenceComponentName')}: {result.component_status}")
    print(
        "Nothing was created in AWS. The emulator checks that the stack creates and wires up; it "
        "cannot load the model, check quotas or bill you."
    )
    if result.still_running:
        why = "" if args.keep_emulator else " (kept by an earlier KEEP=1 deploy, or in use by another deploy)"
        print(
            f"The emulator stays up on {result.emulator_url}{why}; `make destroy STACK={stack}` removes the "
            "stack (and stops the emulator once no stack is left)."
        )
    else:
        print("The emulator has been stopped and its state discarded.")
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    from sagefit import cdk_cli
    from sagefit.cli.shared import shared_target

    shared = shared_target(args, validate=False)
    if shared is not None:
        stack, region = shared
    else:
        profile = find(args).profile
        stack, region = profile.stack_name, profile.region
    context = cdk_cli.profiles_context(args.profiles)
    if cdk_cli.resolve_target(args.target) == "aws":
        announce_aws(region)
        cdk_cli.destroy_aws(stack, context)
        return 0
    from sagefit.emulator import local_target

    emulator = local_target.kept_emulator()
    if emulator is None:
        print(
            f"No local emulator is running, so there is nothing to destroy: its state ended with it. "
            f"(Use TARGET=aws to destroy {stack} in your AWS account.)"
        )
        return 0
    announce(local_line(emulator.port))
    remaining = local_target.destroy_local(stack, region, context)
    if remaining:
        print(f"{stack} destroyed in the local emulator; it stays up for {', '.join(remaining)}.")
    elif remaining is not None:
        print(f"{stack} destroyed in the local emulator, and the emulator stopped (unless a deploy is using it).")
    else:
        print("The local emulator stopped meanwhile, so there is nothing to destroy.")
    return 0


def register(sub: SubParsers) -> None:
    for name, func, help_ in (
        ("deploy", cmd_deploy, "deploy a stack with the CDK CLI: to AWS, or to the local emulator"),
        ("destroy", cmd_destroy, "destroy a stack deployed by `sagefit deploy`"),
    ):
        cmd = add_command(sub, name, func, help_)
        cmd.add_argument("stack", help=STACK_HELP)
        cmd.add_argument(
            "--target",
            choices=("auto", "local", "aws"),
            default="auto",
            help="auto: AWS when credentials are configured, else the local emulator",
        )
        if name == "deploy":
            cmd.add_argument("--port", type=int, default=DEFAULT_PORT, help="local emulator port (127.0.0.1)")
            cmd.add_argument("--keep-emulator", action="store_true", help="leave the local emulator running")
