"""The local deploy target: the real CDK CLI against the emulator on this machine.

With no AWS credentials (or ``--target local``) `sagefit deploy` sends the stack to moto's server on
127.0.0.1 (:mod:`sagefit.emulator.server`, started here as a child process), with the settings that
make the CDK CLI work there: the endpoint URL uses the name ``localhost`` (with the IP moto misreads
the S3 template URL), deploys use ``--method=direct`` (moto's change sets are broken) and the app is
synthesized with ``sagefit:localTarget=true`` (no bootstrap-version rule).

An emulator kept with ``--keep-emulator`` is remembered in ``.sagefit/emulator.json`` (its pid and
port) so later deploys reuse it and `sagefit destroy` stops it once its last stack is gone; its log
goes to ``.sagefit/emulator.log``. moto itself runs only in that child process, so importing this
module imports no moto. The local target proves the templates create, wire and destroy; it proves
nothing about AWS capacity, quotas, IAM or the model actually loading.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagefit.cdk_cli import QUIET_NODE, context_args, run_cdk
from sagefit.core.errors import SagefitError
from sagefit.emulator.requirements import require_moto
from sagefit.emulator.server import DEFAULT_PORT, LOOPBACK, port_in_use

LOCAL_ACCOUNT = "123456789012"
STATE_FILE = Path(".sagefit/emulator.json")
LOG_FILE = STATE_FILE.with_name("emulator.log")
LOCAL_CONTEXT = {"sagefit:localTarget": "true"}


@dataclass
class Emulator:
    """A running emulator on a loopback port: started by this command, or kept by an earlier one."""

    pid: int
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://localhost:{self.port}"

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        else:
            if not self._exited_within(10):
                os.kill(self.pid, signal.SIGKILL)
                self._exited_within(5)
        STATE_FILE.unlink(missing_ok=True)

    def _exited_within(self, seconds: float) -> bool:
        if self.process is not None:  # our child: reap it
            try:
                self.process.wait(timeout=seconds)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.1)
        return False


def start_emulator(port: int = DEFAULT_PORT, timeout_s: float = 60) -> Emulator:
    """Start the emulator in a child process and wait until it accepts connections.

    Its log goes to .sagefit/emulator.log (a pipe nobody reads would fill and stall the server).
    """
    require_moto()
    if port_in_use(port):
        raise SagefitError(
            f"port {port} on {LOOPBACK} is already in use",
            "pass another port (make deploy PORT=5056) or stop what listens there "
            "(`make destroy` stops an emulator kept by KEEP=1)",
            field="PORT",
        )
    LOG_FILE.parent.mkdir(exist_ok=True)
    with LOG_FILE.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sagefit.emulator.server", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                lines = LOG_FILE.read_text().strip().splitlines()
                raise SagefitError(
                    f"the local emulator failed to start ({lines[-1] if lines else 'no output'})",
                    f"see {LOG_FILE} or run `python -m sagefit.emulator.server`",
                )
            if port_in_use(port):
                STATE_FILE.write_text(json.dumps({"pid": process.pid, "port": port}))
                return Emulator(pid=process.pid, port=port, process=process)
            time.sleep(0.2)
        raise SagefitError("the local emulator did not start within a minute", "try again or pass another PORT")
    except BaseException:
        # Its own session shields it from Ctrl-C: a start that fails or is interrupted must end it here.
        if process.poll() is None:
            process.kill()
        process.wait()
        raise


def running_emulator() -> Emulator | None:
    """The emulator a previous ``deploy --keep-emulator`` left running, if it still is."""
    if not STATE_FILE.exists():
        return None
    try:
        state = json.loads(STATE_FILE.read_text())
        pid, port = int(state["pid"]), int(state["port"])
    except (OSError, ValueError, KeyError, TypeError):
        STATE_FILE.unlink(missing_ok=True)  # unreadable: whatever it named is no longer known to us
        return None
    if not port_in_use(port):
        STATE_FILE.unlink(missing_ok=True)
        return None
    return Emulator(pid=pid, port=port)


def local_env(emulator: Emulator, region: str) -> dict[str, str]:
    """Environment that points the CDK CLI and boto3 at the emulator with dummy credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(QUIET_NODE)
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

    def __init__(self, emulator: Emulator, region: str) -> None:
        self.emulator = emulator
        self.region = region
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
                *context_args(LOCAL_CONTEXT),
            ],
            self.env,
            "bootstrap",
        )

    def deploy(self, stack: str, context: dict[str, str] | None = None) -> dict[str, str]:
        """Deploy (create or update) ``stack``; return its outputs."""
        with tempfile.TemporaryDirectory() as tmp:
            outputs_file = Path(tmp) / "outputs.json"
            run_cdk(
                [
                    "deploy",
                    stack,
                    "--require-approval",
                    "never",
                    "--method=direct",
                    "--output",
                    str(self.outdir),
                    "--outputs-file",
                    str(outputs_file),
                    *context_args({**LOCAL_CONTEXT, **(context or {})}),
                ],
                self.env,
                f"deploy {stack}",
            )
            outputs: dict[str, dict[str, str]] = json.loads(outputs_file.read_text())
            return outputs.get(stack, {})

    def destroy(self, stack: str) -> None:
        run_cdk(
            ["destroy", stack, "--force", "--output", str(self.outdir), *context_args(LOCAL_CONTEXT)],
            self.env,
            f"destroy {stack}",
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
    kept: bool


def deploy_local(stack: str, region: str, port: int, keep: bool) -> LocalDeployment:
    """Bootstrap and deploy ``stack`` into the emulator; report its outputs and endpoint.

    An emulator kept by an earlier ``--keep-emulator`` deploy on the same port is reused, so several
    stacks can be deployed side by side (one kept on another port is a one-line error: a second
    emulator would take over the state file); with none kept, a fresh one starts.
    """
    kept = running_emulator()
    if kept is not None and kept.port != port:
        # Starting a second one would overwrite the state file and lose track of the kept emulator.
        raise SagefitError(
            f"an emulator kept by an earlier KEEP=1 deploy runs on port {kept.port}",
            f"deploy with PORT={kept.port} to add {stack} to it, or `make destroy` its stacks first",
            field="PORT",
        )
    emulator = kept if kept is not None else start_emulator(port)
    target: LocalTarget | None = None
    ok = False
    try:
        target = LocalTarget(emulator, region)
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
        ok = True
        return LocalDeployment(outputs, status, component, emulator.endpoint_url, keep)
    finally:
        # A failed deploy leaves nothing behind: the emulator and all its state go away.
        if target is not None:
            target.close()
        if not (ok and keep):
            emulator.stop()


def destroy_local(stack: str, region: str) -> list[str] | None:
    """Destroy ``stack`` in a kept emulator; None if no emulator is running.

    Returns the stacks still deployed there. The emulator stops once none is left, since all its
    state lives in its memory.
    """
    emulator = running_emulator()
    if emulator is None:
        return None
    target = LocalTarget(emulator, region)
    try:
        target.destroy(stack)
        remaining = target.deployed_stacks()
    finally:
        target.close()
    # Only after a successful destroy: a failed one keeps the emulator, and the other stacks in it.
    if not remaining:
        emulator.stop()
    return remaining
