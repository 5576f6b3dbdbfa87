"""Which process is which: a PID plus its start time and command line, so sagefit signals only its own.

A PID alone names whatever process holds that number *now*: once sagefit's emulator has exited, a
stale ``.sagefit/emulator.json`` would point a later ``stop`` at an unrelated program that reused
the PID (or that simply listens on the same port). So sagefit records the process's identity when it
starts it, and before every signal checks that the process at that PID still has the same start
time and command line.

On Linux both come from /proc: ``/proc/PID/cmdline`` (NUL-separated argv) and field 22 of
``/proc/PID/stat`` (``starttime``, clock ticks after boot; proc(5)). Elsewhere (macOS, BSD) they
come from ``ps -o lstart= -o command=``. Where neither works a process is never considered ours.

Whether a process has *exited* is another question, answered by :func:`wait_for_exit`: an exiting
process stops matching its identity before it has let go of its port (see there).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EMULATOR_MODULE = "sagefit.emulator.server"
"""Every emulator sagefit starts runs ``python -m sagefit.emulator.server``: part of its command line."""
_STAT_STARTTIME = 21
"""0-based index of field 22 (starttime) in /proc/PID/stat, counting from field 1 (pid); proc(5)."""
_STAT_STATE = 2
"""0-based index of field 3 (state: R, S, D, Z zombie, X dead, ...) in /proc/PID/stat; proc(5)."""
_EXITED_STATES = ("Z", "X")


@dataclass(frozen=True)
class ProcessIdentity:
    """A process as it was when recorded: the same PID with another start time is another process."""

    pid: int
    start_time: str
    cmdline: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "start_time": self.start_time, "cmdline": list(self.cmdline)}

    @classmethod
    def from_json(cls, data: Any) -> ProcessIdentity:
        """Raises KeyError, TypeError or ValueError for a record that is not an identity."""
        cmdline = data["cmdline"]
        if not isinstance(cmdline, list) or not all(isinstance(arg, str) for arg in cmdline):
            raise TypeError("cmdline must be a list of strings")
        return cls(pid=int(data["pid"]), start_time=str(data["start_time"]), cmdline=tuple(cmdline))

    @property
    def is_emulator(self) -> bool:
        return EMULATOR_MODULE in self.cmdline

    def is_running(self) -> bool:
        """Whether this very process (same PID, start time and command line) is still alive."""
        return identify(self.pid) == self


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` (field 2, the command name, as ``comm``); None if unreadable."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces or ')'.
    return [stat[: stat.index(" ")], "comm", *stat[stat.rindex(")") + 2 :].split()]


def _has_proc() -> bool:
    return Path("/proc/self/stat").exists()


def identify(pid: int) -> ProcessIdentity | None:
    """The identity of the process holding ``pid`` now; None if there is none, or it cannot be read."""
    if pid <= 0:
        return None
    if _has_proc():
        fields = _proc_stat(pid)
        try:
            raw = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        except OSError:
            return None
        if fields is None:
            return None
        cmdline = tuple(arg.decode(errors="replace") for arg in raw.split(b"\0") if arg)
        return ProcessIdentity(pid, fields[_STAT_STARTTIME], cmdline)
    return _identify_with_ps(pid)


def _identify_with_ps(pid: int) -> ProcessIdentity | None:
    try:
        result = subprocess.run(
            ["ps", "-o", "lstart=", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    line = result.stdout.strip()
    if result.returncode != 0 or not line:
        return None
    # lstart is a fixed five-word date ("Mon Jan  1 10:00:00 2025"); the command follows.
    words = line.split()
    return ProcessIdentity(pid, " ".join(words[:5]), tuple(words[5:]))


def _start_and_state(pid: int) -> tuple[str, str] | None:
    """(start time, state letter) of the process holding ``pid`` now; None if there is none.

    Unlike :func:`identify` it reads no command line, which an exiting process has already lost.
    """
    if pid <= 0:
        return None
    if _has_proc():
        fields = _proc_stat(pid)
        return None if fields is None else (fields[_STAT_STARTTIME], fields[_STAT_STATE])
    return _start_and_state_with_ps(pid)


def _start_and_state_with_ps(pid: int) -> tuple[str, str] | None:
    try:
        result = subprocess.run(
            ["ps", "-o", "stat=", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    words = result.stdout.split()
    if result.returncode != 0 or len(words) < 6:
        return None
    # stat is one word whose first letter is the state (Z: zombie); lstart the five words after it.
    return " ".join(words[1:6]), words[0][0]


def _gone(process: ProcessIdentity, found: tuple[str, str] | None) -> bool:
    """Reaped, or its PID now names a process started at another time (reused after it was reaped)."""
    return found is None or found[0] != process.start_time


def wait_for_exit(process: ProcessIdentity, timeout_s: float) -> bool:
    """Wait until ``process`` has exited completely (its sockets closed); False if it still runs after
    ``timeout_s``.

    "Exited" is not "no longer matches its identity": Linux empties /proc/PID/cmdline as soon as an
    exiting process releases its memory (``exit_mm`` in kernel/exit.c), before it closes its files,
    and with them its listening socket (``exit_files``), and before it becomes a zombie
    (``exit_notify``). Freeing a Python process's memory takes milliseconds on a loaded machine, and a
    stop that returned in that stretch left the port bound under the next start. So the process
    counts as exited once a pidfd for it is readable (Linux 5.3+: every thread has exited; pidfd_open(2)),
    elsewhere once it is reaped or a zombie, polled by PID and start time.
    """
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None:
        try:
            fd = pidfd_open(process.pid)
        except ProcessLookupError:
            return True  # reaped already
        except OSError:
            pass  # pidfds unsupported here (ENOSYS before Linux 5.3): poll below
        else:
            try:
                # Checked after opening: if the start time still matches, the pidfd names this very process.
                if _gone(process, _start_and_state(process.pid)):
                    return True
                poller = select.poll()
                poller.register(fd, select.POLLIN)
                return bool(poller.poll(max(0, round(timeout_s * 1000))))
            finally:
                os.close(fd)
    deadline = time.monotonic() + timeout_s
    while True:
        found = _start_and_state(process.pid)
        if _gone(process, found) or (found is not None and found[1] in _EXITED_STATES):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def current_process() -> ProcessIdentity:
    """This process's identity (a deploy records it as an owner of the emulator it uses)."""
    found = identify(os.getpid())
    return found if found is not None else ProcessIdentity(os.getpid(), "", ())


def signal_if_running(process: ProcessIdentity, sig: signal.Signals) -> bool:
    """Send ``sig`` to ``process`` only if it is still the recorded process; True if sent.

    With pidfd (Linux 5.3+) the check and the signal cannot race: the descriptor is opened first and
    keeps naming the process it was opened for, so a PID reused after the check is never hit.
    """
    pidfd_open = getattr(os, "pidfd_open", None)
    send = getattr(signal, "pidfd_send_signal", None)
    if pidfd_open is not None and send is not None:
        try:
            fd = pidfd_open(process.pid)
        except OSError:
            return False  # gone already
        try:
            if not process.is_running():
                return False
            send(fd, sig)
            return True
        except ProcessLookupError:
            return False
        finally:
            os.close(fd)
    if not process.is_running():
        return False
    try:
        os.kill(process.pid, sig)
    except ProcessLookupError:
        return False
    return True
