"""Staged weights (``model.model_data_s3_uri``): the two forms SageMaker takes, the one-line error for
anything else, and what the spec and the engines make of them (load /opt/ml/model, no Hub token)."""

from __future__ import annotations

import pytest

from sagefit.core.engines import ENGINES, EngineInputs
from sagefit.core.errors import SagefitError
from sagefit.core.model_data import LOCAL_MODEL_DIR, ModelData
from sagefit.core.planner import plan_profile
from sagefit.core.profiles import load_profile, parse_profile
from tests.support.paths import PROFILES_DIR


def _with_weights(name: str, uri: str) -> str:
    text = (PROFILES_DIR / name).read_text()
    return text.replace("model:\n", f"model:\n  model_data_s3_uri: {uri}\n", 1)


@pytest.mark.parametrize(
    ("uri", "compressed", "bucket", "key"),
    [
        ("s3://my-models/llama2/7b/", False, "my-models", "llama2/7b"),
        ("s3://my-models/", False, "my-models", ""),
        ("s3://my-models/llama2/model.tar.gz", True, "my-models", "llama2/model.tar.gz"),
    ],
)
def test_the_two_forms(uri, compressed, bucket, key):
    data = ModelData.from_uri(uri)
    assert data is not None and (data.compressed, data.bucket, data.key) == (compressed, bucket, key)
    assert ModelData.from_uri(None) is None


@pytest.mark.parametrize("uri", ["s3://my-models", "s3://my-models/llama2/7b", "s3://my-models/model.zip"])
def test_anything_else_is_a_one_line_profile_error(uri):
    with pytest.raises(SagefitError) as info:
        parse_profile(_with_weights("mistral-7b.yaml", uri), "p.yaml")
    message = str(info.value)
    assert "\n" not in message
    assert "model.model_data_s3_uri" in message and "end it with '/'" in message and ".tar.gz" in message


def test_staged_weights_load_the_local_copy_with_no_token_and_no_revision(write_profile):
    text = _with_weights("llama2-7b.yaml", "s3://my-models/llama2/7b/")  # gated, not isolated
    text = text.replace("model:\n", "model:\n  revision: 0123abcd\n", 1)
    spec = plan_profile(load_profile(write_profile(text))).spec
    container = spec.container
    assert container.model_data == ModelData("s3://my-models/llama2/7b/", compressed=False)
    assert container.environment["HF_MODEL_ID"] == LOCAL_MODEL_DIR
    assert "OPTION_REVISION" not in container.environment
    assert container.hf_token_secret is None  # the container never contacts the Hub
    assert container.weights_source == "s3" and spec.cold_start is spec.cold_start_by_source["s3"]


def test_hub_weights_keep_the_model_id_the_revision_and_the_token(write_profile):
    text = (PROFILES_DIR / "llama2-7b.yaml").read_text().replace("model:\n", "model:\n  revision: 0123abcd\n", 1)
    spec = plan_profile(load_profile(write_profile(text))).spec
    env = spec.container.environment
    assert env["HF_MODEL_ID"] == spec.model_id and env["OPTION_REVISION"] == "0123abcd"
    assert spec.container.hf_token_secret and spec.container.model_data is None
    assert spec.container.weights_source == "hub"


@pytest.mark.parametrize(("engine", "revision_variable"), [("vllm", "OPTION_REVISION"), ("tgi", "HF_MODEL_REVISION")])
def test_each_engine_points_its_model_id_at_the_mount(engine, revision_variable):
    base = EngineInputs("org/model", 1, 1024, 2048, 4, revision="abc")
    hub = ENGINES[engine].environment(base)
    assert hub["HF_MODEL_ID"] == "org/model" and hub[revision_variable] == "abc"
    staged = ENGINES[engine].environment(
        EngineInputs("org/model", 1, 1024, 2048, 4, revision="abc", model_dir=LOCAL_MODEL_DIR)
    )
    assert staged["HF_MODEL_ID"] == LOCAL_MODEL_DIR and revision_variable not in staged
    assert set(staged) <= set(ENGINES[engine].environment_allowlist)
