"""Reading a user's YAML file: safe, strict about duplicate keys, and failing in one line.

PyYAML keeps the last of two equal keys in a mapping without a word, so a profile that sets
``max_capacity`` twice deploys whichever came last, and a catalog row with two ``price`` mappings
loses one. Profiles and catalogs are read with :class:`UniqueKeyLoader` instead, which refuses the
second key and names both lines. Every YAML problem becomes one :class:`SagefitError` naming the
file and the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from sagefit.core.errors import SagefitError

# The C parser where PyYAML was built with libyaml (it reads the packaged catalog on every start-up
# several times faster); the construction, where duplicates are found, is Python either way.
_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(ConstructorError):
    """A mapping that repeats a key; ``problem_mark`` is the repeated key's position."""


class UniqueKeyLoader(_BASE):  # type: ignore[valid-type,misc]
    """PyYAML's safe loader, refusing a mapping that holds the same key twice (merge keys ``<<``
    still merge: only keys written in the mapping itself are compared)."""

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:  # an unhashable key: PyYAML's own check below reports it
                    continue
                if first is not key_node:
                    raise DuplicateKeyError(
                        None,
                        None,
                        f"duplicate key {key!r} (first set at line {first.start_mark.line + 1})",
                        key_node.start_mark,
                    )
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def load_yaml(text: str, source: Path | str, fix: str = "fix the YAML syntax there") -> Any:
    """The data in ``text`` (read from ``source``), or a one-line :class:`SagefitError` naming the line.

    A duplicate key is refused with its own fix; any other YAML error names where PyYAML stopped.
    """
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}" if mark is not None else "somewhere"
        raise SagefitError(
            f"{exc.problem} at {where}", "keep one of the two: the last one would win silently", source
        ) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a control character)
        line = text[: exc.position].count("\n") + 1
        character = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        raise SagefitError(
            f"malformed YAML at line {line}: character {character!r} is not allowed in YAML",
            "remove it, or quote the value with its escape",
            source,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        reason = getattr(exc, "problem", None) or "malformed YAML"
        raise SagefitError(f"malformed YAML at {where}: {reason}", fix, source) from None
    except RecursionError:  # nesting deep enough to exhaust the stack
        raise SagefitError("the YAML nests too deeply to read", fix, source) from None
