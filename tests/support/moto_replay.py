"""Deploying synthesized templates into moto's CloudFormation in-process, as `cdk deploy` would.

moto's CloudFormation creates the IAM roles, KMS key, SNS topics, SQS queues, log groups, S3 buckets,
Lambda functions and the SageMaker model, endpoint config, endpoint and (with sagefit's moto
extensions) inference component and scalable targets, and skips scaling policies, alarms, budgets and
SNS subscriptions with a warning. The replay registers the scalable targets once more with the
template's values and their scheduled actions (the same ones the extension registered). :class:`Replayer` creates those through their own APIs, with the
arguments read from the synthesized template, so a template change that breaks them still fails a
test. :func:`publish_assets` does what the CDK CLI does before a deploy: it zips each file asset of
the cloud assembly into the bootstrap bucket (moto's Lambda reads function code from there).

Used by tests/emulator/test_moto_deploy.py and tests/e2e/test_hardcap_deploy.py; call it inside
``mock_aws()`` with the moto extensions installed.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sagefit.emulator.moto_ext import install_moto_extensions

REGION = "us-east-1"
ACCOUNT = "123456789012"
SKIPPED_BY_MOTO = (
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::Budgets::Budget",
    "AWS::SNS::Subscription",
)
_PLACEHOLDERS = {"${AWS::AccountId}": ACCOUNT, "${AWS::Region}": REGION, "${AWS::Partition}": "aws"}


def _substitute(text: str) -> str:
    for placeholder, value in _PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    return text


def _zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def publish_assets(outdir: Path, stack: str) -> list[str]:
    """Upload the stack's file assets (zipped directories, files) to their bootstrap-bucket keys."""
    manifest = json.loads((outdir / f"{stack}.assets.json").read_text())
    s3 = boto3.client("s3", region_name=REGION)
    published = []
    for asset in manifest.get("files", {}).values():
        source = outdir / asset["source"]["path"]
        body = _zip_directory(source) if asset["source"].get("packaging") == "zip" else source.read_bytes()
        for destination in asset["destinations"].values():
            bucket = _substitute(destination["bucketName"])
            existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key=_substitute(destination["objectKey"]), Body=body)
            published.append(f"s3://{bucket}/{_substitute(destination['objectKey'])}")
    return published


def bootstrap() -> None:
    """The one bootstrap artefact the templates read (the bootstrap-version SSM parameter)."""
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String"
    )


def deploy(stack: str, template: dict[str, Any], outdir: Path) -> dict[str, Any]:
    """Publish the assets, create the stack, replay what moto skipped; return describe_stacks()."""
    publish_assets(outdir, stack)
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(
        StackName=stack, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
    )
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    Replayer(stack, template).replay()
    return described


