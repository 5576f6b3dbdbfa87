"""The local target's emulator: a port clash, a kept emulator found through its state file, deploys and
destroys that must neither orphan nor stop it, and the ownership rule (sagefit signals only a process
it started, checked by start time and command line, never by PID alone).

The emulator here is a stand-in TCP server (tests/support/emulator.py) started by the real
``start_emulator``, so the state file, the leases and the signals are all real.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from sagefit.core.errors import SagefitError
from sagefit.emulator import lifecycle, local_target, ownership
from sagefit.emulator.local_target import start_emulator
from sagefit.emulator.ownership import ProcessIdentity, identify, signal_if_running
from tests.support.emulator import STAND_IN_COMMAND, alive, foreign_server, free_port, listening, stand_in_command
from tests.support.paths import REPO_ROOT

REGION = "us-east-1"
OUTPUTS = {"EndpointName": "mistral-7b"}


def test_emulator_port_clash_is_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        with pytest.raises(SagefitError, match=f"port {port} on 127.0.0.1 is already in use"):
            start_emulator(port)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory as the current one (the state file is .sagefit/emulator.json in it), with
    the stand-in server as the emulator sagefit starts; every emulator left is stopped afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(lifecycle, "SERVER_COMMAND", STAND_IN_COMMAND)
    yield tmp_path
    record = lifecycle.state_store().read()
    if record is not None:
        signal_if_running(record.process, signal.SIGKILL)


@pytest.fixture
def kept(project):
    """An emulator a KEEP=1 deploy left running: (its identity, its port)."""
    port = free_port()
    lease = lifecycle.acquire(port)
    lease.keep = True
    assert lifecycle.release(lease)
    record = lifecycle.state_store().read()
    assert record.kept and record.owners == ()
    return record.process, port


class FakeSageMaker:
    def describe_endpoint(self, EndpointName):
        return {"EndpointStatus": "InService"}


@pytest.fixture
def fake_cdk(monkeypatch):
    """LocalTarget without the CDK CLI: ``deploys`` lists what each deploy does (return its outputs,
    or raise what is queued)."""
    outcomes: list[BaseException | None] = []
    monkeypatch.setattr(local_target.LocalTarget, "bootstrap", lambda self: None)
    monkeypatch.setattr(local_target.LocalTarget, "client", lambda self, service: FakeSageMaker())

    def deploy(self, stack, context=None):
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome
        return dict(OUTPUTS)

    monkeypatch.setattr(local_target.LocalTarget, "deploy", deploy)
    return outcomes


# --------------------------------------------------------------------------- the state file


def test_a_kept_emulator_is_found_and_an_unreadable_state_file_ignored(kept):
    process, port = kept
    found = local_target.kept_emulator()
    assert (found.pid, found.port, found.child) == (process.pid, port, None)
    assert process.cmdline[-2:] == ("--port", str(port)) and process.is_emulator
    try:
        lifecycle.STATE_FILE.write_text('{"pid": 42')  # cut short
        assert local_target.kept_emulator() is None
        assert not lifecycle.STATE_FILE.exists()
        assert alive(process.pid)  # forgotten, but never signalled on the word of a broken file
    finally:
        signal_if_running(process, signal.SIGKILL)  # the fixture can no longer find it through the file


def test_deploy_on_another_port_than_the_kept_emulator_is_refused(kept, monkeypatch):
    process, port = kept
    before = lifecycle.STATE_FILE.read_text()
    monkeypatch.setattr(lifecycle, "start_emulator", lambda *_: pytest.fail("would orphan the kept emulator"))
    with pytest.raises(SagefitError, match=f"runs on port {port}; fix: deploy with PORT={port}"):
        local_target.deploy_local("MistralStack", REGION, port + 1, keep=False)
    assert lifecycle.STATE_FILE.read_text() == before and alive(process.pid)


def test_a_failed_destroy_keeps_the_emulator_and_its_other_stacks(kept, monkeypatch):
    process, port = kept

    def cdk_fails(args, env, what):
        raise SagefitError(f"`cdk {what}` failed (exit 1)")

    monkeypatch.setattr(local_target, "run_cdk", cdk_fails)
    with pytest.raises(SagefitError, match="cdk destroy MistralStack"):
        local_target.destroy_local("MistralStack", REGION)
    assert alive(process.pid) and lifecycle.state_store().read().kept
    monkeypatch.setattr(local_target, "run_cdk", lambda *_: None)
    monkeypatch.setattr(local_target.LocalTarget, "deployed_stacks", lambda self: ["ZephyrStack"])
    assert local_target.destroy_local("MistralStack", REGION) == ["ZephyrStack"]
    assert alive(process.pid)
    monkeypatch.setattr(local_target.LocalTarget, "deployed_stacks", lambda self: [])
    assert local_target.destroy_local("MistralStack", REGION) == []
    assert not alive(process.pid) and not listening(port)  # the last stack is gone: the emulator stops
    assert not lifecycle.STATE_FILE.exists()


# --------------------------------------------------------------------------- the four loss cases


def test_a_deploy_without_keep_reuses_the_kept_emulator_and_leaves_it_up(kept, fake_cdk):
    process, port = kept
    result = local_target.deploy_local("ZephyrStack", REGION, port, keep=False)
    assert result.still_running and result.emulator_url == f"http://localhost:{port}"
    assert alive(process.pid) and lifecycle.state_store().read().kept


def test_a_failed_deploy_leaves_a_kept_emulator_up(kept, fake_cdk):
    process, port = kept
    fake_cdk.append(SagefitError("`cdk deploy ZephyrStack` failed (exit 1)"))
    with pytest.raises(SagefitError):
        local_target.deploy_local("ZephyrStack", REGION, port, keep=True)
    assert alive(process.pid)
    record = lifecycle.state_store().read()
    assert record.kept and record.owners == ()  # its lease was released, the mark kept


def test_ctrl_c_during_a_second_keep_deploy_leaves_the_kept_emulator_up(kept, fake_cdk):
    process, port = kept
    assert os.getsid(process.pid) != os.getsid(0)  # its own session: the terminal's SIGINT never reaches it
    fake_cdk.append(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        local_target.deploy_local("ZephyrStack", REGION, port, keep=True)
    assert alive(process.pid) and lifecycle.state_store().read().kept


def test_a_failed_first_deploy_stops_the_emulator_it_started(project, fake_cdk):
    port = free_port()
    fake_cdk.append(SagefitError("`cdk deploy MistralStack` failed (exit 1)"))
    with pytest.raises(SagefitError):
        local_target.deploy_local("MistralStack", REGION, port, keep=True)
    assert not listening(port) and not lifecycle.STATE_FILE.exists()


OTHER_DEPLOY = textwrap.dedent(
    """
    import sys, time
    from sagefit.emulator import lifecycle
    lease = lifecycle.acquire(int(sys.argv[1]))
    print("leased", flush=True)
    if sys.argv[2] == "release":
        lifecycle.release(lease)
        print("released", flush=True)
    time.sleep(60)
    """
)


def _other_deploy(project, port: int, then: str) -> subprocess.Popen[str]:
    """Another sagefit process using the emulator on ``port`` (a concurrent deploy)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", OTHER_DEPLOY, str(port), then], cwd=project, env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline() == "leased\n"
    if then == "release":
        assert process.stdout.readline() == "released\n"
    return process


