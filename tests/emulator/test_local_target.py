"""The local target's emulator: a port clash, a kept emulator found through its state file, and
deploys and destroys that must neither orphan nor stop it."""

from __future__ import annotations

import json
import socket

import pytest

from sagefit.core.errors import SagefitError
from sagefit.emulator.local_target import start_emulator

REGION = "us-east-1"


def test_emulator_port_clash_is_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        with pytest.raises(SagefitError, match=f"port {port} on 127.0.0.1 is already in use"):
            start_emulator(port)


@pytest.fixture
def emulator_state(tmp_path, monkeypatch):
    """The local target's state file in a temp folder, and a socket listening where a kept emulator would."""
    from sagefit.emulator import local_target

    monkeypatch.setattr(local_target, "STATE_FILE", tmp_path / "emulator.json")
    monkeypatch.setattr(local_target, "LOG_FILE", tmp_path / "emulator.log")
    stopped: list[int] = []
    monkeypatch.setattr(local_target.Emulator, "stop", lambda self: stopped.append(self.port))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        local_target.STATE_FILE.write_text(json.dumps({"pid": 4242, "port": port}))
        yield local_target, port, stopped


def test_a_kept_emulator_is_found_and_an_unreadable_state_file_ignored(emulator_state):
    local_target, port, _ = emulator_state
    kept = local_target.running_emulator()
    assert (kept.pid, kept.port, kept.process) == (4242, port, None)
    local_target.STATE_FILE.write_text('{"pid": 42')  # cut short
    assert local_target.running_emulator() is None
    assert not local_target.STATE_FILE.exists()


def test_deploy_on_another_port_than_the_kept_emulator_is_refused(emulator_state, monkeypatch):
    local_target, port, stopped = emulator_state
    before = local_target.STATE_FILE.read_text()
    monkeypatch.setattr(local_target, "start_emulator", lambda *_: pytest.fail("would orphan the kept emulator"))
    with pytest.raises(SagefitError, match=f"runs on port {port}; fix: deploy with PORT={port}"):
        local_target.deploy_local("MistralStack", REGION, port + 1, keep=False)
    assert local_target.STATE_FILE.read_text() == before and stopped == []


def test_a_failed_destroy_keeps_the_emulator_and_its_other_stacks(emulator_state, monkeypatch):
    local_target, port, stopped = emulator_state

    def cdk_fails(args, env, what):
        raise SagefitError(f"`cdk {what}` failed (exit 1)")

    monkeypatch.setattr(local_target, "run_cdk", cdk_fails)
    with pytest.raises(SagefitError, match="cdk destroy MistralStack"):
        local_target.destroy_local("MistralStack", REGION)
    assert stopped == []
    monkeypatch.setattr(local_target, "run_cdk", lambda *_: None)
    monkeypatch.setattr(local_target.LocalTarget, "deployed_stacks", lambda self: [])
    assert local_target.destroy_local("MistralStack", REGION) == []
    assert stopped == [port]  # the last stack is gone: the emulator stops
