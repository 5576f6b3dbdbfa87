"""The hard cost cap: when a stack's budget runs out, its endpoint stops spending.

This directory is, on its own, the code of the stack's hard-cap Lambda function (the asset is this
directory alone, handler ``handler.handler``). Its modules therefore import only the standard library
and boto3/botocore (which the Lambda runtime provides), never the rest of sagefit, and ``handler``
imports ``core`` relatively when it can and as a top-level module when it cannot, so that they work
both as ``sagefit.hardcap.core`` (tests, the stacks) and as the top-level modules ``core`` and
``handler`` (in Lambda).

- :mod:`core`: the configuration (environment variables set by the stack), the decision (is this the
  stack's own budget notification, and is the actual spend really over the cap?), the actions and the
  announcement.
- :mod:`handler`: the Lambda entry point.
"""