def test_concurrent_deploys_share_the_emulator_and_one_dying_does_not_take_it_down(project):
    """Reference counting: each deploy holds a lease (its identity in the record's owners). The emulator
    stops only when it is not kept and no live deploy holds a lease, so a killed deploy, whose lease
    no longer matches a live process, never stops it under another."""
    port = free_port()
    mine = lifecycle.acquire(port)  # this deploy starts it (not kept)
    emulator = mine.emulator
    other = _other_deploy(project, port, then="wait")
    try:
        assert len(lifecycle.state_store().read().owners) == 2
        other.kill()  # the other deploy dies outright: no release, no cleanup
        other.wait()
        assert alive(emulator.pid) and listening(port)
        assert not lifecycle.release(mine)  # the last live user, nothing kept: now it stops
        assert not listening(port)
    finally:
        other.kill()

    # The starter ending first: the emulator stays up for the deploy still using it.
    mine = lifecycle.acquire(port)
    emulator = mine.emulator
    other = _other_deploy(project, port, then="wait")
    try:
        assert lifecycle.release(mine) and alive(emulator.pid)
        other.kill()
        other.wait()
        # Neither kept nor used by a live command: an orphan, stopped and replaced by the next deploy.
        again = lifecycle.acquire(port)
        assert again.emulator.pid != emulator.pid and not alive(emulator.pid)
        assert not lifecycle.release(again)
    finally:
        other.kill()


def test_a_concurrent_deploy_that_fails_leaves_the_emulator_to_the_other(project, fake_cdk):
    port = free_port()
    mine = lifecycle.acquire(port)
    other = _other_deploy(project, port, then="release")  # it failed and released its lease
    try:
        assert alive(mine.emulator.pid) and listening(port)
        mine.keep = True
        assert lifecycle.release(mine)
    finally:
        other.kill()
    assert alive(mine.emulator.pid)


# --------------------------------------------------------------------------- processes sagefit did not start


