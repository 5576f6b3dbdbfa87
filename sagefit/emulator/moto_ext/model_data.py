"""CreateModel's model data as AWS checks it: moto 5.2.5 stores ``PrimaryContainer`` as given.

A container's weights are either ``ModelDataUrl`` or ``ModelDataSource.S3DataSource``. The bounds
below are the SageMaker API reference's shapes (botocore's sagemaker service-2.json, the same ones
the AWS::SageMaker::Model schema in cfn-lint repeats):

* ``S3ModelDataSource`` requires ``S3Uri``, ``S3DataType`` and ``CompressionType``;
* ``S3ModelDataType`` is ``S3Prefix`` or ``S3Object``; ``ModelCompressionType`` is ``None`` or ``Gzip``;
* ``S3ModelUri`` is at most 1024 characters matching ``(https|s3)://([^/]+)/?(.*)``;
* with ``S3Prefix``, "A valid key name prefix identified by S3Uri always ends with a forward slash (/)"
  (S3ModelDataSource, S3DataType).

https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_S3ModelDataSource.html
"""

from __future__ import annotations

import re
from typing import Any

from moto.sagemaker.exceptions import ValidationError

S3_MODEL_DATA_SOURCE_DOC = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_S3ModelDataSource.html"
_REQUIRED = ("S3Uri", "S3DataType", "CompressionType")
_ENUMS = {"S3DataType": ("S3Prefix", "S3Object"), "CompressionType": ("None", "Gzip")}
_URI_PATTERN = r"(https|s3)://([^/]+)/?(.*)"
_URI_MAX = 1024


def _error(value: Any, path: str, constraint: str) -> ValidationError:
    # AWS's wording for a member outside its shape (as rules._constraint_error words it).
    return ValidationError(
        message=f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: {constraint}"
    )


def check_model_data(container: dict[str, Any] | None, path: str = "primaryContainer") -> None:
    """Refuse a ``ModelDataSource`` AWS would refuse; a container without one is left to moto."""
    source = (container or {}).get("ModelDataSource")
    if source is None:
        return
    s3 = source.get("S3DataSource")
    if not isinstance(s3, dict):
        raise ValidationError(message=f"{path}.modelDataSource must specify S3DataSource")
    where = f"{path}.modelDataSource.s3DataSource"
    for member in _REQUIRED:
        if not s3.get(member):
            raise ValidationError(message=f"{where}.{member[0].lower()}{member[1:]} is required")
    for member, allowed in _ENUMS.items():
        if s3[member] not in allowed:
            constraint = f"Member must satisfy enum value set: [{', '.join(allowed)}]"
            raise _error(s3[member], f"{where}.{member[0].lower()}{member[1:]}", constraint)
    uri = str(s3["S3Uri"])
    if len(uri) > _URI_MAX:
        raise _error(uri, f"{where}.s3Uri", f"Member must have length less than or equal to {_URI_MAX}")
    if re.fullmatch(_URI_PATTERN, uri) is None:
        raise _error(uri, f"{where}.s3Uri", f"Member must satisfy regular expression pattern: {_URI_PATTERN}")
    if s3["S3DataType"] == "S3Prefix" and not uri.endswith("/"):
        # The API reference's rule; AWS's message for it is not documented, so this one is ours.
        raise ValidationError(message=f"S3Uri {uri} of an S3Prefix model data source must end with '/'")
