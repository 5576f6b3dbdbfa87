#!/usr/bin/env python3
"""CDK entry point: one stack per model profile (see stacks/application.py for context keys)."""

import os
import signal
import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT


def _interrupted(signum: int, frame: object) -> None:
    # Ctrl-C reaches this process and jsii's node child together: unwinding through jsii would print
    # its traceback (the kernel is gone), so say one line and leave at once, without atexit hooks.
    print("sagefit: interrupted; nothing was synthesized", file=sys.stderr, flush=True)
    os._exit(EXIT_INTERRUPTED)


signal.signal(signal.SIGINT, _interrupted)  # before aws_cdk loads: importing it starts jsii's kernel

import aws_cdk as cdk  # noqa: E402

from sagefit.app_exit import exit_now  # noqa: E402
from sagefit.core.errors import EXIT_USAGE, SagefitError  # noqa: E402
from stacks.application import build_app  # noqa: E402

# CDK's built-in template validation duplicates cfn-lint, which the test suite runs over every
# template, and adds about 11 s to each synth of this app.
app = cdk.App(builtin_cloud_formation_validation=False)
try:
    build_app(app)
    app.synth()
except SagefitError as exc:
    print(f"sagefit: error: {exc}", file=sys.stderr)
    exit_now(EXIT_USAGE)
except KeyboardInterrupt:
    _interrupted(signal.SIGINT, None)
# The assembly is written: leave without deallocating the app (sagefit/app_exit.py says what it saves).
exit_now(0)
