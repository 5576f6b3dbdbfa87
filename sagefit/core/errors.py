"""Errors a user can act on.

Every failure a user can cause (a bad profile, a model that fits nowhere, an unknown stack) is raised
as :class:`SagefitError`, which renders as one line naming the file, the field and the fix. The CLI and
the CDK app print that line and exit with code 2 instead of showing a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_USAGE = 2


@dataclass
class SagefitError(Exception):
    """A problem with the user's input, rendered as ``file: field: problem; fix: ...``."""

    problem: str
    fix: str = ""
    source: Path | str | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.source is not None:
            parts.append(str(self.source))
        if self.field:
            parts.append(self.field)
        parts.append(self.problem)
        line = ": ".join(parts)
        if self.fix:
            line += f"; fix: {self.fix}"
        return _printable(" ".join(line.split()))


def _printable(line: str) -> str:
    """``line`` with control characters (a NUL or an escape sequence from a file name or a value)
    shown as ``\\xNN``, so the one line is one line on every terminal and prints nothing it hides."""
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in line)
