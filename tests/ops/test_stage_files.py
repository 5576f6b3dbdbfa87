"""The pieces of `sagefit stage` on their own: which files, which checksums, which keys, which errors."""

from __future__ import annotations

import base64
import hashlib
import json
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sagefit.core.errors import SagefitError
from sagefit.ops.stage.checksums import MAX_PARTS, MiB, digest_file, matches_s3_checksum, part_size_for
from sagefit.ops.stage.location import parse_destination
from sagefit.ops.stage.run import check_bucket
from sagefit.ops.stage.selection import select_files


def _files(*paths):
    return [SimpleNamespace(path=p) for p in paths]


def test_selection_keeps_configs_and_the_indexed_safetensors_only():
    index = json.dumps(
        {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    )
    listing = _files(
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "tokenizer.model",
        "special_tokens_map.json",
        "model.safetensors.index.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "consolidated.safetensors",
        "pytorch_model-00001-of-00002.bin",
        "pytorch_model.bin.index.json",
        "flax_model.msgpack",
        "tf_model.h5",
        "README.md",
        ".gitattributes",
        "original/consolidated.00.pth",
        "onnx/model.onnx",
    )
    chosen = select_files(listing, lambda path: index)
    assert chosen.keep == (
        "config.json",
        "generation_config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer.model",
        "tokenizer_config.json",
    )
    reasons = dict(chosen.skipped)
    assert "the same weights in another layout" in reasons["consolidated.safetensors"]
    assert reasons["pytorch_model-00001-of-00002.bin"] == "another weight format (.safetensors kept)"
    assert reasons["flax_model.msgpack"] == "another weight format (.safetensors kept)"
    assert reasons["original/consolidated.00.pth"] == "in a sub-folder"
    assert reasons["README.md"] == "not read by the engine"


def test_selection_falls_back_to_pytorch_bins_without_safetensors():
    chosen = select_files(_files("config.json", "pytorch_model.bin", "flax_model.msgpack"), lambda path: "")
    assert chosen.keep == ("config.json", "pytorch_model.bin")


def test_an_unreadable_index_keeps_every_safetensors_file():
    listing = _files("model.safetensors.index.json", "a.safetensors", "b.safetensors")
    assert select_files(listing, lambda path: "not json").keep == listing_paths(listing)


def listing_paths(listing):
    return tuple(sorted(f.path for f in listing))


def test_part_size_is_at_least_8_mib_and_fits_10000_parts():
    assert part_size_for(1) == 8 * MiB
    assert part_size_for(80 * 1024 * MiB) == 9 * MiB  # 80 GiB / 10,000 = 8.2 MiB, rounded up to 9 MiB
    for size in (10**9, 10**11, 10**12, 4 * 10**12):
        assert -(-size // part_size_for(size)) <= MAX_PARTS
    with pytest.raises(SagefitError, match="10000 parts of at most 5 GiB"):
        part_size_for(6 * 1024**4 * 10)


def test_digest_matches_hashlib_git_and_the_composite_s3_computes(tmp_path, moto_env):
    data = bytes(range(256)) * (70 * 1024)  # 17.5 MiB: 3 parts of 8 MiB
    path = tmp_path / "w.bin"
    path.write_bytes(data)
    digest = digest_file(path)
    assert digest.sha256 == hashlib.sha256(data).hexdigest()
    assert digest.git_blob_id == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    assert len(digest.part_digests) == 3 and digest.multipart
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="digest-bucket")
        up = s3.create_multipart_upload(Bucket="digest-bucket", Key="k", ChecksumAlgorithm="SHA256")
        parts = []
        for n in (1, 2, 3):
            chunk = data[(n - 1) * 8 * MiB : n * 8 * MiB]
            checksum = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
            assert checksum == digest.part_checksum(n)
            etag = s3.upload_part(
                Bucket="digest-bucket",
                Key="k",
                UploadId=up["UploadId"],
                PartNumber=n,
                Body=chunk,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )["ETag"]
            parts.append({"PartNumber": n, "ETag": etag, "ChecksumSHA256": checksum})
        s3.complete_multipart_upload(
            Bucket="digest-bucket", Key="k", UploadId=up["UploadId"], MultipartUpload={"Parts": parts}
        )
        reported = s3.head_object(Bucket="digest-bucket", Key="k", ChecksumMode="ENABLED")["ChecksumSHA256"]
    assert matches_s3_checksum(reported, digest)
    assert matches_s3_checksum(f"{digest.composite}-3", digest)  # as AWS writes it, with the part count
    assert not matches_s3_checksum(f"{digest.composite}-4", digest)
    assert not matches_s3_checksum(None, digest)


def test_a_small_file_is_one_put_with_its_own_sha256(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b"{}")
    digest = digest_file(path)
    assert not digest.multipart
    assert digest.expected_s3_checksum() == base64.b64encode(hashlib.sha256(b"{}").digest()).decode()


def test_destination_keys_and_the_manifest_beside_the_prefix():
    dest = parse_destination("s3://my-bucket/models/mistral/")
    assert dest.uri == "s3://my-bucket/models/mistral/"
    assert dest.key("config.json") == "models/mistral/config.json"
    assert dest.manifest_key == "models/mistral.sagefit-manifest.json"
    assert not dest.manifest_key.startswith(dest.prefix)
    with pytest.raises(SagefitError, match="empty path segment"):
        parse_destination("s3://my-bucket/models//m/")


class _Denied:
    def head_bucket(self, Bucket):
        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadBucket")


def test_access_denied_to_the_bucket_names_the_permissions():
    with pytest.raises(SagefitError, match="access denied to S3 bucket 'b-1'.*s3:PutObject"):
        check_bucket(_Denied(), "b-1", "us-east-1")


def test_an_unreachable_hub_is_one_line(monkeypatch, tmp_path):
    from sagefit.ops.stage.hub import Hub

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(SagefitError, match="cannot reach the Hub at http://127.0.0.1:9"):
        Hub("acme/tiny-7b", None, tmp_path).pin(None)
