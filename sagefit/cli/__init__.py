"""The `sagefit` command line: one module per command group, wired together in :mod:`sagefit.cli.main`.

- :mod:`~sagefit.cli.planning`: ``plan``, ``validate`` (offline; never loads aws_cdk or boto3)
- :mod:`~sagefit.cli.deploy`: ``deploy``, ``destroy``
- :mod:`~sagefit.cli.operations`: ``preflight``, ``status``, ``invoke``, ``resume``
- :mod:`~sagefit.cli.stage`: ``stage`` (weights from the Hugging Face Hub into S3)
- :mod:`~sagefit.cli.cost`: ``cost``
- :mod:`~sagefit.cli.prices`: ``prices refresh``

``sagefit.cli:main`` is the console script's entry point (pyproject.toml), and ``python -m sagefit.cli``
runs the same function.
"""

from __future__ import annotations

from sagefit.cli.main import main

__all__ = ["main"]
