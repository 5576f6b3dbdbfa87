"""Writing a file in one rename, so readers see the old file or the new one, never half of it.

Shared by `sagefit prices refresh` (the catalog) and `sagefit cost --plot` (the PNG). Standard library
only: it sits on paths that must stay light.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sagefit.core.errors import SagefitError


def _new_file_mode() -> int:
    """The mode ``open()`` would give a new file under the current umask (mkstemp uses 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: Path, data: str | bytes, what: str = "the file") -> None:
    """Replace ``path`` with ``data`` through a temporary file beside it and one rename.

    An existing file keeps its permissions; a new one gets the usual ones. A failure leaves the old
    file (or none) in place, removes the temporary file, and is raised as a one-line
    :class:`SagefitError` naming ``path``.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else _new_file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        reason = exc.strerror or str(exc)
        raise SagefitError(
            f"cannot write {what} ({reason}); it was left as it was",
            "check the path, its permissions and free space",
            path,
        ) from None
    except BaseException:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise
