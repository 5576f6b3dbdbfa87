"""``.sagefit/emulator.json``: which emulator sagefit started, whether it is kept, and who uses it now.

The record holds the emulator's identity (PID, start time, command line: see
:mod:`sagefit.emulator.ownership`), its port, ``kept`` (a ``KEEP=1`` deploy succeeded, so its stacks
must outlive the command) and ``owners``: the identities of the sagefit commands using it right now.
Owners are a reference count that survives crashes: a command killed outright (SIGKILL, a closed
terminal) cannot remove itself, but its entry stops matching a live process, so the next reader drops
it. A lock file (``flock``) serialises every read-modify-write of the record, so two deploys started
together see each other: the second reuses the emulator the first started rather than racing it.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from sagefit.core.atomic import write_atomically
from sagefit.emulator.ownership import ProcessIdentity


@dataclass(frozen=True)
class EmulatorRecord:
    """The state file's content."""

    process: ProcessIdentity
    port: int
    kept: bool = False
    owners: tuple[ProcessIdentity, ...] = field(default_factory=tuple)

    def live_owners(self) -> tuple[ProcessIdentity, ...]:
        return tuple(owner for owner in self.owners if owner.is_running())

    def with_owner(self, owner: ProcessIdentity) -> EmulatorRecord:
        return replace(self, owners=(*self.live_owners(), owner))

    def without_owner(self, owner: ProcessIdentity) -> EmulatorRecord:
        return replace(self, owners=tuple(o for o in self.live_owners() if o != owner))

    def to_json(self) -> str:
        return json.dumps(
            {
                **self.process.to_json(),
                "port": self.port,
                "kept": self.kept,
                "owners": [owner.to_json() for owner in self.owners],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> EmulatorRecord:
        """Raises ValueError, KeyError or TypeError for anything but a complete record."""
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("kept", False), bool):
            raise TypeError("not a record")
        return cls(
            process=ProcessIdentity.from_json(data),
            port=int(data["port"]),
            kept=data.get("kept", False),
            owners=tuple(ProcessIdentity.from_json(owner) for owner in data.get("owners", [])),
        )


class StateStore:
    """The state file at ``path`` and its lock file beside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_suffix(".lock")

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the lock (blocking) while reading, deciding and writing."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read(self) -> EmulatorRecord | None:
        """The record, or None if there is none. An unreadable file names nothing sagefit can
        verify, so it is removed (what it pointed at is never signalled)."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        try:
            return EmulatorRecord.from_json(text)
        except (ValueError, KeyError, TypeError):
            self.remove()
            return None

    def write(self, record: EmulatorRecord) -> None:
        write_atomically(self.path, record.to_json(), "the emulator state file")

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
