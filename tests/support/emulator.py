"""Stand-ins for the local emulator's processes: a tiny TCP server that sagefit starts as its emulator
(its command line names ``sagefit.emulator.server``, as the real one's does), and an unrelated one.

They start in a fraction of a second where moto's server takes seconds, and they answer signals as
the real one does, so the lifecycle tests exercise the real state file, leases and signals.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

SERVER_CODE = """
import signal, socket, sys, time
port = int(sys.argv[sys.argv.index("--port") + 1])
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", port))
sock.listen(16)
signal.signal(signal.SIGTERM, lambda *_: (time.sleep(STOP_SECONDS), sys.exit(0)))
while True:
    conn, _ = sock.accept()
    conn.close()
"""


def stand_in_command(stop_seconds: float = 0) -> list[str]:
    """The stand-in emulator's command; it takes ``stop_seconds`` to shut down after SIGTERM, still
    listening meanwhile (moto's server finishes its requests and joins its threads)."""
    return [sys.executable, "-c", SERVER_CODE.replace("STOP_SECONDS", repr(stop_seconds)), "sagefit.emulator.server"]


STAND_IN_COMMAND = stand_in_command()
"""What the tests put in ``lifecycle.SERVER_COMMAND``: sagefit starts it as it would the emulator."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def foreign_server(port: int) -> subprocess.Popen[bytes]:
    """Some other program listening on ``port`` (not started by sagefit), running until killed."""
    process = subprocess.Popen([sys.executable, "-c", SERVER_CODE.replace("STOP_SECONDS", "0"), "--port", str(port)])
    deadline = time.monotonic() + 10
    while not listening(port):
        assert process.poll() is None and time.monotonic() < deadline, "the stand-in server did not start"
        time.sleep(0.05)
    return process


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
