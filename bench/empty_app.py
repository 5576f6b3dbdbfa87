"""An empty CDK app: the jsii start-up floor that `cdk synth` of sagefit is compared with.

It is built with the same App settings as app.py (CDK's built-in template validation off), so the
comparison measures sagefit's own work, not a validator only one side runs.
"""

import aws_cdk as cdk

app = cdk.App(builtin_cloud_formation_validation=False)
cdk.Stack(app, "Empty")
app.synth()
