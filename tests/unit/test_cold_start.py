"""Cold starts from what a cold start does: the plan's instance, its engine's container, the weights'
size and where they come from (the Hub, or S3 with model.model_data_s3_uri), read from plan.spec."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from sagefit.core import assumptions as A
from sagefit.core.planner import plan_profile
from sagefit.core.profiles import load_profile
from sagefit.cost.settings import resolve
from tests.support.paths import PROFILES_DIR


def _seed(name: str) -> dict[str, Any]:
    return yaml.safe_load((PROFILES_DIR / f"{name}.yaml").read_text())


def _plan(write_profile, data: dict[str, Any]):
    return plan_profile(load_profile(write_profile(data)))


def test_the_spec_carries_the_cold_start_of_the_plan(write_profile):
    plan = _plan(write_profile, _seed("llama2-70b-awq"))
    cold = plan.spec.cold_start
    assert cold.provisioning_s == A.instance_provisioning_s("ml.g5.12xlarge") == 150
    assert cold.container_start_s == A.CONTAINER_START_S_BY_ENGINE["vllm"]
    assert cold.weights_source == "hub" and cold.download_gb_s == A.WEIGHTS_DOWNLOAD_GB_S["hub"]
    assert cold.weights_gb == pytest.approx(plan.fit.weights_bytes / 1e9)
    assert cold.total_s == pytest.approx(150 + 35 + cold.weights_gb / 0.21 + cold.weights_gb / 1.0)


def test_weights_from_s3_download_faster_than_from_the_hub(write_profile):
    data = _seed("llama2-70b-awq")
    hub = _plan(write_profile, data).spec.cold_start
    data["model"]["model_data_s3_uri"] = "s3://my-models/llama2-70b-awq/"
    s3 = _plan(write_profile, data).spec.cold_start
    assert s3.weights_source == "s3" and s3.source_name.startswith("S3")
    assert s3.download_gb_s > hub.download_gb_s
    assert s3.download_s < hub.download_s and s3.total_s < hub.total_s


def test_the_engine_sets_the_container_start(write_profile):
    data = _seed("mistral-7b")
    vllm = _plan(write_profile, data).spec.cold_start
    data["serving"]["engine"] = "tgi"
    tgi = _plan(write_profile, data).spec.cold_start
    assert vllm.container_start_s == 35 and tgi.container_start_s == 25


def test_the_simulator_reads_the_spec_and_overrides_still_win(write_profile):
    data = _seed("llama2-70b-awq")
    data["model"]["model_data_s3_uri"] = "s3://my-models/llama2-70b-awq/"
    plan = _plan(write_profile, data)
    cold = resolve(plan).cold_start
    spec = plan.spec.cold_start
    assert cold.total_s == pytest.approx(spec.total_s) and cold.weights_source == "s3"
    slower = resolve(plan, {"model_download_gb_s": 0.1, "container_start_s": 90}).cold_start
    assert slower.container_start_s == 90
    assert slower.download_s == pytest.approx(spec.weights_gb / 0.1)


def test_the_cost_header_names_the_engine_and_the_weights_source(capsys):
    from sagefit.cli import main

    assert main(["cost", "llama2-70b-awq", "--profiles", str(PROFILES_DIR), "--mode", "async"]) == 0
    out = capsys.readouterr().out
    assert "(vllm)" in out and "from the Hugging Face Hub at 0.21 GB/s" in out


def test_plan_json_lists_the_cold_start_from_each_source_and_staging_saves_on_every_seed():
    from sagefit.core.profiles import load_profiles

    for loaded in load_profiles(PROFILES_DIR):
        plan = plan_profile(loaded)
        data = plan.to_dict()
        by_source = data["cold_start_s_by_source"]
        assert set(by_source) == {"hub", "s3"} and data["weights_source"] == "hub"
        assert data["cold_start_s"] == by_source["hub"]
        assert by_source["s3"] < by_source["hub"], loaded.path.name
        spec = plan.spec
        assert spec.cold_start is spec.cold_start_by_source[spec.container.weights_source]


def test_the_readme_table_is_what_bench_cold_start_prints():
    import importlib.util

    from tests.support.paths import REPO_ROOT

    module_spec = importlib.util.spec_from_file_location("bench_cold_start", REPO_ROOT / "bench" / "cold_start.py")
    assert module_spec and module_spec.loader
    bench = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(bench)
    readme = (REPO_ROOT / "README.md").read_text()
    for line in bench.rows(PROFILES_DIR):
        assert line in readme, line
