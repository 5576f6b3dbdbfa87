#!/usr/bin/env python3
"""CDK entry point: one stack per model profile (see stacks/application.py for context keys)."""

import sys

import aws_cdk as cdk

from sagefit.core.errors import EXIT_USAGE, SagefitError
from stacks.application import build_app

# CDK's built-in template validation duplicates cfn-lint, which the test suite runs over every
# template, and adds about 11 s to each synth of this app.
app = cdk.App(builtin_cloud_formation_validation=False)
try:
    build_app(app)
except SagefitError as exc:
    print(f"sagefit: error: {exc}", file=sys.stderr)
    sys.exit(EXIT_USAGE)
app.synth()
