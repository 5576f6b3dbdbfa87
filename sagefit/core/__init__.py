"""The pure core: profiles, the instance catalog, sizing, the planner and the deployment spec.

Nothing here imports boto3, aws_cdk, moto, rich or matplotlib (an import contract in `make test`
checks it), so `sagefit plan` and `sagefit validate` answer without loading any AWS library, and
every number a stack, the cost simulator or an operation uses is computed here exactly once.
"""
