"""Changing a few fields of a profile file in place, keeping everything else as the user wrote it.

`sagefit recommend --write` changes only the fields its recommendation changes. ruamel.yaml's round
trip keeps the file's comments, key order and quoting; the new text is validated as a profile before
it replaces the file in one rename (:func:`sagefit.core.atomic.write_atomically`), so a failed write
or an invalid result leaves the file as it was.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from sagefit.core.atomic import write_atomically
from sagefit.core.catalog import Catalog
from sagefit.core.errors import SagefitError
from sagefit.core.profiles import Profile, parse_profile

DELETE = object()
"""A change's value meaning: remove the field (the profile's default applies)."""

FieldPath = tuple[str, ...]


def check_plain_file(path: Path) -> None:
    """Refuse to rewrite anything but a regular file: a symlink's target, a pipe or a directory is not
    the profile's own file, and replacing it by a rename would change what it is."""
    if path.is_symlink() or not path.is_file():
        raise SagefitError(
            "--write rewrites only a plain profile file, and this is not one (a symlink, a directory or a device)",
            "copy the profile to a regular file and run --write on it, or apply the printed changes by hand",
            path,
        )


def edited_text(text: str, changes: Mapping[FieldPath, Any]) -> str:
    """``text`` (a profile's YAML) with ``changes`` applied, comments and order kept."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    data = yaml.load(text)
    for path, value in changes.items():
        node = data
        for part in path[:-1]:
            if part not in node:
                node[part] = CommentedMap()
            node = node[part]
        if value is DELETE:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def write_changes(path: Path, changes: Mapping[FieldPath, Any], catalog: Catalog | None = None) -> Profile:
    """Apply ``changes`` to the profile file at ``path`` and return the profile it now holds."""
    check_plain_file(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SagefitError(f"cannot read the profile ({exc})", "check the path", path) from None
    new_text = edited_text(text, changes)
    profile = parse_profile(new_text, path, catalog)  # refused here, the file untouched
    write_atomically(path, new_text, "the profile")
    return profile
