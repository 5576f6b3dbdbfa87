"""`sagefit stage` end to end, offline: the Hub stand-in (tests/support/hub_standin.py) serves a small
repository over HTTP to the real huggingface_hub, and moto's S3 receives the upload."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from sagefit.cli.main import main
from sagefit.ops.aws import AwsSession
from tests.support.stage import (
    BIG,
    BUCKET,
    PREFIX,
    SHA,
    STAGED,
    URI,
    CountingParts,
    FailingParts,
    MiB,
    StageWorld,
    hub_env,  # noqa: F401 - a fixture
    make_world,
    tiny_repo,
)

MANIFEST_KEY = "models/tiny.sagefit-manifest.json"
REAL_CLIENT = AwsSession.client


@pytest.fixture
def world(moto_env, hub_env, monkeypatch, tmp_path):
    with make_world(monkeypatch, tmp_path, tiny_repo()) as made:
        yield made


def _wrap_s3(monkeypatch, wrapper_class, *args):
    """Route the command's S3 client through ``wrapper_class``; returns the list of wrappers made."""
    made = []

    def client(self, service):
        inner = REAL_CLIENT(self, service)
        if service != "s3":
            return inner
        if not made:
            made.append(wrapper_class(inner, *args))
        return made[0]

    monkeypatch.setattr(AwsSession, "client", client)
    return made


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("sagefit: error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in "\n".join(err)
    return errors[0]


def test_stage_uploads_the_engine_files_verified_and_pins_the_profile(world: StageWorld, capsys):
    assert main(world.argv("--s3-uri", URI)) == 0
    out = capsys.readouterr().out

    assert world.keys() == sorted([*(PREFIX + p for p in STAGED), MANIFEST_KEY])
    for path in STAGED:
        head = world.s3.head_object(Bucket=BUCKET, Key=PREFIX + path, ChecksumMode="ENABLED")
        content = world.repo.files[path]
        assert head["ContentLength"] == len(content)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["Metadata"]["sha256"] == hashlib.sha256(content).hexdigest()
        assert head["ChecksumSHA256"]
        body = world.s3.get_object(Bucket=BUCKET, Key=PREFIX + path)["Body"].read()
        assert body == content

    manifest = json.loads(world.s3.get_object(Bucket=BUCKET, Key=MANIFEST_KEY)["Body"].read())
    assert manifest["repo_id"] == "acme/tiny-7b"
    assert manifest["revision"] == SHA
    assert manifest["revision_requested"] == "main"
    assert manifest["model_data_s3_uri"] == URI
    assert {f["path"]: (f["size"], f["sha256"]) for f in manifest["files"]} == {
        p: (len(world.repo.files[p]), hashlib.sha256(world.repo.files[p]).hexdigest()) for p in STAGED
    }
    assert world.s3.head_object(Bucket=BUCKET, Key=MANIFEST_KEY)["ServerSideEncryption"] == "aws:kms"

    text = world.profile.read_text()
    assert text.startswith("# A tiny model for the staging tests; this comment must survive the rewrite.\n")
    assert "# the Hub repository" in text
    assert f"model_data_s3_uri: {URI}\n" in text
    assert f"revision: {SHA}\n" in text

    assert "staged 5 files" in out and "5 uploaded, 0 resumed, 0 already there" in out
    assert f"revision: {SHA} (main)" in out
    assert "left out (3 files" in out and "README.md" in out


def test_every_download_names_the_pinned_commit_not_the_branch(world: StageWorld):
    assert main(world.argv("--s3-uri", URI)) == 0
    resolves = [path for _, path in world.repo.requests if "/resolve/" in path]
    assert resolves and all(f"/resolve/{SHA}/" in path for path in resolves)
    assert not any("flax_model" in path or "original/" in path or "README" in path for path in resolves)


def test_a_rerun_skips_what_is_complete_and_uploads_nothing(world: StageWorld, capsys, monkeypatch):
    assert main(world.argv("--s3-uri", URI)) == 0
    capsys.readouterr()
    world.repo.requests.clear()
    shutil.rmtree(world.cache)  # a rerun on another machine: nothing cached
    counting = _wrap_s3(monkeypatch, CountingParts)
    assert main(world.argv()) == 0  # the profile now names the prefix itself
    out = capsys.readouterr().out
    assert "0 uploaded, 0 resumed, 5 already there" in out
    assert counting[0].sent == 0
    downloaded = {path.rsplit("/", 1)[-1] for method, path in world.repo.requests if "/resolve/" in path}
    assert BIG not in downloaded and "tokenizer.json" not in downloaded  # LFS files: checked in S3, not fetched


@pytest.fixture
def big_world(moto_env, hub_env, monkeypatch, tmp_path):
    with make_world(monkeypatch, tmp_path, tiny_repo(big_size=26 * MiB)) as made:
        yield made


def test_an_interrupted_multipart_upload_resumes_with_only_the_missing_parts(big_world, capsys, monkeypatch):
    """The 26 MiB shard is 4 parts of 8 MiB; the connection drops after 2 of them."""
    world = big_world
    before = world.profile.read_text()
    failing = _wrap_s3(monkeypatch, FailingParts, 2)
    assert main(world.argv("--s3-uri", URI)) == 2
    line = _one_error_line(capsys)
    assert f"uploading s3://{BUCKET}/{PREFIX}{BIG}" in line and "cannot reach" in line
    assert world.profile.read_text() == before
    assert MANIFEST_KEY not in world.keys()
    uploads = world.s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert [u["Key"] for u in uploads] == [PREFIX + BIG]
    listed = world.s3.list_parts(Bucket=BUCKET, Key=PREFIX + BIG, UploadId=uploads[0]["UploadId"])["Parts"]
    assert len(listed) == failing[0].sent == 2

    counting = _wrap_s3(monkeypatch, CountingParts)
    assert main(world.argv("--s3-uri", URI)) == 0
    out = capsys.readouterr().out
    assert f"{BIG}: resumed (2 of 4 parts sent)" in out
    assert counting[0].sent == 2
    assert world.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    body = world.s3.get_object(Bucket=BUCKET, Key=PREFIX + BIG)["Body"].read()
    assert body == world.repo.files[BIG]
    assert f"revision: {SHA}" in world.profile.read_text()


def test_a_download_whose_sha256_differs_from_the_hub_listing_stops_before_its_upload(
    moto_env, hub_env, monkeypatch, tmp_path, capsys
):
    repo = tiny_repo()
    good = repo.files[BIG]
    repo.served[BIG] = good[:-1] + bytes([good[-1] ^ 0xFF])  # same size, one byte flipped
    with make_world(monkeypatch, tmp_path, repo) as world:
        before = world.profile.read_text()
        assert main(world.argv("--s3-uri", URI)) == 2
        line = _one_error_line(capsys)
        assert BIG in line and "SHA-256" in line and "nothing written to the profile" in line
        assert world.profile.read_text() == before
        assert PREFIX + BIG not in world.keys() and MANIFEST_KEY not in world.keys()


class _OtherContentParts(CountingParts):
    """ListParts as S3 answers it (with each part's ChecksumSHA256), for parts of some other content:
    the open upload belongs to an earlier revision of the file."""

    def list_parts(self, **kwargs):
        listed = self._client.list_parts(**kwargs)
        for part in listed.get("Parts", []):
            part["ChecksumSHA256"] = "b3RoZXIgY29udGVudA=="
        return listed

    def get_paginator(self, name):
        if name != "list_parts":
            return self._client.get_paginator(name)
        wrapper = self

        class _Pages:
            def paginate(self, **kwargs):
                yield wrapper.list_parts(**kwargs)

        return _Pages()


def test_an_open_upload_of_other_content_is_aborted_and_started_over(big_world, capsys, monkeypatch):
    world = big_world
    _wrap_s3(monkeypatch, FailingParts, 2)
    assert main(world.argv("--s3-uri", URI)) == 2
    capsys.readouterr()
    stale = world.s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"][0]["UploadId"]

    counting = _wrap_s3(monkeypatch, _OtherContentParts)
    assert main(world.argv("--s3-uri", URI)) == 0
    assert f"{BIG}: uploaded" in capsys.readouterr().out
    assert counting[0].sent == 4  # every part again, none kept from the stale upload
    assert world.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    with pytest.raises(world.s3.exceptions.NoSuchUpload):
        world.s3.list_parts(Bucket=BUCKET, Key=PREFIX + BIG, UploadId=stale)
    assert world.s3.get_object(Bucket=BUCKET, Key=PREFIX + BIG)["Body"].read() == world.repo.files[BIG]


def test_a_long_file_says_when_it_starts(world: StageWorld, capsys, monkeypatch):
    import sagefit.ops.stage.run as run

    monkeypatch.setattr(run, "LONG_FILE_BYTES", 5 * MiB)
    assert main(world.argv("--s3-uri", URI)) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if f"{BIG}: 0.01 GB: downloading, checking, uploading" in line)
    assert f"{BIG}: uploaded" in lines[start + 1]
