"""Where staged weights go: ``s3://bucket/prefix/``, its object keys and the manifest's key.

The trailing slash is the contract with the stack: a ``model.model_data_s3_uri`` ending in ``/`` is
read as an uncompressed S3 prefix (SageMaker's ``S3DataType: S3Prefix`` with
``CompressionType: None``, https://docs.aws.amazon.com/sagemaker/latest/dg/large-model-inference-uncompressed.html),
whose objects SageMaker copies to ``/opt/ml/model`` keeping their paths below the prefix. So every
repository file lands at ``<prefix><path in the repository>``, and nothing else may be under the
prefix: the manifest sits beside it (``<prefix without its slash>.sagefit-manifest.json``), where the
engine never sees it and the execution role (granted ``<prefix>*`` only) cannot read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sagefit.core.aws_rules import S3_BUCKET_NAME
from sagefit.core.errors import SagefitError

MANIFEST_SUFFIX = ".sagefit-manifest.json"
S3_KEY_MAX_BYTES = 1024
"""Object key names are at most 1,024 bytes of UTF-8
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html)."""

_FIX = "pass --s3-uri s3://BUCKET/PREFIX/ (a prefix, ending in '/')"


@dataclass(frozen=True)
class Destination:
    """A bucket and a key prefix that ends in ``/`` (never empty: the manifest sits beside it)."""

    bucket: str
    prefix: str

    @property
    def uri(self) -> str:
        """The value written to ``model.model_data_s3_uri``: ``s3://bucket/prefix/``."""
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, repo_path: str) -> str:
        """The object key of a repository file: its path below the prefix."""
        return f"{self.prefix}{repo_path}"

    @property
    def manifest_key(self) -> str:
        """Beside the prefix, not under it: ``models/mistral/`` has ``models/mistral.sagefit-manifest.json``."""
        return self.prefix.rstrip("/") + MANIFEST_SUFFIX

    @property
    def manifest_uri(self) -> str:
        return f"s3://{self.bucket}/{self.manifest_key}"


def parse_destination(uri: str, field: str = "--s3-uri") -> Destination:
    """``s3://bucket/prefix/`` as a :class:`Destination`, or a one-line error naming the fix."""
    if not uri.startswith("s3://"):
        raise SagefitError(f"{uri!r} is not an S3 URI", _FIX, field=field)
    bucket, slash, prefix = uri.removeprefix("s3://").partition("/")
    problem = S3_BUCKET_NAME.problem(bucket)
    if problem is not None:
        raise SagefitError(f"{problem} (in {uri!r}; {S3_BUCKET_NAME.source})", _FIX, field=field)
    if not slash or not prefix.strip("/"):
        raise SagefitError(
            f"{uri!r} names a bucket but no prefix; the weights need a prefix of their own", _FIX, field=field
        )
    if not prefix.endswith("/"):
        raise SagefitError(
            f"{uri!r} does not end in '/': an uncompressed model is a prefix, not one object",
            f"write it as {uri}/",
            field=field,
        )
    if prefix.startswith("/") or "//" in prefix:
        raise SagefitError(f"{uri!r} has an empty path segment ('//')", _FIX, field=field)
    return Destination(bucket=bucket, prefix=prefix)


def check_key(destination: Destination, repo_path: str) -> None:
    """Refuse a repository path whose key S3 would refuse (over 1,024 bytes)."""
    if len(destination.key(repo_path).encode()) > S3_KEY_MAX_BYTES:
        raise SagefitError(
            f"the key for {repo_path!r} is over S3's {S3_KEY_MAX_BYTES}-byte limit",
            "choose a shorter --s3-uri prefix",
        )
