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


def check_port(port: int, option: str = "--port") -> int:
    """``port`` if it is a TCP port number, else a one-line error naming ``option``."""
    from sagefit.core.errors import SagefitError

    if not 1 <= port <= 65535:
        raise SagefitError(
            f"{port} is not a TCP port", f"pass a port from 1024 to 65535, e.g. {DEFAULT_PORT}", field=option
        )
    return port


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
    from sagefit.core.errors import SagefitError
    from sagefit.emulator.requirements import require_moto

    try:
        require_moto()  # a plain `pip install sagefit` has no moto: say which extra to install
        check_port(args.port)
    except SagefitError as exc:
        print(f"sagefit: error: {exc}", file=sys.stderr)
        return 2
    if port_in_use(args.port):
        print(
            f"sagefit: error: port {args.port} on {LOOPBACK} is already in use; fix: pass another "
            "port (make deploy PORT=...) or stop what listens there",
            file=sys.stderr,
        )
        return 2
    serve(args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
