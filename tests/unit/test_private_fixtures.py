"""The private example profiles in tests/fixtures/private_profiles (staged weights, isolation, an
existing or a new VPC) validate and plan to a spec that loads /opt/ml/model with no Hub token."""

from __future__ import annotations

from sagefit.cli import main
from sagefit.core.model_data import LOCAL_MODEL_DIR
from sagefit.core.planner import plan_profile
from sagefit.core.profiles import load_profiles
from tests.support.paths import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "private_profiles"


def test_the_private_fixtures_validate(capsys):
    assert main(["validate", "--profiles", str(FIXTURES)]) == 0
    assert "2 profiles valid" in capsys.readouterr().out


def test_the_private_fixtures_plan_to_staged_isolated_specs():
    specs = {loaded.profile.name: plan_profile(loaded).spec for loaded in load_profiles(FIXTURES)}
    assert set(specs) == {"llama2-7b-isolated", "llama2-7b-new-vpc"}
    for name, spec in specs.items():
        container = spec.container
        assert container.model_data is not None and not container.model_data.compressed, name
        assert container.environment["HF_MODEL_ID"] == LOCAL_MODEL_DIR, name
        assert container.hf_token_secret is None and spec.network.isolation and spec.network.in_vpc, name
        assert spec.cold_start.weights_source == "s3", name
    assert specs["llama2-7b-new-vpc"].network.new_vpc is not None
    assert specs["llama2-7b-isolated"].network.vpc_id is not None
