"""The local AWS emulator: moto's server on 127.0.0.1 with sagefit's moto extensions installed.

Run as ``python -m sagefit.emulator.server --port 5055``. It binds the loopback address only, so
nothing outside this machine can reach it, and it holds all state in memory: stopping it forgets
every stack deployed to it.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 5055


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    """True if something already listens on ``host:port`` (a clash we report instead of crashing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def serve(port: int) -> None:
    """Serve until SIGTERM/SIGINT."""
    from moto.server import ThreadedMotoServer

    from sagefit.emulator.moto_ext import install_moto_extensions

    install_moto_extensions()
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
    server.start()
    print(f"sagefit emulator listening on {LOOPBACK}:{port}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    if port_in_use(args.port):
        print(f"sagefit: error: port {args.port} on {LOOPBACK} is already in use; fix: pass another "
              "port (make deploy PORT=...) or stop what listens there", file=sys.stderr)
        return 2
    serve(args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
