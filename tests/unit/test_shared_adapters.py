"""Adapter profiles on a shared endpoint's member: their LoRA slots count in the member's fit on every
candidate, its pinned plan and spec carry them, and the base's plan-time refusals name the adapter."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sagefit.core.errors import SagefitError
from tests.support.paths import PROFILES_DIR
from tests.unit.test_packing import MEMBERS, edit, plan

ADAPTER = "mistral-7b-v0-3-support.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The example shared endpoint, its three members and the adapter on mistral-7b-v0-3."""
    (tmp_path / "endpoints").mkdir()
    shutil.copy(PROFILES_DIR / "endpoints" / "small-models.yaml", tmp_path / "endpoints")
    for name in (*MEMBERS, ADAPTER):
        shutil.copy(PROFILES_DIR / name, tmp_path)
    return tmp_path


def test_the_adapter_rides_on_its_members_component(project):
    shared = plan(project)
    (mistral,) = [m for m in shared.members if m.name == "mistral-7b-v0-3"]
    assert [a.adapter.name for a in mistral.plan.adapters] == ["mistral-7b-v0-3-support"]
    assert mistral.plan.lora is not None and mistral.plan.lora.rank == 16
    assert mistral.plan.fit.lora_per_gpu_bytes > 0
    (spec,) = [m for m in shared.spec.members if m.profile_name == "mistral-7b-v0-3"]
    assert [(a.component_name, a.rank) for a in spec.adapters] == [("mistral-7b-v0-3-support-ic", 16)]
    assert spec.container.environment["OPTION_ENABLE_LORA"] == "true"
    others = [m for m in shared.members if m is not mistral]
    assert all(m.plan.lora is None and not m.plan.spec.adapters for m in others)
    assert shared.to_dict()["members"][1]["adapters"] == ["mistral-7b-v0-3-support-ic"]


def test_the_slots_count_in_the_fit_on_every_candidate(project):
    shared = plan(project)
    for candidate in shared.candidates:
        fit = candidate.fits.get("mistral-7b-v0-3")
        if fit is not None:
            assert fit.lora_per_gpu_bytes > 0, candidate.instance.instance_type
            assert candidate.fits["qwen2-5-7b-instruct"].lora_per_gpu_bytes == 0


def test_a_larger_rank_takes_more_of_the_members_kv_cache(project):
    """The slots come out of the member's KV budget on the shared type, as on an endpoint of its own."""
    (project / ADAPTER).rename(project.parent / ADAPTER)
    before = {m.name: m.need.accelerators for m in plan(project).members}
    (project.parent / ADAPTER).rename(project / ADAPTER)
    with_adapter = plan(project)
    after = {m.name: m.need.accelerators for m in with_adapter.members}
    assert before == after  # rank 16 at 4096 tokens costs 0.08 GiB per GPU: still one GPU each
    edit(project / ADAPTER, rank=512)
    big = plan(project)
    (mistral,) = [m for m in big.members if m.name == "mistral-7b-v0-3"]
    small = next(m for m in with_adapter.members if m.name == "mistral-7b-v0-3")
    assert mistral.plan.fit.lora_per_gpu_bytes > small.plan.fit.lora_per_gpu_bytes * 20
    assert mistral.plan.fit.kv_budget_per_gpu_bytes < small.plan.fit.kv_budget_per_gpu_bytes


def test_a_rank_above_the_engines_maximum_is_refused_naming_the_adapter(project):
    edit(project / ADAPTER, rank=1024)
    with pytest.raises(SagefitError) as caught:
        plan(project)
    line = str(caught.value)
    assert "mistral-7b-v0-3-support.yaml: rank: adapter mistral-7b-v0-3-support: rank 1024" in line


def test_a_tgi_member_cannot_hold_an_adapter(project):
    edit(project / "mistral-7b-v0.3.yaml", serving__engine="tgi")
    with pytest.raises(SagefitError) as caught:
        plan(project)
    line = str(caught.value)
    assert "mistral-7b-v0-3-support.yaml: base: adapter mistral-7b-v0-3-support: engine tgi cannot serve" in line
    assert "\n" not in line
