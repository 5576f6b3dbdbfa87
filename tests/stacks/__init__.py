"""The CDK stacks: template assertions, cfn-lint, cdk-nag and grants, from one synth per session."""
