"""sagefit: right-sized, scale-to-zero, cost-guarded SageMaker endpoints for open LLMs.

The package is the pure-Python core: profiles, the instance catalog, sizing, pricing and the CLI.
It never imports aws_cdk, so planning stays instant and testable without jsii; the CDK stacks in
``stacks/`` only render a finished :class:`sagefit.core.planner.Plan`.
"""

__version__ = "0.1.0"
