"""Starting, sharing and stopping the local emulator: who may stop it, and when.

The rule, in one place: sagefit signals a process only if it started it (the PID, start time and
command line in the state file match the live process: :mod:`sagefit.emulator.ownership`), and an
emulator is stopped only when nobody needs it any more:

- every command that uses it holds a *lease* (its own identity in the record's ``owners``) from
  before its first request until it ends, however it ends (success, failure, Ctrl-C);
- a ``KEEP=1`` deploy that succeeds marks it ``kept``; a deploy without KEEP, a failed deploy or an
  interrupted one never clears that mark, so it never stops a kept emulator;
- `destroy` of the last stack clears the mark;
- on release, the emulator stops only if it is not kept and no other live command holds a lease, so
  two concurrent deploys share it and one dying (even killed outright: its lease no longer matches a
  live process) never takes it from the other.

This is reference counting rather than a single owner because deploys overlap in time: a lock file
alone would serialise them (a second deploy would wait minutes), and a single owner cannot hand the
emulator over when it dies. The counts live in the state file, under a ``flock``, so they survive
crashes and are seen by every process.

A record whose process is gone (or is now some other program) is stale: it is removed, and if
something else listens on its port the command stops with a one-line error naming the port and the
state file; that program is never signalled.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from sagefit.core.errors import SagefitError
from sagefit.emulator.ownership import ProcessIdentity, current_process, identify, signal_if_running, wait_for_exit
from sagefit.emulator.requirements import require_moto
from sagefit.emulator.server import DEFAULT_PORT, LOOPBACK, port_in_use
from sagefit.emulator.state import EmulatorRecord, StateStore

STATE_FILE = Path(".sagefit/emulator.json")
LOG_FILE = STATE_FILE.with_name("emulator.log")
SERVER_COMMAND = [sys.executable, "-m", "sagefit.emulator.server"]
"""How the emulator is started (``--port N`` is appended); the tests start a stand-in server."""


def state_store() -> StateStore:
    return StateStore(STATE_FILE)


@dataclass
class Emulator:
    """An emulator sagefit started: by this command (``child`` set), or by an earlier one."""

    process: ProcessIdentity
    port: int
    child: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def endpoint_url(self) -> str:
        return f"http://localhost:{self.port}"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s, to this emulator only; then forget its state file.

        It returns once the emulator has exited, its port free for the next start (or 5 s after the SIGKILL).
        """
        if self._signal(signal.SIGTERM) and not self._exited_within(10):
            self._signal(signal.SIGKILL)
            self._exited_within(5)
        store = state_store()
        record = store.read()
        if record is not None and record.process == self.process:
            store.remove()

    def _signal(self, sig: signal.Signals) -> bool:
        if self.child is not None:  # our own unreaped child: its PID cannot have been reused
            if self.child.poll() is not None:
                return False
            self.child.send_signal(sig)
            return True
        return signal_if_running(self.process, sig)

    def _exited_within(self, seconds: float) -> bool:
        if self.child is not None:
            try:
                self.child.wait(timeout=seconds)
                return True
            except subprocess.TimeoutExpired:
                return False
        # Started by an earlier command: not our child, so no wait(); not "its identity no longer
        # matches" either, which an exiting process reaches before it frees its port (wait_for_exit).
        return wait_for_exit(self.process, seconds)


def start_emulator(port: int = DEFAULT_PORT, timeout_s: float = 60) -> Emulator:
    """Start the emulator in a child process, wait until it accepts connections, record it.

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
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    with LOG_FILE.open("w") as log:
        process = subprocess.Popen(
            [*SERVER_COMMAND, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal must not reach a kept emulator
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
                identity = identify(process.pid) or ProcessIdentity(process.pid, "", ())
                state_store().write(EmulatorRecord(identity, port))
                return Emulator(identity, port, child=process)
            time.sleep(0.2)
        raise SagefitError("the local emulator did not start within a minute", "try again or pass another PORT")
    except BaseException:
        # Its own session shields it from Ctrl-C: a start that fails or is interrupted must end it here.
        if process.poll() is None:
            process.kill()
        process.wait()
        raise


def _foreign_port_error(record: EmulatorRecord) -> SagefitError:
    return SagefitError(
        f"port {record.port} on {LOOPBACK} is in use by a program sagefit did not start ({STATE_FILE} named "
        f"pid {record.process.pid}, which is no longer sagefit's emulator); it was left alone",
        f"stop that program or deploy with another PORT; {STATE_FILE} has been removed",
        field="PORT",
    )


def _live_record(store: StateStore, port: int | None) -> EmulatorRecord | None:
    """The record of a live emulator sagefit started, after dropping a stale one (see the module doc)."""
    record = store.read()
    if record is None:
        return None
    if not (record.process.is_emulator and record.process.is_running()):
        store.remove()  # names no emulator of ours: nothing it names may be signalled
        if port in (None, record.port) and port_in_use(record.port):
            raise _foreign_port_error(record)
        return None
    return record


def kept_emulator() -> Emulator | None:
    """The running emulator sagefit started (kept by ``KEEP=1``, or in use by a deploy), if any."""
    store = state_store()
    if not store.path.exists():
        return None  # a question, not a deploy: it creates no .sagefit/ folder
    with store.locked():
        record = _live_record(store, None)
    return None if record is None else Emulator(record.process, record.port)


@dataclass
class Lease:
    """One command's use of the emulator; ``keep`` is what the command decides on release:
    True keeps it (a KEEP=1 deploy succeeded), False un-keeps it (its last stack was destroyed),
    None leaves the mark as it was (a plain, failed or interrupted deploy)."""

    emulator: Emulator
    owner: ProcessIdentity
    keep: bool | None = None


def acquire(port: int | None, start: bool = True, owner: ProcessIdentity | None = None) -> Lease | None:
    """Lease the emulator: reuse the one sagefit runs, else start one on ``port`` (if ``start``).

    Returns None when none runs and ``start`` is false. An emulator sagefit started that is neither
    kept nor used by a live command is an orphan of a killed deploy: it is stopped and replaced.
    """
    me = owner or current_process()
    store = state_store()
    with store.locked():
        record = _live_record(store, port)
        if record is not None and not record.kept and not record.live_owners():
            Emulator(record.process, record.port).stop()
            record = None
        if record is not None and port is not None and record.port != port:
            # A second emulator would take over the state file and lose track of this one.
            raise SagefitError(
                f"an emulator sagefit started (kept by KEEP=1 or in use by another deploy) runs on port {record.port}",
                f"deploy with PORT={record.port} to use it too, or `make destroy` its stacks first",
                field="PORT",
            )
        if record is not None:
            emulator = Emulator(record.process, record.port)
        elif start and port is not None:
            emulator = start_emulator(port)
            record = store.read()
        else:
            return None
        assert record is not None
        store.write(record.with_owner(me))
    return Lease(emulator, me)


def release(lease: Lease) -> bool:
    """End ``lease``; stop the emulator if it is not kept and no other live command uses it.

    Returns True if the emulator is still running afterwards.
    """
    store = state_store()
    with store.locked():
        record = store.read()
        if record is None or record.process != lease.emulator.process:
            # No longer recorded (the file was removed): nobody else can find it, so our own child
            # would only be orphaned; one started by another command is left to it.
            if lease.emulator.child is not None:
                lease.emulator.stop()
            return False
        record = record.without_owner(lease.owner)
        if lease.keep is not None:
            record = replace(record, kept=lease.keep)
        if record.kept or record.owners:
            store.write(record)
            return True
        lease.emulator.stop()
        return False
