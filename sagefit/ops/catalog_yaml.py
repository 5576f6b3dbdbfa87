"""Round-trip editing of a catalog file: change values, keep everything else the user wrote.

The catalog is the user's file (their comments, their key order, their quoting), so an edit goes
through ruamel.yaml's round-trip mode instead of a dump of plain data: the document is loaded into
comment-carrying mappings and sequences, the caller changes values in place, and it is dumped with
the file's own indentation. Lines are never re-wrapped (a wide ``width``), so a change touches only
the lines whose values changed. Flow mappings (``price: {us-east-1: 1.5}``) stay flow mappings, but
ruamel always writes one on a single line, which is why the packaged catalog keeps one key per line.
"""

from __future__ import annotations

import io
import itertools
import re

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.util import load_yaml_guess_indent

_NEVER_WRAP = 1 << 16
_BLOCK_KEY = re.compile(r"^(?P<indent> *)(?P<dash>- +)?[^\s#\-][^#]*:\s*(#.*)?$")


def _mapping_indent(text: str) -> int | None:
    """Indentation of the first block mapping nested under a key (``key:`` then a deeper ``k: v``).

    ruamel guesses the sequence indentation and uses it for mappings too; a file that indents them
    differently (sequences under 2 + 2, price mappings under 2) would be re-indented without this.
    """
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for line, following in itertools.pairwise(lines):
        match = _BLOCK_KEY.match(line)
        if match is None:
            continue
        key_column = len(match["indent"]) + len(match["dash"] or "")
        indent = len(following) - len(following.lstrip(" "))
        if indent > key_column and not following.lstrip().startswith("-"):
            return indent - key_column
    return None


def _round_trip(text: str) -> YAML:
    """A round-trip YAML instance laid out like ``text``."""
    _, sequence, offset = load_yaml_guess_indent(text)
    sequence = sequence or 2
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = _NEVER_WRAP
    yaml.indent(mapping=_mapping_indent(text) or 2, sequence=sequence, offset=offset or 0)
    return yaml


def load_document(text: str) -> CommentedMap:
    """The catalog as editable, comment-carrying data."""
    document: CommentedMap = _round_trip(text).load(text)
    return document


def dump_document(document: CommentedMap, like: str) -> str:
    """``document`` as YAML text, indented like ``like`` (the text it was loaded from)."""
    out = io.StringIO()
    _round_trip(like).dump(document, out)
    return out.getvalue()
