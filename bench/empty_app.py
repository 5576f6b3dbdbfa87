"""An empty CDK app: the jsii start-up floor that `cdk synth` of sagefit is compared with.

It is built with the same App settings as app.py (CDK's built-in template validation off) and ends
the same way (sagefit.app_exit.exit_now: atexit hooks, then no interpreter teardown), so the
comparison measures sagefit's own work, not a validator or an exit only one side has.
"""

import aws_cdk as cdk

from sagefit.app_exit import exit_now

app = cdk.App(builtin_cloud_formation_validation=False)
cdk.Stack(app, "Empty")
app.synth()
exit_now(0)
