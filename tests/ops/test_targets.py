"""Where a command acts: the CDK command line it builds (``--profiles`` passed on as context), how
``--target`` is resolved, the ``target:`` line every command prints first, the operations commands on
the local emulator, and Ctrl-C as one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from moto import mock_aws

from sagefit import cdk_cli
from sagefit.cli import main
from sagefit.core.errors import SagefitError
from sagefit.emulator import lifecycle, local_target
from sagefit.emulator.ownership import ProcessIdentity
from sagefit.ops.aws import AwsSession

STACK = "OnlyHereStack"


@pytest.fixture
def own_profiles(tmp_path, monkeypatch, profiles_dir) -> Path:
    """A project directory (current) whose ``custom/`` holds a profile the repository does not have."""
    monkeypatch.chdir(tmp_path)
    directory = tmp_path / "custom"
    directory.mkdir()
    text = (profiles_dir / "zephyr-7b.yaml").read_text()
    text = text.replace("name: zephyr-7b", "name: only-here", 1).replace(
        "stack_name: ZephyrStack", f"stack_name: {STACK}"
    )
    (directory / "only-here.yaml").write_text(text)
    return directory


@pytest.fixture
def cdk_calls(monkeypatch) -> list[tuple[list[str], dict[str, str]]]:
    """Every CDK command run (arguments, environment) instead of running it."""
    calls: list[tuple[list[str], dict[str, str]]] = []

    def run(args, env, what):
        calls.append((args, env))
        if "--outputs-file" in args:
            Path(args[args.index("--outputs-file") + 1]).write_text(json.dumps({STACK: {"EndpointName": "x"}}))

    monkeypatch.setattr(cdk_cli, "run_cdk", run)
    monkeypatch.setattr(local_target, "run_cdk", run)
    monkeypatch.setattr(AwsSession, "account", lambda self: "210987654321")
    for key in ("AWS_ENDPOINT_URL",):
        monkeypatch.delenv(key, raising=False)
    return calls


# --------------------------------------------------------------------------- --profiles reaches the CDK app


def test_deploy_and_destroy_to_aws_synthesize_the_profiles_given(own_profiles, cdk_calls, capsys):
    context = ["-c", f"sagefit:profiles={own_profiles}"]  # absolute, though given relative
    assert main(["deploy", STACK, "--profiles", "custom", "--target", "aws"]) == 0
    assert main(["destroy", "only-here", "--profiles", "custom", "--target", "aws"]) == 0
    assert [args for args, _ in cdk_calls] == [["deploy", STACK, *context], ["destroy", STACK, *context]]
    assert capsys.readouterr().err == "target: AWS account 210987654321, region us-east-1\n" * 2


def test_every_local_cdk_command_gets_the_profiles(own_profiles, cdk_calls):
    emulator = lifecycle.Emulator(ProcessIdentity(1, "0", ()), 5055)
    target = local_target.LocalTarget(emulator, "us-east-1", cdk_cli.profiles_context(own_profiles))
    try:
        target.bootstrap()
        assert target.deploy(STACK) == {"EndpointName": "x"}
        target.destroy(STACK)
    finally:
        target.close()
    for args, env in cdk_calls:
        assert f"sagefit:profiles={own_profiles}" in args and "sagefit:localTarget=true" in args
        assert env["PATH"].split(":")[0] == str(Path.cwd() / cdk_cli.NODE_BIN)
        assert env["AWS_ENDPOINT_URL"] == "http://localhost:5055"
    assert len(cdk_calls) == 3


def test_a_local_deploy_passes_the_profiles_to_the_local_target(own_profiles, monkeypatch, capsys):
    seen = {}

    def deploy_local(stack, region, port, keep, context):
        seen.update(stack=stack, context=context)
        return local_target.LocalDeployment({"EndpointName": "x"}, "InService", None, "http://localhost:1", False)

    monkeypatch.setattr(local_target, "deploy_local", deploy_local)
    assert main(["deploy", STACK, "--profiles", "custom", "--target", "local", "--port", "5099"]) == 0
    assert seen == {"stack": STACK, "context": {"sagefit:profiles": str(own_profiles)}}
    assert capsys.readouterr().err == "target: local emulator on 127.0.0.1:5099\n"


# --------------------------------------------------------------------------- choosing the target


@pytest.mark.parametrize("url", ["http://127.0.0.1:5055", "http://localhost:5055", "http://[::1]:5055"])
def test_an_endpoint_variable_on_this_machine_is_not_aws(monkeypatch, url):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    assert cdk_cli.resolve_target("auto") == "local"  # the dummy credentials do not make it AWS
    assert cdk_cli.resolve_target("local") == "local"
    with pytest.raises(SagefitError, match=re.escape(f"--target: AWS_ENDPOINT_URL={url} points at this machine")):
        cdk_cli.resolve_target("aws")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
    assert cdk_cli.resolve_target("auto") == "local"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://s3.example.com")
    assert cdk_cli.resolve_target("auto") == "aws"


def test_make_deploy_after_setting_endpoint_variables_by_hand_stays_local(own_profiles, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5055")
    monkeypatch.setattr(cdk_cli, "deploy_aws", lambda *_: pytest.fail("went to AWS"))
    monkeypatch.setattr(local_target, "deploy_local", lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert main(["deploy", STACK, "--profiles", "custom"]) == 130
    err = capsys.readouterr().err
    assert err.startswith("target: local emulator on 127.0.0.1:5055\n")
    assert err.endswith("sagefit: interrupted\n") and "Traceback" not in err


# --------------------------------------------------------------------------- operations and --target


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "MistralStack"],
        ["invoke", "MistralStack", "Hello"],
        ["resume", "MistralStack"],
        ["preflight", "MistralStack"],
    ],
)
def test_operations_on_the_local_target_without_an_emulator_name_the_fix(
    argv, tmp_path, monkeypatch, capsys, profiles_dir
):
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--target", "local", "--profiles", str(profiles_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sagefit: error: --target: no local emulator is running")
    assert "fix: make deploy STACK=MistralStack KEEP=1" in err and "TARGET=local" not in err


def test_operations_print_the_aws_target_first(moto_env, capsys, profiles_dir):
    with mock_aws():
        assert main(["status", "MistralStack", "--profiles", str(profiles_dir)]) == 1
    captured = capsys.readouterr()
    assert captured.err == "target: AWS account 123456789012, region us-east-1\n"
    assert "not deployed" in captured.out


def test_no_credentials_and_no_emulator_names_both_fixes(tmp_path, monkeypatch, capsys, profiles_dir):
    monkeypatch.chdir(tmp_path)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["status", "MistralStack", "--profiles", str(profiles_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sagefit: error: checking credentials: no AWS credentials found; fix: configure")
    assert "--target local" in err and "TARGET=local" not in err and err.count("\n") == 1


@pytest.mark.slow
def test_operations_reach_a_kept_emulator(tmp_path, monkeypatch, capsys, profiles_dir):
    """The real emulator (moto's server), kept: the operations act on it with --target local."""
    from tests.support.emulator import free_port

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "real-looking")  # must not matter: local is local
    port = free_port()
    lease = lifecycle.acquire(port)
    lease.keep = True
    lifecycle.release(lease)
    try:
        profiles = ["--profiles", str(profiles_dir)]
        assert main(["status", "MistralStack", "--target", "local", *profiles]) == 1
        captured = capsys.readouterr()
        assert captured.err == f"target: local emulator on 127.0.0.1:{port}\n"
        assert "not deployed" in captured.out
        assert main(["invoke", "MistralStack", "Hello", "--target", "local", *profiles]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"target: local emulator on 127.0.0.1:{port}\n") and "deploy MistralStack first" in err
        # resume of a stack whose endpoint the cap may delete: CloudFormation's "does not exist" is no traceback
        assert main(["resume", "Llama2x70bAwqStack", "--target", "local", *profiles]) == 1
        assert "deploy it instead: sagefit deploy Llama2x70bAwqStack" in capsys.readouterr().err
        assert main(["preflight", "MistralStack", "--target", "local", *profiles]) == 1
        captured = capsys.readouterr()
        assert captured.err == f"target: local emulator on 127.0.0.1:{port}\n"
        assert "[ok] credentials: account 123456789012" in captured.out
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        # auto without credentials: the kept emulator
        assert main(["status", "MistralStack", *profiles]) == 1
        assert capsys.readouterr().err == f"target: local emulator on 127.0.0.1:{port}\n"
    finally:
        lifecycle.kept_emulator().stop()


