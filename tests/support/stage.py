"""What the `sagefit stage` tests share: a small model repository, a profile for it, the Hub stand-in
and moto's S3 wired together, and an S3 client that fails after some parts (an interrupted upload)."""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.hub_standin import FakeRepo, hub_standin
from tests.support.paths import PROFILES_DIR

MiB = 1024 * 1024
REPO_ID = "acme/tiny-7b"
SHA = "0123456789abcdef0123456789abcdef01234567"
BUCKET = "weights-bucket"
PREFIX = "models/tiny/"
URI = f"s3://{BUCKET}/{PREFIX}"
BIG = "model-00001-of-00002.safetensors"
SMALL = "model-00002-of-00002.safetensors"
STAGED = ("config.json", BIG, SMALL, "model.safetensors.index.json", "tokenizer.json")


def _bytes(seed: str, size: int) -> bytes:
    """Deterministic, incompressible bytes (repeated SHA-256 blocks)."""
    block = hashlib.sha256(seed.encode()).digest() * 2048  # 64 KiB
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(block + counter.to_bytes(8, "big")).digest() * 2048
        counter += 1
    return bytes(out[:size])


def tiny_repo(big_size: int = 10 * MiB, **kwargs: Any) -> FakeRepo:
    """A repository shaped like a real one: configs, sharded safetensors with an index, and files the
    engine never reads (a README, Flax weights, Meta's original checkpoint)."""
    index = f'{{"metadata": {{}}, "weight_map": {{"a.weight": "{BIG}", "b.weight": "{SMALL}"}}}}'
    files = {
        "config.json": b'{"model_type": "mistral"}',
        "tokenizer.json": _bytes("tok", 4096),
        "model.safetensors.index.json": index.encode(),
        BIG: _bytes("big", big_size),
        SMALL: _bytes("small", 2 * MiB),
        "README.md": b"# tiny",
        "flax_model.msgpack": _bytes("flax", 2048),
        "original/consolidated.00.pth": _bytes("orig", 2048),
    }
    return FakeRepo(REPO_ID, files, sha=SHA, **kwargs)


PROFILE = """\
# A tiny model for the staging tests; this comment must survive the rewrite.
name: tiny-7b
stack_name: TinyStack
region: us-east-1
model:
  hf_model_id: {repo_id}  # the Hub repository{extra}
  license: MIT
"""


def write_profile(directory: Path, extra: str = "", repo_id: str = REPO_ID) -> Path:
    """zephyr-7b's profile with the model swapped for the tiny repository (``extra`` adds model keys)."""
    seed = (PROFILES_DIR / "zephyr-7b.yaml").read_text()
    head = PROFILE.format(repo_id=repo_id, extra=extra)
    body = seed[seed.index("  dtype: bfloat16") :]
    path = directory / "tiny-7b.yaml"
    path.write_text(head + body)
    return path


@dataclass
class StageWorld:
    """The Hub stand-in's repository, moto's S3, a profile and a cache, all in one test's tmp_path."""

    repo: FakeRepo
    s3: Any
    profile: Path
    cache: Path

    def argv(self, *extra: str) -> list[str]:
        return ["stage", str(self.profile), "--cache-dir", str(self.cache), *extra]

    def keys(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return sorted(obj["Key"] for obj in listed)


@pytest.fixture
def hub_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """huggingface_hub pointed at nothing real: its home in tmp_path, no token, online, no Xet."""
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_PROGRESS_BARS", True)
    yield


@contextmanager
def make_world(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repo: FakeRepo, extra: str = ""
) -> Iterator[StageWorld]:
    """Start the stand-in and moto for ``repo``; the profile points at it (``extra``: more model keys)."""
    with hub_standin(repo) as endpoint, mock_aws():
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield StageWorld(repo, s3, write_profile(tmp_path, extra), tmp_path / "cache")


class FailingParts:
    """An S3 client that lets ``allowed`` UploadPart calls through and then fails every further one, as
    a dropped connection would; everything else goes to the real (moto) client."""

    def __init__(self, client: Any, allowed: int) -> None:
        self._client = client
        self._allowed = allowed
        self._lock = threading.Lock()
        self.sent = 0

    def upload_part(self, **kwargs: Any) -> Any:
        from botocore.exceptions import EndpointConnectionError

        with self._lock:
            if self.sent >= self._allowed:
                raise EndpointConnectionError(endpoint_url=f"https://{BUCKET}.s3.amazonaws.com")
            self.sent += 1
        return self._client.upload_part(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class CountingParts(FailingParts):
    def __init__(self, client: Any) -> None:
        super().__init__(client, allowed=sys.maxsize)