def test_a_stale_state_file_never_signals_the_program_now_on_that_port(project):
    port = free_port()
    foreign = foreign_server(port)
    try:
        identity = identify(foreign.pid)
        assert identity is not None and not identity.is_emulator
        # A stale record: the PID and port of that program, as if an emulator had had them.
        stale = {
            "pid": foreign.pid,
            "start_time": "1",
            "cmdline": [*STAND_IN_COMMAND, "--port", str(port)],
            "port": port,
            "kept": True,
            "owners": [],
        }
        lifecycle.STATE_FILE.parent.mkdir()
        lifecycle.STATE_FILE.write_text(json.dumps(stale))
        with pytest.raises(SagefitError) as caught:
            local_target.deploy_local("MistralStack", REGION, port, keep=True)
        message = str(caught.value)
        assert f"port {port} on 127.0.0.1 is in use by a program sagefit did not start" in message
        assert str(lifecycle.STATE_FILE) in message and "\n" not in message
        assert not lifecycle.STATE_FILE.exists()
        # Its real identity in the file changes nothing: its command line is not the emulator's.
        for command in (lambda: local_target.destroy_local("MistralStack", REGION), lambda: lifecycle.acquire(port)):
            lifecycle.STATE_FILE.write_text(json.dumps({**identity.to_json(), "port": port, "kept": True}))
            with pytest.raises(SagefitError, match="did not start"):
                command()
        # With the stale file gone, the port is simply busy: still one line, still nothing signalled.
        with pytest.raises(SagefitError, match=f"port {port} on 127.0.0.1 is already in use"):
            lifecycle.acquire(port)
        assert foreign.poll() is None and listening(port)  # never signalled
    finally:
        foreign.kill()
        foreign.wait()


def test_stop_signals_only_the_recorded_process(project):
    port = free_port()
    foreign = foreign_server(port)
    try:
        real = identify(foreign.pid)
        for impostor in (
            ProcessIdentity(real.pid, str(int(real.start_time) + 1), real.cmdline),  # the PID, reused
            ProcessIdentity(real.pid, real.start_time, (*real.cmdline, "x")),
        ):
            lifecycle.Emulator(impostor, port).stop()
            assert not signal_if_running(impostor, signal.SIGTERM)
        assert foreign.poll() is None
        assert signal_if_running(real, signal.SIGTERM)
        assert foreign.wait(timeout=10) == 0
    finally:
        foreign.kill()


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "polling"])
def test_stop_returns_once_the_emulator_has_exited_not_once_its_command_line_is_gone(project, monkeypatch, pidfd):
    """Linux empties /proc/PID/cmdline when an exiting process frees its memory, before it closes its
    socket and becomes a zombie (kernel/exit.c: exit_mm, exit_files, exit_notify); under load that
    lasts milliseconds, and a stop that took "no longer matches its identity" for "exited" returned
    with the port still bound (the last `destroy`, then a deploy's start, failed now and then). Here
    that stretch is a second long: the stand-in takes a second to shut down and, from the SIGTERM on,
    its command line reads empty."""
    port = free_port()
    monkeypatch.setattr(lifecycle, "SERVER_COMMAND", stand_in_command(stop_seconds=1))
    lease = lifecycle.acquire(port)
    lease.keep = True
    assert lifecycle.release(lease)
    emulator = local_target.kept_emulator()  # started by an earlier command: not this one's child
    assert emulator is not None and emulator.child is None
    if not pidfd:  # where there are no pidfds (macOS, Linux before 5.3) it polls
        monkeypatch.delattr(os, "pidfd_open", raising=False)
    exiting: set[int] = set()
    sent: list[signal.Signals] = []
    real_identify, real_signal = ownership.identify, lifecycle.signal_if_running

    def identify_while_exiting(pid: int) -> ProcessIdentity | None:
        found = real_identify(pid)
        return ProcessIdentity(pid, found.start_time, ()) if found and pid in exiting else found

    def signal_then_exit(process: ProcessIdentity, sig: signal.Signals) -> bool:
        delivered = real_signal(process, sig)
        sent.append(sig)
        exiting.add(process.pid)
        return delivered

    monkeypatch.setattr(ownership, "identify", identify_while_exiting)
    monkeypatch.setattr(lifecycle, "signal_if_running", signal_then_exit)
    emulator.stop()
    assert sent == [signal.SIGTERM]  # it exited in time: no SIGKILL was tried
    assert not listening(port) and not alive(emulator.pid)
    assert not lifecycle.STATE_FILE.exists()


def test_without_proc_or_pidfds_ps_tells_an_exited_process_from_a_running_one(monkeypatch):
    """macOS has neither /proc nor pidfds: there ``ps`` gives each process's start time and state."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        while alive(child.pid):  # until it has exited: unreaped, it stays a zombie
            time.sleep(0.01)
        monkeypatch.setattr(ownership, "_has_proc", lambda: False)
        monkeypatch.delattr(os, "pidfd_open", raising=False)
        me = ownership.identify(os.getpid())  # through ps now
        assert me is not None and not ownership.wait_for_exit(me, 0.2)  # still running
        zombie = ownership._start_and_state(child.pid)
        assert zombie is not None and zombie[1] == "Z"
        assert ownership.wait_for_exit(ProcessIdentity(child.pid, zombie[0], ()), 0)
    finally:
        child.wait()
    assert ownership.wait_for_exit(ProcessIdentity(child.pid, zombie[0], ()), 0)  # reaped: gone


def test_a_dead_emulator_in_the_state_file_is_forgotten_and_a_new_one_started(project):
    port = free_port()
    first = lifecycle.acquire(port)
    first.emulator.child.kill()
    first.emulator.child.wait()
    second = lifecycle.acquire(port)
    assert second.emulator.pid != first.emulator.pid and listening(port)
    assert not lifecycle.release(second)
