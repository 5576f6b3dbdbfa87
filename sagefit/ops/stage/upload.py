"""Uploading one file to S3: KMS-encrypted, SHA-256-checksummed, multipart and resumable.

boto3's managed transfer (``upload_file``) would do the parts, but it starts over after an
interruption; a 70B model is 140 GB, so this module drives the low-level calls itself:

- A file up to one part (8 MiB) is one ``PutObject``. A larger one is ``CreateMultipartUpload``,
  ``UploadPart`` for each part, ``CompleteMultipartUpload``; every part carries its ``ChecksumSHA256``,
  which S3 checks on receipt, and the completed object carries the composite checksum of its parts
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
- Resume: a rerun finds the key's open upload (``ListMultipartUploads``) and its parts (``ListParts``),
  keeps every part that has this file's part size and checksum, and uploads only the others. An open
  upload holding a part of some other content (an earlier revision) is aborted and started over.
  ListParts reports a part's checksum only when it was uploaded with one; a part listed without one
  is kept on its size, and the composite check after completion catches a wrong one.
- Skip: an object already there with this file's size, its SHA-256 in the object's metadata and the
  checksum S3 reports matching is not uploaded again.
- Every object is written with ``ServerSideEncryption: aws:kms`` (with ``SSEKMSKeyId`` when a key is
  given, else the bucket's default KMS key or the AWS managed ``aws/s3`` key,
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html), and checked after
  upload with ``HeadObject`` (``ChecksumMode: ENABLED``): size, checksum, encryption.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagefit.core.errors import SagefitError
from sagefit.ops.aws import aws_errors, not_found
from sagefit.ops.stage.checksums import FileDigest, b64, matches_s3_checksum, part_count, part_size_for

SHA256_METADATA = "sha256"
"""User metadata (``x-amz-meta-sha256``) holding the file's hex SHA-256, checked before the upload."""
PARALLEL_PARTS = 10
"""Parts in flight at once: boto3's own default (``TransferConfig.max_concurrency``)."""

Progress = Callable[[int], None]
"""Called with the bytes of each part (or small file) as it lands."""


@dataclass(frozen=True)
class Uploaded:
    """What happened to one file: ``skipped`` (already there), ``uploaded`` or ``resumed``."""

    key: str
    size: int
    action: str
    parts_sent: int
    parts_total: int


