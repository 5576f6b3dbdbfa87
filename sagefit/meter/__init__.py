"""The spend meter: every five minutes, what the endpoint's instances cost so far this month.

AWS Budgets, which the cost guard and the hard cap act on, updates "several times a day": on an
ml.p4d.24xlarge ($37.69/h) the cap would act hundreds of dollars late. The meter prices the instances
SageMaker reports now at the plan's catalog price (each type of an instance pool at its own) and
integrates them over time, so alarms at the
budget's thresholds (and the hard cap behind the one at ``hard_cap_percent``) act within minutes. It is
an estimate priced from the catalog; AWS Budgets stays the billed truth and the backstop.

This directory is, on its own, the code of the stack's meter Lambda function (the asset is this
directory alone, handler ``handler.handler``), with the same import rule as ``sagefit/hardcap``:
standard library and boto3/botocore only, siblings imported relatively inside the package and as
top-level modules in the asset (a test checks every module).

Where its state lives, and why: a DynamoDB table of the stack's own (PAY_PER_REQUEST, encrypted with
the stack's key, point-in-time recovery). One item per stack and month holds the month's metered
instance-seconds and dollars; one cursor item per stack holds the last sample (time, instance
count and burn rate). Each run commits the cursor and the month items in one transaction conditional on the cursor
still holding the sample the run read, so a duplicate, retried or late invocation can never count the
same interval twice, and a failed run commits nothing. CloudWatch metrics cannot be that state: a
datapoint cannot be read back consistently or written conditionally. SSM parameters or S3 objects
could be (conditional writes exist for both), but not atomically across the two items a month
boundary touches, and a table costs nothing at one write every five minutes.

- :mod:`config`: what the function knows about its stack (``MeterConfig``, carried in environment
  variables), the metric and state names; standard library only, as the stacks import it.
- :mod:`ledger`: the accounting, pure: integrate the rate and the count over an interval, cap a
  gap, split at the month boundary.
- :mod:`store`: the state in DynamoDB: read the cursor and the month, commit conditionally.
- :mod:`handler`: the Lambda entry point: read and price the instances, meter, publish the metrics,
  log.
"""
