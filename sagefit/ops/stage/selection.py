"""Which of a Hub repository's files the serving engine needs, and which it would never read.

The rule (applied to the files at the repository's root; every sub-folder is left out):

- **Configuration and tokenizer files are kept**: ``*.json`` (config, generation config, tokenizer,
  special tokens, the weight index, a quantization config), ``tokenizer.model*`` (SentencePiece),
  ``*.tiktoken``, ``*.txt`` (BPE merges and vocabularies), ``*.jinja`` (chat templates) and ``*.py``
  (a model's own code, which an engine loads with ``trust_remote_code``). They are small.
- **Weights: safetensors first.** When the root has ``*.safetensors``, only those are kept, and when
  ``model.safetensors.index.json`` is there, only the shards its ``weight_map`` names: Mistral's
  repositories also carry ``consolidated.safetensors``, the same weights in mistral-inference's format,
  which vLLM and TGI never read when the index is present. Only without safetensors are
  PyTorch's ``*.bin`` shards kept (again only those the ``pytorch_model.bin.index.json`` names).
  vLLM prefers safetensors and falls back to ``*.bin``
  (vllm/model_executor/model_loader/default_loader.py, ``_prepare_weights``: ``allow_patterns``);
  TGI converts ``*.bin`` to safetensors at start-up, so staging the safetensors spares it that too.
- **Everything else is skipped**: other frameworks' weights (``*.msgpack`` Flax, ``*.h5`` TensorFlow,
  ``*.ot`` rust-bert, ``*.onnx``, ``*.gguf``, ``*.tflite``), and the sub-folders that hold them or
  duplicates (``onnx/``, ``openvino/``, ``original/`` with Meta's ``consolidated.*.pth``), plus
  READMEs, licences and images. An engine loading from a local folder reads only the root.

Staging a file the engine never reads costs its download, its upload and its copy onto every
instance at every cold start, so the rule leans to leaving out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Protocol

CONFIG_PATTERNS = ("*.json", "tokenizer.model*", "*.tiktoken", "*.txt", "*.jinja", "*.py")
SAFETENSORS_INDEX = "model.safetensors.index.json"
PYTORCH_INDEX = "pytorch_model.bin.index.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".msgpack", ".h5", ".ot", ".onnx", ".gguf", ".tflite")


class NamedFile(Protocol):
    @property
    def path(self) -> str: ...


@dataclass(frozen=True)
class Selection:
    """The repository paths to stage, and those left out with the reason."""

    keep: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]


def _is_config(path: str) -> bool:
    return any(fnmatch(path, pattern) for pattern in CONFIG_PATTERNS)


def _indexed_shards(index_text: str) -> set[str] | None:
    """The shard names an index's ``weight_map`` lists, or None when the index cannot be read."""
    try:
        weight_map = json.loads(index_text)["weight_map"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(weight_map, dict):
        return None
    return {str(name) for name in weight_map.values()}


@dataclass(frozen=True)
class _Weights:
    keep: set[str]
    suffix: str
    """The format kept (``.safetensors`` or ``.bin``); empty when the root has no weights."""
    unlisted: str
    """Why a file of the kept format is left out."""


def _weights(root: set[str], read_text: Callable[[str], str]) -> _Weights:
    for suffix, index in ((".safetensors", SAFETENSORS_INDEX), (".bin", PYTORCH_INDEX)):
        candidates = {p for p in root if p.endswith(suffix)}
        if not candidates:
            continue
        if index in root:
            shards = _indexed_shards(read_text(index))
            if shards is not None and shards <= candidates:
                return _Weights(shards, suffix, f"not in {index} (the same weights in another layout)")
        return _Weights(candidates, suffix, "")
    return _Weights(set(), "", "")


def select_files(files: Sequence[NamedFile], read_text: Callable[[str], str]) -> Selection:
    """Apply the module's rule to a repository listing.

    ``read_text`` returns a (small) file's text: the weight index, read to know the shards.
    """
    paths = [f.path for f in files]
    root = {p for p in paths if "/" not in p}
    weights = _weights(root, read_text)
    other_index = PYTORCH_INDEX if weights.suffix == ".safetensors" else SAFETENSORS_INDEX
    keep: list[str] = []
    skipped: list[tuple[str, str]] = []
    for path in sorted(paths):
        if "/" in path:
            skipped.append((path, "in a sub-folder"))
        elif path in weights.keep:
            keep.append(path)
        elif path.endswith(WEIGHT_SUFFIXES):
            same = weights.suffix and path.endswith(weights.suffix)
            skipped.append((path, weights.unlisted if same else f"another weight format ({weights.suffix} kept)"))
        elif path == other_index and weights.suffix:
            skipped.append((path, f"index of a weight format not staged ({weights.suffix} kept)"))
        elif _is_config(path):
            keep.append(path)
        else:
            skipped.append((path, "not read by the engine"))
    return Selection(keep=tuple(keep), skipped=tuple(skipped))
