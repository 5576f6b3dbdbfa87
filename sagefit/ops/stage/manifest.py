"""The record of a staging run: which repository, which commit, which files with their sizes and SHA-256.

It is written last, after every object is uploaded and verified, so its presence says the prefix is
complete; it sits beside the prefix (:mod:`sagefit.ops.stage.location`), where the engine, which
copies everything under the prefix to ``/opt/ml/model``, never sees it. A later audit (or a second
staging run) can compare the prefix with it without the Hub.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sagefit.ops.aws import aws_errors
from sagefit.ops.stage.checksums import b64
from sagefit.ops.stage.location import Destination

FORMAT = 1


@dataclass(frozen=True)
class StagedFile:
    path: str
    size: int
    sha256: str


def manifest_document(
    repo_id: str, requested: str, sha: str, destination: Destination, files: Sequence[StagedFile]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "repo_id": repo_id,
        "revision_requested": requested,
        "revision": sha,
        "model_data_s3_uri": destination.uri,
        "staged_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "total_bytes": sum(f.size for f in files),
        "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in files],
    }


def write_manifest(s3: Any, destination: Destination, document: dict[str, Any], kms_key_id: str | None) -> None:
    """Put the manifest, encrypted and checksummed like the weights."""
    import hashlib

    body = (json.dumps(document, indent=2) + "\n").encode()
    encryption = {"ServerSideEncryption": "aws:kms", **({"SSEKMSKeyId": kms_key_id} if kms_key_id else {})}
    with aws_errors(f"writing {destination.manifest_uri}"):
        s3.put_object(
            Bucket=destination.bucket,
            Key=destination.manifest_key,
            Body=body,
            ContentType="application/json",
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=b64(hashlib.sha256(body).digest()),
            **encryption,
        )
