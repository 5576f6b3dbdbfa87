"""Whether the local emulator can run here: moto is an optional dependency (the ``local`` extra).

``pip install sagefit`` leaves moto out, since deploying to AWS does not need it. Without this check
a local deploy would start the emulator's child process, which dies on ``import moto`` and leaves a
log line to decode; :func:`require_moto` turns that into a one-line error naming the extra. It only
reads installed package metadata, so it imports neither moto nor flask and costs nothing on the
planning path.
"""

from __future__ import annotations

from importlib import metadata

from sagefit.core.errors import SagefitError

INSTALL = "pip install 'sagefit[local]'"

MOTO_VERSION = "5.2.5"
"""The moto release sagefit/emulator/moto_ext/ patches (it replaces moto internals by name, so
another release may not deploy the stacks); pyproject.toml's ``local`` extra pins the same one."""

SERVER_DISTRIBUTIONS = ("flask", "flask-cors")
"""What moto's ``server`` extra adds that ``ThreadedMotoServer`` cannot start without:
moto/moto_server/werkzeug_app.py (moto 5.2.5) imports ``flask`` and ``flask_cors`` and re-raises
the ImportError with "ensure that you install moto[server]"."""


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def require_moto() -> None:
    """Raise a one-line :class:`SagefitError` unless moto[server] at :data:`MOTO_VERSION` is installed.

    Call it before starting the emulator (``sagefit deploy`` once the target resolves to local).
    """
    found = _installed("moto")
    if found is None:
        raise SagefitError(
            "the local emulator (--target local) needs moto, which is not installed",
            f"{INSTALL}, or deploy to AWS with --target aws",
        )
    if found != MOTO_VERSION:
        raise SagefitError(f"the local emulator needs moto {MOTO_VERSION}, found {found}", INSTALL)
    missing = [name for name in SERVER_DISTRIBUTIONS if _installed(name) is None]
    if missing:
        raise SagefitError(
            f"the local emulator needs moto's server extra ({', '.join(missing)} not installed)", INSTALL
        )