class Replayer:
    """Creates the resources moto's CloudFormation skips, resolving Ref/GetAtt/Join like CloudFormation."""

    def __init__(self, stack: str, template: dict[str, Any]) -> None:
        self.stack = stack
        self.template = template
        self.resources = template["Resources"]
        cfn = boto3.client("cloudformation", region_name=REGION)
        # Resources moto skipped come back without ids; they are replayed below.
        self.physical = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
            if "LogicalResourceId" in r
        }
        self.scaling = boto3.client("application-autoscaling", region_name=REGION)
        self.cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        self.budgets = boto3.client("budgets", region_name=REGION)
        self.sns = boto3.client("sns", region_name=REGION)

    def _arn(self, lid: str) -> str:
        """GetAtt <lid>.Arn: moto's physical id is the ARN for most types, not for these two."""
        physical = self.physical[lid]
        if physical.startswith("arn:"):
            return physical
        kind = self.resources[lid]["Type"]
        if kind == "AWS::Lambda::Function":
            return boto3.client("lambda", region_name=REGION).get_function(FunctionName=physical)["Configuration"][
                "FunctionArn"
            ]
        if kind == "AWS::SQS::Queue":
            return boto3.client("sqs", region_name=REGION).get_queue_attributes(
                QueueUrl=physical, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
        raise AssertionError(f"no ARN for {lid} ({kind}): {physical}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            ref = value["Ref"]
            pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"}
            if ref in pseudo:
                return pseudo[ref]
            assert ref in self.physical, f"{ref} was never created"
            return self.physical[ref]
        if "Fn::GetAtt" in value:
            lid, attr = value["Fn::GetAtt"]
            if attr in ("Arn", "TopicArn"):
                return self._arn(lid)
            if attr == "QueueName":
                return self.physical[lid].rsplit("/", 1)[-1]
            raise AssertionError(f"unexpected GetAtt {lid}.{attr}")
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(str(self.resolve(p)) for p in parts)
        return {k: self.resolve(v) for k, v in value.items()}

    def of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        return {lid: r.get("Properties", {}) for lid, r in self.resources.items() if r["Type"] == type_}

    def replay(self) -> None:
        targets = {}
        for lid, props in self.of_type(SKIPPED_BY_MOTO[0]).items():
            key = {k: props[k] for k in ("ServiceNamespace", "ResourceId", "ScalableDimension")}
            self.scaling.register_scalable_target(
                **key, MinCapacity=props["MinCapacity"], MaxCapacity=props["MaxCapacity"]
            )
            for action in props.get("ScheduledActions", []):
                self.scaling.put_scheduled_action(
                    **key,
                    ScheduledActionName=action["ScheduledActionName"],
                    Schedule=action["Schedule"],
                    Timezone=action.get("Timezone", "UTC"),
                    ScalableTargetAction=action["ScalableTargetAction"],
                )
            targets[lid] = key
            self.physical[lid] = f"{key['ServiceNamespace']}|{key['ResourceId']}|{key['ScalableDimension']}"
        for lid, props in self.of_type(SKIPPED_BY_MOTO[1]).items():
            target_lid = props["ScalingTargetId"]["Ref"]
            config = {k: self.resolve(v) for k, v in props.items() if k.endswith("PolicyConfiguration")}
            arn = self.scaling.put_scaling_policy(
                PolicyName=props["PolicyName"], PolicyType=props["PolicyType"], **targets[target_lid], **config
            )["PolicyARN"]
            self.physical[lid] = arn
        for lid, props in self.of_type(SKIPPED_BY_MOTO[2]).items():
            args = self.resolve(props)
            args.setdefault("AlarmName", f"{self.stack}-{lid}-REPLAYED")
            self.physical[lid] = args["AlarmName"]
            self.cloudwatch.put_metric_alarm(**args)
        for props in self.of_type(SKIPPED_BY_MOTO[3]).values():
            budget = self.resolve(props["Budget"])
            budget["BudgetLimit"]["Amount"] = str(budget["BudgetLimit"]["Amount"])
            self.budgets.create_budget(
                AccountId=ACCOUNT,
                Budget=budget,
                NotificationsWithSubscribers=self.resolve(props["NotificationsWithSubscribers"]),
            )
        for lid, props in self.of_type(SKIPPED_BY_MOTO[4]).items():
            args = self.resolve(props)
            self.physical[lid] = self.sns.subscribe(
                TopicArn=args["TopicArn"], Protocol=args["Protocol"], Endpoint=args["Endpoint"]
            )["SubscriptionArn"]


@contextmanager
def offline_aws(region: str = REGION) -> Iterator[None]:
    """Dummy credentials in ``region``, nothing of the shell's AWS settings (a profile, a session, an
    endpoint pointed at a kept emulator), and moto extended before any client exists."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": region,
        }.items():
            mp.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            mp.delenv(key, raising=False)
        install_moto_extensions()
        yield


@contextmanager
def deployed_account(templates: dict[str, dict[str, Any]], outdir: Path) -> Iterator[dict[str, dict[str, Any]]]:
    """Every template created as a stack in one bootstrapped moto account: stack name -> its description."""
    with offline_aws(), mock_aws():
        bootstrap()
        yield {name: deploy(name, template, outdir) for name, template in templates.items()}
