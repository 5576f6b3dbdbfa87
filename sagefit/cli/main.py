"""The `sagefit` parser, dispatch and error handling.

Every user error ends the same way: one line ``sagefit: error: ...`` on stderr and exit status 2,
whether argparse or a command found it. The command modules import their heavy dependencies
(boto3, numpy, the CDK runner) when they run, so `sagefit plan` answers instantly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from sagefit.cli import cost, deploy, diff, operations, planning, prices, recommend, stage
from sagefit.core.errors import EXIT_USAGE, SagefitError

EXIT_INTERRUPTED = 130
"""128 + SIGINT, what a shell reports for a program stopped with Ctrl-C."""
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE, what a shell reports for a program whose reader went away."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors raised as SagefitError (one line) instead of printed with usage.

    Sub-command parsers are created with the parent's class, so they raise the same way.
    """

    def error(self, message: str) -> NoReturn:
        raise SagefitError(message, f"see `{self.prog} --help`")


def build_parser() -> argparse.ArgumentParser:
    """Every command, in the order ``sagefit --help`` lists them."""
    parser = _Parser(
        prog="sagefit",
        description="Right-sized, scale-to-zero, cost-guarded SageMaker endpoints for open LLMs.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (planning, diff, deploy, operations, stage, cost, recommend, prices):
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit status (2 for a user error, with a one-line message)."""
    try:
        args = build_parser().parse_args(argv)
        status: int = args.func(args)
        return status
    except SagefitError as exc:
        print(f"sagefit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # One line, not a traceback; a kept emulator runs in its own session and is not touched.
        print("\nsagefit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`sagefit plan | head`): stop quietly, as a killed-by-SIGPIPE program would.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing more reaches the closed pipe, at exit either
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
