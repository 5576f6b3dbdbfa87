"""Capacity fallback on a shared endpoint (sagefit.core.shared_pool): the other candidate types that
pack the same fleet become the variant's instance pool, cheapest first, one storage kind, within the
price ceiling; each member gets its fit on every pool type; `instance_pool: off` turns it off."""

from __future__ import annotations

import json

from sagefit.cli import main
from sagefit.core import assumptions as A
from sagefit.core.packing import Packing
from tests.unit.test_packing import edit, plan, project  # noqa: F401 - the fixture

ENDPOINT = "endpoints/small-models.yaml"


def test_the_example_pools_both_four_gpu_types(project):
    shared = plan(project)
    assert shared.pool_types == ("ml.g6.12xlarge", "ml.g5.12xlarge")
    assert shared.spec.pool_types == shared.pool_types and shared.pool[0].instance is shared.instance
    best = shared.pool[0]
    for candidate in shared.pool[1:]:
        assert isinstance(candidate.packing, Packing) and candidate.packing.instances == shared.instances
        assert candidate.instance.local_nvme == best.instance.local_nvme
        assert candidate.price_per_hour <= best.price_per_hour * A.POOL_MAX_PRICE_RATIO
    assert "ml.g5.2xlarge" not in shared.pool_types  # one GPU each: three copies need three, over max_instances
    for member in shared.spec.members:
        assert [p.instance_type for p in member.pool] == list(shared.pool_types)
        assert [p.priority for p in member.pool] == [1, 2]
        assert (member.pool[0].accelerators, member.pool[0].min_memory_mb) == (
            member.container.accelerators,
            member.container.min_memory_mb,
        )
    assert shared.to_dict()["instance_pool"] == ["ml.g6.12xlarge", "ml.g5.12xlarge"]
    # what the spend meter prices each type at: the candidates' planned prices, in the pool's order
    assert shared.spec.instance_prices == tuple((c.instance.instance_type, c.price_per_hour) for c in shared.pool)
    assert shared.spec.instance_prices[0] == (shared.spec.instance_type, shared.spec.price_per_hour)


def test_off_deploys_the_planned_type_only(project):
    edit(project / ENDPOINT, instance_pool=False)  # YAML's unquoted off
    shared = plan(project)
    assert shared.pool == () and shared.spec.pool_types == ()
    assert all(m.pool == () for m in shared.spec.members)
    assert shared.spec.instance_prices == ((shared.spec.instance_type, shared.spec.price_per_hour),)


def test_a_fallback_that_packs_on_another_count_is_left_out(project):
    """Three one-GPU instances are cheaper than one four-GPU one: the three-instance fleet wins, and a
    four-GPU type, which packs the copies on one instance, cannot share its InitialInstanceCount."""
    edit(project / ENDPOINT, max_instances=3)
    shared = plan(project)
    assert (shared.instance_type, shared.instances) == ("ml.g5.2xlarge", 3)
    assert "ml.g6.12xlarge" not in shared.pool_types and "ml.g5.12xlarge" not in shared.pool_types


def test_a_fallback_dearer_than_the_ceiling_is_left_out(project):
    edit(project / ENDPOINT, instance_types=["ml.g6.12xlarge", "ml.g5.12xlarge", "ml.p4d.24xlarge"])
    shared = plan(project)
    assert "ml.p4d.24xlarge" not in shared.pool_types
    assert shared.pool_types == ("ml.g6.12xlarge", "ml.g5.12xlarge")


def test_the_plan_prints_the_pool(capsys, project):
    """The members without the example's adapter profile (the project fixture copies the members only)."""
    assert main(["plan", "--endpoint", "small-models", "--profiles", str(project)]) == 0
    out = capsys.readouterr().out
    assert "  instance pool (capacity fallback, in priority order): ml.g6.12xlarge $5.752/h > ml.g5.12xlarge" in out


def test_members_with_adapters_get_no_pool_and_the_plan_says_why(capsys, repo_root):
    """The example's mistral-7b-v0-3 is the base of model_profiles/mistral-7b-v0-3-support.yaml: no AWS
    source says an adapter component may sit on a pooled base's per-type Specifications."""
    assert main(["plan", "--endpoint", "small-models", "--profiles", str(repo_root / "model_profiles")]) == 0
    out = capsys.readouterr().out
    assert "instance pool (capacity fallback" not in out
    assert "  no instance pool: member mistral-7b-v0-3 has LoRA adapters, and a pooled base's component" in out
    assert (
        main(
            ["plan", "--endpoint", "small-models", "--profiles", str(repo_root / "model_profiles"), "--format", "json"]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["instance_pool"] == [] and "has LoRA adapters" in data["instance_pool_note"]
