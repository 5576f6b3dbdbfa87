"""The hard cost cap: when a stack's budget runs out, its endpoint stops spending.

This directory is, on its own, the code of the stack's hard-cap Lambda function (the asset is this
directory alone, handler ``handler.handler``). Its modules therefore import only the standard library
and boto3/botocore (which the Lambda runtime provides), never the rest of sagefit (a test checks
every module). Each imports its siblings relatively inside the package (``__package__`` is set) and
as top-level modules otherwise, so they work both as ``sagefit.hardcap.<module>`` (tests, the stacks,
``sagefit resume`` and ``sagefit status``) and as the top-level modules of the Lambda asset. The
condition reads ``TYPE_CHECKING or __package__`` so that mypy checks the package imports and never
sees the same names imported twice.

- :mod:`config`: what the function knows about its stack (``CapConfig``, built from the plan's
  ``hard_cap_settings()``, carried in environment variables; on a shared endpoint one target per
  member, ``CapConfig.targets``); standard library only, as the stacks import it.
- :mod:`decision`: is this the stack's own budget notification, is the actual spend really over the
  cap (Budgets API), and what is still to do.
- :mod:`action`: capacity reads and writes on Application Auto Scaling and SageMaker, shared with
  ``sagefit resume`` and ``sagefit status``: cap, restore, set the count, deregister, delete.
- :mod:`announce`: the announcements on the alert topic.
- :mod:`handler`: the Lambda entry point and the flow, record by record, and the boto3 client factory.
"""
