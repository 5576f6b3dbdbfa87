"""Where a profile's weights are staged in S3 (``model.model_data_s3_uri``), as SageMaker takes them.

Two forms, told apart by the URI alone so that synth stays offline:

* ``s3://bucket/prefix/`` (ends with ``/``): the model's files, **uncompressed**, under a key prefix;
  `sagefit stage` writes this form. The Model's container gets ``ModelDataSource.S3DataSource``
  with ``S3DataType: S3Prefix`` and ``CompressionType: None``: SageMaker copies every object under
  the prefix to ``/opt/ml/model`` (SageMaker API reference, S3ModelDataSource: "A valid key name
  prefix identified by S3Uri always ends with a forward slash (/)"; CompressionType None with
  S3Prefix: "for each S3 object under the key name prefix ... use the remainder as the path
  (relative to /opt/ml/model)").
* ``s3://bucket/key.tar.gz``: one gzip-compressed tar archive, the classic ``ModelDataUrl``
  ("This path must point to a single gzip compressed tar archive (.tar.gz suffix)", API reference,
  ContainerDefinition.ModelDataUrl), which SageMaker extracts to ``/opt/ml/model``.

Anything else is refused when the profile is validated (:func:`model_data_problem`), because
SageMaker would read a bare key as neither.
"""

from __future__ import annotations

from dataclasses import dataclass

LOCAL_MODEL_DIR = "/opt/ml/model"
"""Where SageMaker puts the model data in the container, for both forms (API reference,
S3ModelDataSource CompressionType; ContainerDefinition.ModelDataUrl)."""

ARCHIVE_SUFFIX = ".tar.gz"


@dataclass(frozen=True)
class ModelData:
    """The staged weights: an S3 URI, and whether it names one compressed archive or a prefix."""

    uri: str
    compressed: bool
    """True: ``ModelDataUrl`` (a .tar.gz archive); False: ``ModelDataSource`` (an uncompressed prefix)."""

    @classmethod
    def from_uri(cls, uri: str | None) -> ModelData | None:
        """The model data a validated ``model_data_s3_uri`` names (None: the weights come from the Hub)."""
        if not uri:
            return None
        return cls(uri=uri, compressed=uri.endswith(ARCHIVE_SUFFIX))

    @property
    def bucket(self) -> str:
        return self.uri.removeprefix("s3://").partition("/")[0]

    @property
    def key(self) -> str:
        """The archive's object key, or the prefix without its trailing slash (empty: the whole bucket)."""
        return self.uri.removeprefix("s3://").partition("/")[2].rstrip("/")


def model_data_problem(uri: str) -> str | None:
    """Why ``uri`` is neither form SageMaker takes, or None when it is one of them."""
    if uri.endswith("/") or uri.endswith(ARCHIVE_SUFFIX):
        return None
    return f"{uri!r} is neither an S3 prefix ending in '/' nor a {ARCHIVE_SUFFIX} archive"


MODEL_DATA_FIX = (
    "end it with '/' for uncompressed files under a prefix (what sagefit stage writes), or name a .tar.gz archive"
)