class ObjectStore:
    """One bucket, written with one KMS setting."""

    def __init__(self, s3: Any, bucket: str, kms_key_id: str | None = None, workers: int = PARALLEL_PARTS) -> None:
        self._s3 = s3
        self.bucket = bucket
        self._kms_key_id = kms_key_id
        self._workers = workers

    def _encryption(self) -> dict[str, str]:
        args = {"ServerSideEncryption": "aws:kms"}
        if self._kms_key_id:
            args["SSEKMSKeyId"] = self._kms_key_id
        return args

    def _head(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            with aws_errors(f"reading s3://{self.bucket}/{key}"):
                head: dict[str, Any] = self._s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if not_found(exc) or str(exc.response.get("Error", {}).get("Code")) == "404":
                return None
            raise
        return head

    def is_complete(self, key: str, size: int, sha256: str | None, digest: FileDigest | None = None) -> bool:
        """Whether ``key`` already holds this file: its size, its SHA-256 (as uploaded, in the object's
        metadata) and S3's checksum. Without ``digest`` (the file not downloaded) a multipart object's
        composite checksum cannot be recomputed: its part count is checked, and the SHA-256 recorded
        before the upload (when S3 verified every part) stands for the content."""
        head = self._head(key)
        if head is None or int(head.get("ContentLength", -1)) != size:
            return False
        recorded = head.get("Metadata", {}).get(SHA256_METADATA)
        expected = digest.sha256 if digest is not None else sha256
        if expected is None or recorded != expected:
            return False
        reported = str(head.get("ChecksumSHA256") or "")
        if digest is not None:
            return matches_s3_checksum(reported, digest)
        if not reported:
            return False
        part_size = part_size_for(size)
        if size <= part_size:  # one PutObject: S3's checksum is the file's SHA-256 itself
            return reported == b64(bytes.fromhex(expected))
        suffix = reported.partition("-")[2]
        return not suffix or suffix == str(part_count(size, part_size))

    def upload(self, path: Path, key: str, digest: FileDigest, progress: Progress | None = None) -> Uploaded:
        """Upload ``path`` (whose checksums are ``digest``) to ``key`` and verify what S3 then holds."""
        if digest.multipart:
            result = self._multipart(path, key, digest, progress)
        else:
            with aws_errors(f"uploading s3://{self.bucket}/{key}"):
                self._s3.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=path.read_bytes(),
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=digest.sha256_b64,
                    Metadata={SHA256_METADATA: digest.sha256},
                    **self._encryption(),
                )
            if progress is not None:
                progress(digest.size)
            result = Uploaded(key, digest.size, "uploaded", 1, 1)
        self.verify(key, digest)
        return result

    def verify(self, key: str, digest: FileDigest) -> None:
        """Refuse an object whose size, checksum or encryption is not what was sent."""
        head = self._head(key)
        uri = f"s3://{self.bucket}/{key}"
        if head is None:
            raise SagefitError(f"{uri} is missing right after its upload", "rerun `sagefit stage`")
        if int(head.get("ContentLength", -1)) != digest.size:
            raise SagefitError(
                f"{uri} holds {head.get('ContentLength')} bytes, not the {digest.size} uploaded",
                "rerun `sagefit stage`",
            )
        if not matches_s3_checksum(head.get("ChecksumSHA256"), digest):
            raise SagefitError(
                f"{uri}: the checksum S3 reports ({head.get('ChecksumSHA256')}) is not the file's "
                f"({digest.expected_s3_checksum()})",
                "rerun `sagefit stage` (the object is uploaded again)",
            )
        if head.get("ServerSideEncryption") != "aws:kms":
            raise SagefitError(
                f"{uri} is stored with {head.get('ServerSideEncryption') or 'no'} encryption, not aws:kms",
                "check the bucket's policy does not override the encryption",
            )

    # ------------------------------------------------------------------------------ multipart

    def _open_uploads(self, key: str) -> Iterator[dict[str, Any]]:
        paginator = self._s3.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            for upload in page.get("Uploads", []):
                if upload["Key"] == key:
                    yield upload

    def _listed_parts(self, key: str, upload_id: str) -> dict[int, dict[str, Any]]:
        paginator = self._s3.get_paginator("list_parts")
        parts: dict[int, dict[str, Any]] = {}
        for page in paginator.paginate(Bucket=self.bucket, Key=key, UploadId=upload_id):
            for part in page.get("Parts", []):
                parts[int(part["PartNumber"])] = part
        return parts

    @staticmethod
    def _part_fits(part: dict[str, Any], number: int, digest: FileDigest) -> bool:
        """Whether a listed part is part ``number`` of this file (size, and checksum when listed)."""
        if number > len(digest.part_digests) or int(part.get("Size", -1)) != digest.part_length(number):
            return False
        listed = part.get("ChecksumSHA256")
        return listed is None or listed == digest.part_checksum(number)

    def _resumable(self, key: str, digest: FileDigest) -> tuple[str | None, dict[int, dict[str, Any]]]:
        """The open upload to continue and its parts to keep; other open uploads of the key are aborted."""
        chosen: tuple[str | None, dict[int, dict[str, Any]]] = (None, {})
        uploads = sorted(self._open_uploads(key), key=lambda u: u.get("Initiated") or 0, reverse=True)
        for upload in uploads:
            upload_id = str(upload["UploadId"])
            if chosen[0] is None and upload.get("ChecksumAlgorithm") == "SHA256":
                parts = self._listed_parts(key, upload_id)
                if parts and all(self._part_fits(p, n, digest) for n, p in parts.items()):
                    chosen = (upload_id, parts)
                    continue
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        return chosen

    def _send_part(self, path: Path, key: str, upload_id: str, number: int, digest: FileDigest) -> str:
        offset = (number - 1) * digest.part_size
        with path.open("rb") as handle:
            handle.seek(offset)
            body = handle.read(digest.part_size)
        response = self._s3.upload_part(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=digest.part_checksum(number),
        )
        return str(response["ETag"])

    def _send_parts(
        self, path: Path, key: str, upload_id: str, numbers: list[int], digest: FileDigest, progress: Progress | None
    ) -> dict[int, str]:
        """Upload ``numbers`` in parallel. The first failure, or Ctrl-C, cancels the parts not yet
        started; the parts in flight finish (a rerun keeps them)."""
        etags: dict[int, str] = {}
        pool = ThreadPoolExecutor(max_workers=self._workers)
        try:
            futures: dict[Future[str], int] = {
                pool.submit(self._send_part, path, key, upload_id, n, digest): n for n in numbers
            }
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in done if f.exception() is not None), None)
            if failed is not None:
                failed.result()  # raises the part's error
            for future, number in futures.items():
                etags[number] = future.result()
                if progress is not None:
                    progress(digest.part_length(number))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return etags

    def _multipart(self, path: Path, key: str, digest: FileDigest, progress: Progress | None) -> Uploaded:
        total = len(digest.part_digests)
        with aws_errors(f"uploading s3://{self.bucket}/{key}"):
            upload_id, kept = self._resumable(key, digest)
            if upload_id is None:
                created = self._s3.create_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    ChecksumAlgorithm="SHA256",
                    Metadata={SHA256_METADATA: digest.sha256},
                    **self._encryption(),
                )
                upload_id = str(created["UploadId"])
            missing = [n for n in range(1, total + 1) if n not in kept]
            etags = {n: str(p["ETag"]) for n, p in kept.items()}
            etags.update(self._send_parts(path, key, upload_id, missing, digest, progress))
            self._s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [
                        {"PartNumber": n, "ETag": etags[n], "ChecksumSHA256": digest.part_checksum(n)}
                        for n in range(1, total + 1)
                    ]
                },
            )
        return Uploaded(key, digest.size, "resumed" if kept else "uploaded", len(missing), total)
