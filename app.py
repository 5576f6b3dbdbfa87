#!/usr/bin/env python3
"""CDK entry point: one stack per model profile (see stacks/application.py for context keys)."""

import sys

import aws_cdk as cdk

from sagefit.errors import EXIT_USAGE, SagefitError
from stacks.application import build_app

app = cdk.App()
try:
    build_app(app)
except SagefitError as exc:
    print(f"sagefit: error: {exc}", file=sys.stderr)
    sys.exit(EXIT_USAGE)
app.synth()
