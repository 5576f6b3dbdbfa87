"""Checksums of a local file, the multipart layout it is uploaded in, and the checksum S3 reports.

One pass over the file gives both what the Hub publishes (the SHA-256 of an LFS file, the git blob
id of any other file) and what S3 checks (the SHA-256 of each part, and the composite checksum of
the whole object). The part layout depends only on the file's size, so a rerun computes the same
parts and can tell which of an interrupted upload's parts are already there.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from sagefit.core.errors import SagefitError

MiB = 1024 * 1024
GiB = 1024 * MiB

# Amazon S3 multipart upload limits (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html):
# at most 10,000 parts; each part 5 MiB to 5 GiB, except the last, which may be smaller.
MAX_PARTS = 10_000
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * GiB
DEFAULT_PART_SIZE = 8 * MiB
"""boto3's own multipart chunk size (``TransferConfig.multipart_chunksize``,
https://boto3.amazonaws.com/v1/documentation/api/latest/reference/customizations/s3.html): small enough
that a resumed upload loses little, large enough that a 10 GB shard is about 1,200 requests."""

_READ = 1 * MiB


def part_size_for(size: int, minimum: int = DEFAULT_PART_SIZE) -> int:
    """The part size for a file of ``size`` bytes: ``minimum`` (at least 8 MiB), grown in whole MiB
    until the file fits in S3's 10,000 parts."""
    minimum = max(minimum, MIN_PART_SIZE)
    needed = -(-size // MAX_PARTS)  # ceiling division
    part = max(minimum, -(-needed // MiB) * MiB)
    if part > MAX_PART_SIZE:
        raise SagefitError(
            f"a file of {size:,} bytes does not fit in S3's {MAX_PARTS} parts of at most 5 GiB",
            "this file cannot be one S3 object; stage a model with smaller shards",
        )
    return part


def part_count(size: int, part_size: int) -> int:
    """Parts of a multipart upload (an empty file is still one, empty, part)."""
    return max(1, -(-size // part_size))


def b64(digest: bytes) -> str:
    """How S3 writes a checksum: base64 of the raw digest."""
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class FileDigest:
    """A local file's size, SHA-256, git blob id and per-part SHA-256 digests."""

    size: int
    sha256: str
    """Hex, as the Hub publishes an LFS file's ``oid``."""
    git_blob_id: str
    """``sha1("blob <size>\\0" + content)``: a git object id, as the Hub lists a non-LFS file's ``oid``."""
    part_size: int
    part_digests: tuple[bytes, ...]

    @property
    def multipart(self) -> bool:
        """Uploaded in parts (more than one part's worth); a smaller file is one PutObject."""
        return self.size > self.part_size

    @property
    def sha256_b64(self) -> str:
        """The whole-object checksum S3 reports for a single PutObject."""
        return b64(bytes.fromhex(self.sha256))

    def part_length(self, number: int) -> int:
        """Bytes in part ``number`` (1-based): the part size, except for the last part."""
        total = len(self.part_digests)
        return self.part_size if number < total else self.size - self.part_size * (total - 1)

    def part_checksum(self, number: int) -> str:
        """The ``ChecksumSHA256`` of part ``number`` (1-based)."""
        return b64(self.part_digests[number - 1])

    @property
    def composite(self) -> str:
        """The checksum of a multipart object: the SHA-256 of the parts' concatenated digests
        (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html,
        "Using part-level checksums for multipart uploads"), without S3's ``-<parts>`` suffix."""
        return b64(hashlib.sha256(b"".join(self.part_digests)).digest())

    def expected_s3_checksum(self) -> str:
        """What S3 should report for the object once it is complete (the suffix left off)."""
        return self.composite if self.multipart else self.sha256_b64


def digest_file(path: Path, part_size: int | None = None) -> FileDigest:
    """Read ``path`` once and compute every checksum the staging run compares."""
    size = path.stat().st_size
    part = part_size if part_size is not None else part_size_for(size)
    whole = hashlib.sha256()
    blob = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    parts: list[bytes] = []
    current = hashlib.sha256()
    in_part = 0
    with path.open("rb") as handle:
        while chunk := handle.read(min(_READ, part - in_part)):
            whole.update(chunk)
            blob.update(chunk)
            current.update(chunk)
            in_part += len(chunk)
            if in_part == part:
                parts.append(current.digest())
                current, in_part = hashlib.sha256(), 0
    if in_part or not parts:
        parts.append(current.digest())
    return FileDigest(
        size=size,
        sha256=whole.hexdigest(),
        git_blob_id=blob.hexdigest(),
        part_size=part,
        part_digests=tuple(parts),
    )


def matches_s3_checksum(reported: str | None, digest: FileDigest) -> bool:
    """Whether the checksum S3 reports for an object (``ChecksumSHA256``, with or without the
    composite's ``-<parts>`` suffix) is the one this file uploads as."""
    if not reported:
        return False
    value, _, parts = reported.partition("-")
    if parts and parts != str(len(digest.part_digests)):
        return False
    return value == digest.expected_s3_checksum()