# --------------------------------------------------------------------------- shared endpoints


def test_deploy_and_destroy_a_shared_endpoint_by_name_or_stack(cdk_calls, capsys, profiles_dir):
    context = ["-c", f"sagefit:profiles={profiles_dir}"]
    assert main(["deploy", "small-models", "--profiles", str(profiles_dir), "--target", "aws"]) == 0
    assert main(["destroy", "SmallModelsStack", "--profiles", str(profiles_dir), "--target", "aws"]) == 0
    assert [args for args, _ in cdk_calls] == [
        ["deploy", "SmallModelsStack", *context],
        ["destroy", "SmallModelsStack", *context],
    ]


@pytest.mark.parametrize("command", ["deploy", "destroy"])
def test_a_member_of_a_shared_endpoint_has_no_stack_of_its_own(cdk_calls, capsys, profiles_dir, command):
    assert main([command, "mistral-7b-v0-3", "--profiles", str(profiles_dir), "--target", "aws"]) == 2
    err = capsys.readouterr().err
    assert "mistral-7b-v0.3.yaml: endpoint: mistral-7b-v0-3 is a member of shared endpoint small-models" in err
    assert "fix: name SmallModelsStack" in err and err.count("\n") == 1
    assert cdk_calls == []


# status, preflight and invoke now act on a member (tests/ops/test_shared_ops.py); resume still refuses it
@pytest.mark.parametrize("command", [["resume"]])
def test_operations_refuse_a_member_of_a_shared_endpoint(capsys, profiles_dir, command, moto_env):
    name, *rest = command
    assert main([name, "qwen2-5-7b-instruct", *rest, "--profiles", str(profiles_dir)]) == 2
    err = capsys.readouterr().err
    assert "qwen2.5-7b-instruct.yaml: endpoint: qwen2-5-7b-instruct is a member of shared endpoint small-models" in err
    assert err.count("\n") == 1
