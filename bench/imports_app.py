"""The import floor: an app that imports everything the stacks import, then synthesizes one empty stack.

``stacks.application`` brings the CDK service modules the stacks use and the planning core (pydantic,
PyYAML, the catalog); ``cdk_nag`` is what synth adds when cdk-nag runs. Measured against
``bench/empty_app.py`` by ``bench/synth_floor.py``: what the seed app pays before it builds anything.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root: `stacks`

import aws_cdk as cdk
import cdk_nag  # noqa: F401

import stacks.application  # noqa: F401
from sagefit.app_exit import exit_now

app = cdk.App(builtin_cloud_formation_validation=False)
cdk.Stack(app, "Empty")
app.synth()
exit_now(0)
