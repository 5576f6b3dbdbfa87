"""Where an async endpoint puts its answers: an encrypted S3 bucket and two SNS topics.

SageMaker writes each async response (or failure) to S3 and tells a success or error topic
(CreateEndpointConfig API reference, ``AsyncInferenceConfig.OutputConfig``). The constructs are
created in the endpoint's scope, so their construct paths (and logical ids) are the endpoint's.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.nag import acknowledge_compliance


@dataclass(frozen=True)
class AsyncDestinations:
    """The output bucket and the notification topics of an async endpoint."""

    output_bucket: s3.Bucket
    success_topic: sns.Topic
    error_topic: sns.Topic


def async_destinations(scope: Construct, key: kms.IKey, role: iam.IGrantable) -> AsyncDestinations:
    """Encrypted, retained S3 output and SNS success/error topics, writable by the execution ``role``.

    The bucket is retained (it holds users' answers) and logs its access to a second bucket, which
    cdk-nag (AwsSolutions-S1) asks of every bucket.
    """
    access_logs = s3.Bucket(
        scope,
        "AsyncAccessLogs",
        # S3 server access logging delivers only to a target bucket with SSE-S3 default encryption,
        # not SSE-KMS (Amazon S3 User Guide, "Enabling Amazon S3 server access logging": target
        # bucket requirements), so this bucket stays S3-managed (acknowledged below).
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        removal_policy=RemovalPolicy.RETAIN,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    )
    output_bucket = s3.Bucket(
        scope,
        "AsyncOutput",
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        removal_policy=RemovalPolicy.RETAIN,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix="async-output/",
    )
    acknowledge_compliance(
        access_logs,
        {
            "S3DefaultEncryptionKMS": "an S3 server access log target bucket must use SSE-S3, not SSE-KMS "
            "(Amazon S3 User Guide, server access logging target bucket requirements)",
            "S3BucketReplicationEnabled": "access logs of one region's async output bucket; replicating "
            "them to a second bucket is for the account's own backup policy, not per model stack",
        },
    )
    acknowledge_compliance(
        output_bucket,
        {
            "S3BucketReplicationEnabled": "holds transient async answers the caller fetches once; it is "
            "versioned and retained, and cross-region replication is for the account's own policy",
        },
    )
    output_bucket.grant_read_write(role)
    success_topic = sns.Topic(scope, "AsyncSuccess", master_key=key, enforce_ssl=True)
    error_topic = sns.Topic(scope, "AsyncError", master_key=key, enforce_ssl=True)
    for topic in (success_topic, error_topic):
        topic.grant_publish(role)
    return AsyncDestinations(output_bucket=output_bucket, success_topic=success_topic, error_topic=error_topic)
