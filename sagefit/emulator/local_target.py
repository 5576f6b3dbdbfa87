"""The local deploy target: the real CDK CLI against the emulator on this machine.

With no AWS credentials (or ``--target local``) `sagefit deploy` sends the stack to moto's server on
127.0.0.1 (:mod:`sagefit.emulator.server`, started here as a child process), with the settings that
make the CDK CLI work there: the endpoint URL uses the name ``localhost`` (with the IP moto misreads
the S3 template URL), deploys use ``--method=direct`` (moto's change sets are broken) and the app is
synthesized with ``sagefit:localTarget=true`` (no bootstrap-version rule).

Which emulator runs, who uses it and when it stops is :mod:`sagefit.emulator.lifecycle`'s job (the
state file ``.sagefit/emulator.json``, leases, and the rule that sagefit signals only processes it
started); an emulator kept with ``--keep-emulator`` is reused by later deploys and stopped by
`sagefit destroy` of its last stack. Its log goes to ``.sagefit/emulator.log``. moto itself runs
only in that child process, so importing this module imports no moto. The local target proves the
templates create, wire and destroy; it proves nothing about AWS capacity, quotas, IAM or the model
actually loading.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagefit.cdk_cli import context_args, node_env, run_cdk
from sagefit.emulator.lifecycle import Emulator, acquire, kept_emulator, release, start_emulator
from sagefit.emulator.server import LOOPBACK

__all__ = ["Emulator", "LocalTarget", "deploy_local", "destroy_local", "kept_emulator", "start_emulator"]

LOCAL_ACCOUNT = "123456789012"
LOCAL_CONTEXT = {"sagefit:localTarget": "true"}


def local_env(emulator: Emulator, region: str) -> dict[str, str]:
    """Environment that points the CDK CLI and boto3 at the emulator with dummy credentials."""
    env = node_env({k: v for k, v in os.environ.items() if not k.startswith("AWS_")})
    env.update(
        {
            "AWS_ENDPOINT_URL": emulator.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "CDK_DEFAULT_ACCOUNT": LOCAL_ACCOUNT,
            "CDK_DEFAULT_REGION": region,
        }
    )
    return env


class LocalTarget:
    """The CDK CLI pointed at one running emulator: bootstrap, deploy, destroy, inspect."""

    def __init__(self, emulator: Emulator, region: str, context: dict[str, str] | None = None) -> None:
        self.emulator = emulator
        self.region = region
        # Passed to every CDK command (the profiles directory above all), after the local settings.
        self.context = {**LOCAL_CONTEXT, **(context or {})}
        self.env = local_env(emulator, region)
        # Its own cloud assembly directory, so a `cdk synth` running beside it never collides.
        self.outdir = Path(tempfile.mkdtemp(prefix="sagefit-local-cdk-out-"))

    def bootstrap(self) -> None:
        run_cdk(
            [
                "bootstrap",
                f"aws://{LOCAL_ACCOUNT}/{self.region}",
                "--output",
                str(self.outdir),
                *context_args(self.context),
            ],
            self.env,
            "bootstrap",
        )

    def deploy(self, stack: str, context: dict[str, str] | None = None) -> dict[str, str]:
        """Deploy (create or update) ``stack``; return its outputs."""
        return self.deploy_stacks([stack], context).get(stack, {})

    def deploy_stacks(self, stacks: Sequence[str], context: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
        """Deploy ``stacks`` with one ``cdk deploy`` (one synth of the app); stack -> its outputs."""
        with tempfile.TemporaryDirectory() as tmp:
            outputs_file = Path(tmp) / "outputs.json"
            run_cdk(
                [
                    "deploy",
                    *stacks,
                    "--require-approval",
                    "never",
                    "--method=direct",
                    "--output",
                    str(self.outdir),
                    "--outputs-file",
                    str(outputs_file),
                    *context_args({**self.context, **(context or {})}),
                ],
                self.env,
                f"deploy {' '.join(stacks)}",
            )
            outputs: dict[str, dict[str, str]] = json.loads(outputs_file.read_text())
            return outputs

    def destroy(self, *stacks: str) -> None:
        """Destroy ``stacks`` with one ``cdk destroy``."""
        run_cdk(
            ["destroy", *stacks, "--force", "--output", str(self.outdir), *context_args(self.context)],
            self.env,
            f"destroy {' '.join(stacks)}",
        )

    def deployed_stacks(self) -> list[str]:
        """Stacks alive in the emulator, apart from the CDK bootstrap stack."""
        paginator = self.client("cloudformation").get_paginator("list_stacks")
        return sorted(
            s["StackName"]
            for page in paginator.paginate()
            for s in page["StackSummaries"]
            if s["StackStatus"] != "DELETE_COMPLETE" and s["StackName"] != "CDKToolkit"
        )

    def close(self) -> None:
        shutil.rmtree(self.outdir, ignore_errors=True)

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.emulator.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@dataclass(frozen=True)
class LocalDeployment:
    """What a local deploy reports: the stack's outputs and the states the emulator shows."""

    outputs: dict[str, str]
    endpoint_status: str
    component_status: str | None
    emulator_url: str
    still_running: bool


def deploy_local(
    stack: str, region: str, port: int, keep: bool, context: dict[str, str] | None = None
) -> LocalDeployment:
    """Bootstrap and deploy ``stack`` into the emulator; report its outputs and endpoint.

    The emulator sagefit already runs on ``port`` is reused (several stacks side by side; one on
    another port is a one-line error), else a fresh one starts. It stops afterwards only if no
    ``KEEP=1`` deploy kept it and no other deploy is using it (:mod:`sagefit.emulator.lifecycle`).
    """
    lease = acquire(port)
    assert lease is not None  # acquire starts one when none runs
    emulator = lease.emulator
    target: LocalTarget | None = None
    try:
        target = LocalTarget(emulator, region, context)
        print(f"Local AWS emulator (moto) on {LOOPBACK}:{emulator.port}; bootstrapping...", flush=True)
        target.bootstrap()
        outputs = target.deploy(stack)
        sagemaker = target.client("sagemaker")
        status = sagemaker.describe_endpoint(EndpointName=outputs["EndpointName"])["EndpointStatus"]
        component = None
        if "InferenceComponentName" in outputs:
            component = sagemaker.describe_inference_component(
                InferenceComponentName=outputs["InferenceComponentName"]
            )["InferenceComponentStatus"]
        if keep:
            lease.keep = True
    finally:
        if target is not None:
            target.close()
        # However it ended: a kept emulator, or one another deploy uses, stays up.
        still_running = release(lease)
    return LocalDeployment(outputs, status, component, emulator.endpoint_url, still_running)


def destroy_local(stack: str, region: str, context: dict[str, str] | None = None) -> list[str] | None:
    """Destroy ``stack`` in the emulator sagefit runs; None if none is running.

    Returns the stacks still deployed there. Once none is left the emulator is no longer kept (all
    its state lives in its memory), so it stops, unless a deploy is using it right now.
    """
    lease = acquire(None, start=False)
    if lease is None:
        return None
    target = LocalTarget(lease.emulator, region, context)
    try:
        target.destroy(stack)
        remaining = target.deployed_stacks()
        # Only after a successful destroy: a failed one keeps the emulator, and the other stacks in it.
        if not remaining:
            lease.keep = False
    finally:
        target.close()
        release(lease)
    return remaining
