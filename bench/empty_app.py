"""An empty CDK app: the jsii start-up floor that `cdk synth` of sagefit is compared with."""

import aws_cdk as cdk

app = cdk.App()
cdk.Stack(app, "Empty")
app.synth()
