"""`sagefit stage`: the token, the dry run, and every bad input as one line with exit status 2."""

from __future__ import annotations

import sys

import boto3
import pytest

from sagefit.cli.main import main
from tests.support.stage import (
    BUCKET,
    PREFIX,
    REPO_ID,
    SHA,
    URI,
    StageWorld,
    hub_env,  # noqa: F401 - a fixture
    make_world,
    tiny_repo,
    write_profile,
)


@pytest.fixture
def world(moto_env, hub_env, monkeypatch, tmp_path):
    with make_world(monkeypatch, tmp_path, tiny_repo()) as made:
        yield made


@pytest.fixture
def gated(moto_env, hub_env, monkeypatch, tmp_path):
    with make_world(monkeypatch, tmp_path, tiny_repo(gated=True)) as made:
        yield made


def _error(capsys) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("sagefit: error:")]
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def test_a_gated_repository_without_a_token_is_one_line_before_any_download(gated: StageWorld, capsys):
    before = gated.profile.read_text()
    assert main(gated.argv("--s3-uri", URI)) == 2
    line = _error(capsys)
    assert f"{REPO_ID} is gated and no Hub token was given" in line
    assert "HF_TOKEN" in line and "model.hf_token_secret" in line
    assert not any("/resolve/" in path for _, path in gated.repo.requests)
    assert gated.profile.read_text() == before
    assert gated.keys() == []


def test_a_gated_repository_downloads_with_the_token_from_the_profiles_secret(gated: StageWorld, capsys, tmp_path):
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name="hub/token", SecretString="hf_abc")
    profile = write_profile(tmp_path, extra="\n  gated: true\n  hf_token_secret: hub/token")
    assert main(["stage", str(profile), "--s3-uri", URI, "--cache-dir", str(gated.cache)]) == 0
    assert f"revision: {SHA}" in profile.read_text()
    assert "gated: true" in profile.read_text()


def test_hf_token_in_the_environment_wins(gated: StageWorld, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")
    assert main(gated.argv("--s3-uri", URI)) == 0


def test_a_missing_secret_is_one_line(gated: StageWorld, capsys, tmp_path):
    profile = write_profile(tmp_path, extra="\n  gated: true\n  hf_token_secret: hub/absent")
    assert main(["stage", str(profile), "--s3-uri", URI, "--cache-dir", str(gated.cache)]) == 2
    assert "no Secrets Manager secret 'hub/absent'" in _error(capsys)


def test_dry_run_lists_the_files_and_writes_nothing(world: StageWorld, capsys):
    before = world.profile.read_text()
    assert main(world.argv("--s3-uri", URI, "--dry-run")) == 0
    out = capsys.readouterr().out
    assert "would upload 5 files, skip 0" in out and "nothing written" in out
    assert "model-00001-of-00002.safetensors: would upload" in out
    assert world.keys() == []
    assert world.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert world.profile.read_text() == before
    weights = [p for _, p in world.repo.requests if p.endswith(".safetensors") and "/resolve/" in p]
    assert weights == []  # no weights downloaded, only the small files and the index


def test_dry_run_after_a_stage_would_skip_everything(world: StageWorld, capsys):
    assert main(world.argv("--s3-uri", URI)) == 0
    capsys.readouterr()
    assert main(world.argv("--dry-run")) == 0
    assert "would upload 0 files, skip 5" in capsys.readouterr().out


def test_other_objects_under_the_prefix_are_named_not_deleted(world: StageWorld, capsys):
    world.s3.put_object(Bucket=BUCKET, Key=PREFIX + "pytorch_model.bin", Body=b"old")
    assert main(world.argv("--s3-uri", URI)) == 0
    out = capsys.readouterr().out
    assert f"note: 1 other objects under the prefix ({PREFIX}pytorch_model.bin)" in out
    assert PREFIX + "pytorch_model.bin" in world.keys()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        ([], "no S3 destination for the weights"),
        (["--s3-uri", "https://example.com/x/"], "is not an S3 URI"),
        (["--s3-uri", f"s3://{BUCKET}/models/tiny"], "does not end in '/'"),
        (["--s3-uri", f"s3://{BUCKET}/"], "names a bucket but no prefix"),
        (["--s3-uri", "s3://Bad_Bucket/p/"], "breaks AWS's naming rule"),
        (["--s3-uri", "s3://no-such-bucket/p/"], "no S3 bucket 'no-such-bucket'"),
    ],
)
def test_bad_destinations_are_one_line(world: StageWorld, capsys, argv, words):
    before = world.profile.read_text()
    assert main(world.argv(*argv)) == 2
    assert words in _error(capsys)
    assert world.profile.read_text() == before


def test_a_bucket_in_another_region_is_refused(world: StageWorld, capsys):
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="eu-weights", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    assert main(world.argv("--s3-uri", "s3://eu-weights/m/")) == 2
    assert "is in eu-west-1, the endpoint in us-east-1" in _error(capsys)


def test_a_profile_pointing_at_a_tarball_needs_a_prefix(world: StageWorld, capsys, tmp_path):
    profile = write_profile(tmp_path, extra=f"\n  model_data_s3_uri: s3://{BUCKET}/m/model.tar.gz")
    assert main(["stage", str(profile)]) == 2
    assert "is one object (a model.tar.gz)" in _error(capsys)


def test_an_unknown_repository_and_revision_are_one_line(world: StageWorld, capsys, tmp_path):
    profile = write_profile(tmp_path, repo_id="acme/nothing")
    assert main(["stage", str(profile), "--s3-uri", URI, "--cache-dir", str(world.cache)]) == 2
    assert "no Hub model acme/nothing" in _error(capsys)
    profile = write_profile(tmp_path, extra="\n  revision: v9")
    assert main(["stage", str(profile), "--s3-uri", URI, "--cache-dir", str(world.cache)]) == 2
    assert "no revision 'v9' in acme/tiny-7b" in _error(capsys)


def test_a_branch_revision_is_pinned_to_its_commit(moto_env, hub_env, monkeypatch, tmp_path, capsys):
    repo = tiny_repo(branches={"release": SHA})
    with make_world(monkeypatch, tmp_path, repo) as world:
        profile = write_profile(tmp_path, extra="\n  revision: release")
        assert main(["stage", str(profile), "--s3-uri", URI, "--cache-dir", str(world.cache)]) == 0
        assert f"revision: {SHA}\n" in profile.read_text()
        assert f"revision: {SHA} (release)" in capsys.readouterr().out


def test_an_unknown_profile_is_one_line(world: StageWorld, capsys, tmp_path):
    assert main(["stage", str(tmp_path / "absent.yaml")]) == 2
    assert "no such profile file" in _error(capsys)
    assert main(["stage", "no-such-profile", "--profiles", str(tmp_path)]) == 2
    assert "no profile or stack named 'no-such-profile'" in _error(capsys)


def test_a_profile_is_found_by_name_in_the_profiles_folder(world: StageWorld):
    argv = ["stage", "TinyStack", "--profiles", str(world.profile.parent), "--s3-uri", URI]
    assert main([*argv, "--cache-dir", str(world.cache)]) == 0


def test_without_huggingface_hub_the_command_names_the_extra(world: StageWorld, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import raises ImportError
    assert main(world.argv("--s3-uri", URI)) == 2
    assert "pip install 'sagefit[stage]'" in _error(capsys)


def test_objects_use_the_kms_key_given(world: StageWorld):
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    assert main(world.argv("--s3-uri", URI, "--kms-key-id", key_id)) == 0
    for key in world.keys():
        head = world.s3.head_object(Bucket=BUCKET, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert key_id in head["SSEKMSKeyId"]
