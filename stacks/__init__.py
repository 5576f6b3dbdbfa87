"""CDK stacks and constructs that render a finished sagefit plan."""
