"""One staging run: pin the revision, choose the files, then download, verify and upload each one.

The order keeps an interrupted run safe to repeat and never leaves a half-truth behind:

1. The bucket is checked first (there, reachable, in the profile's region), before any download.
2. The revision is pinned to a commit; a gated repository without a token stops here.
3. Per file: an LFS file already in S3 (size, recorded SHA-256, S3 checksum) is skipped without
   downloading it; otherwise it is downloaded, its SHA-256 (LFS) or git blob id compared with what
   the Hub lists, and only then uploaded (resuming an open multipart upload) and verified.
4. The manifest is written last; the profile is changed by the caller, after this returns.

A dry run does steps 1 to 3 without uploading: it downloads only the files stored in git itself
(configuration and tokenizer files under 10 MB, to know their checksums) and the weight index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagefit.core.errors import SagefitError
from sagefit.core.profiles import Profile
from sagefit.ops.aws import AwsSession, aws_errors, error_code
from sagefit.ops.stage.checksums import FileDigest, digest_file
from sagefit.ops.stage.hub import Hub, HubFile, HubRepo
from sagefit.ops.stage.location import Destination, check_key
from sagefit.ops.stage.manifest import StagedFile, manifest_document, write_manifest
from sagefit.ops.stage.selection import select_files
from sagefit.ops.stage.token import hub_token
from sagefit.ops.stage.upload import ObjectStore, Uploaded

Say = Callable[[str], None]
LONG_FILE_BYTES = 1_000_000_000
"""A file this large takes minutes: its line is said when it starts, not only when it is done."""

SAME_REGION_SOURCE = (
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html (ModelDataUrl: "
    "the model artifacts must be in an S3 bucket in the same region as the model)"
)


@dataclass(frozen=True)
class Options:
    destination: Destination
    kms_key_id: str | None = None
    cache_dir: Path | None = None
    dry_run: bool = False


@dataclass
class FileResult:
    path: str
    key: str
    size: int
    action: str
    """``skipped`` (already in S3), ``uploaded``, ``resumed``; in a dry run ``would upload``/``would skip``."""
    sha256: str | None = None
    parts_sent: int = 0
    parts_total: int = 0


@dataclass
class Report:
    repo: HubRepo
    destination: Destination
    token_source: str
    dry_run: bool
    files: list[FileResult] = field(default_factory=list)
    left_out: tuple[tuple[str, str], ...] = ()
    strays: list[str] = field(default_factory=list)
    """Objects under the prefix that are not this revision's files: the engine would see them too."""

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def count(self, *actions: str) -> int:
        return sum(1 for f in self.files if f.action in actions)


def check_bucket(s3: Any, bucket: str, region: str) -> None:
    """The bucket exists, these credentials reach it, and it is in the endpoint's region."""
    from botocore.exceptions import ClientError

    try:
        with aws_errors(f"reading bucket {bucket}"):
            head = s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket"):
            raise SagefitError(
                f"no S3 bucket {bucket!r}", "create it, or pass --s3-uri with an existing bucket"
            ) from None
        if code in ("403", "AccessDenied"):
            raise SagefitError(
                f"access denied to S3 bucket {bucket!r}",
                "grant s3:ListBucket, s3:GetObject, s3:PutObject and s3:AbortMultipartUpload on it "
                "(and kms:GenerateDataKey on its key), or use a bucket of your own",
            ) from None
        if code in ("301", "PermanentRedirect"):
            head = {
                "BucketRegion": exc.response.get("ResponseMetadata", {})
                .get("HTTPHeaders", {})
                .get("x-amz-bucket-region", "another region")
            }
        else:
            raise
    bucket_region = head.get("BucketRegion") or head.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(
        "x-amz-bucket-region"
    )
    if bucket_region and bucket_region != region:
        raise SagefitError(
            f"bucket {bucket!r} is in {bucket_region}, the endpoint in {region}; SageMaker reads model data only "
            f"from its own region ({SAME_REGION_SOURCE})",
            f"use a bucket in {region}",
        )


def _verify_download(local: Path, hub_file: HubFile) -> FileDigest:
    """The downloaded file's checksums, refused when they are not what the Hub lists for it."""
    digest = digest_file(local)
    if digest.size != hub_file.size:
        raise SagefitError(
            f"{hub_file.path}: downloaded {digest.size} bytes, the Hub lists {hub_file.size}",
            "rerun `sagefit stage` (nothing was written to the profile)",
        )
    expected, actual, kind = (
        (hub_file.sha256, digest.sha256, "SHA-256")
        if hub_file.sha256 is not None
        else (hub_file.blob_id, digest.git_blob_id, "git blob id")
    )
    if actual != expected:
        raise SagefitError(
            f"{hub_file.path}: {kind} of the downloaded file is {actual}, the Hub lists {expected}",
            "delete the file from the Hugging Face cache and rerun (nothing was uploaded for it, nothing "
            "written to the profile)",
        )
    return digest


def _stage_file(
    hub: Hub, repo: HubRepo, store: ObjectStore, dest: Destination, path: str, dry: bool, starting: Say
) -> FileResult:
    hub_file = repo.file(path)
    key = dest.key(path)
    if hub_file.sha256 is not None and store.is_complete(key, hub_file.size, hub_file.sha256):
        return FileResult(path, key, hub_file.size, "would skip" if dry else "skipped", hub_file.sha256)
    if dry and hub_file.sha256 is not None:
        return FileResult(path, key, hub_file.size, "would upload", hub_file.sha256)
    if not dry and hub_file.size >= LONG_FILE_BYTES:
        starting(f"{hub_file.size / 1e9:,.2f} GB: downloading, checking, uploading")
    local = hub.download(repo, path)
    digest = _verify_download(local, hub_file)
    if store.is_complete(key, digest.size, digest.sha256, digest):
        return FileResult(path, key, digest.size, "would skip" if dry else "skipped", digest.sha256)
    if dry:
        return FileResult(path, key, digest.size, "would upload", digest.sha256)
    done: Uploaded = store.upload(local, key, digest)
    return FileResult(path, key, digest.size, done.action, digest.sha256, done.parts_sent, done.parts_total)


def _strays(s3: Any, dest: Destination, keys: set[str]) -> list[str]:
    with aws_errors(f"listing {dest.uri}"):
        paginator = s3.get_paginator("list_objects_v2")
        found = [
            obj["Key"]
            for page in paginator.paginate(Bucket=dest.bucket, Prefix=dest.prefix)
            for obj in page.get("Contents", [])
        ]
    return sorted(k for k in found if k not in keys)


def _prefixed(say: Say, head: str) -> Say:
    return lambda line: say(f"{head}: {line}")


def stage(profile: Profile, aws: AwsSession, options: Options, say: Say) -> Report:
    """Stage ``profile``'s model into ``options.destination``; ``say`` hears one line per file."""
    dest = options.destination
    s3 = aws.client("s3")
    check_bucket(s3, dest.bucket, aws.region)
    token = hub_token(profile.model, aws)
    hub = Hub(profile.model.hf_model_id, token.value, options.cache_dir)
    repo = hub.pin(profile.model.revision)
    if repo.gated and not hub.has_token:
        raise SagefitError(
            f"{repo.repo_id} is gated and no Hub token was given",
            "set HF_TOKEN, or model.hf_token_secret to a Secrets Manager secret holding the token",
        )
    selection = select_files(repo.files, lambda path: hub.download(repo, path).read_text(encoding="utf-8"))
    if not selection.keep:
        raise SagefitError(f"{repo.repo_id}@{repo.sha[:12]} has no files an engine reads", "check model.hf_model_id")
    for path in selection.keep:
        check_key(dest, path)
    report = Report(repo, dest, token.source, options.dry_run, left_out=selection.skipped)
    store = ObjectStore(s3, dest.bucket, options.kms_key_id)
    for number, path in enumerate(selection.keep, start=1):
        head = f"[{number}/{len(selection.keep)}] {path}"
        result = _stage_file(hub, repo, store, dest, path, options.dry_run, _prefixed(say, head))
        report.files.append(result)
        parts = f" ({result.parts_sent} of {result.parts_total} parts sent)" if result.action == "resumed" else ""
        say(f"{head}: {result.action}{parts}")
    report.strays = _strays(s3, dest, {f.key for f in report.files})
    if not options.dry_run:
        staged = [StagedFile(f.path, f.size, f.sha256 or "") for f in report.files]
        write_manifest(
            s3, dest, manifest_document(repo.repo_id, repo.requested, repo.sha, dest, staged), options.kms_key_id
        )
    return report
