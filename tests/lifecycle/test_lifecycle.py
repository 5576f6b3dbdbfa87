"""Day two against the strict emulator: every scaling mode through the updates a user makes.

Three small profiles (an always-on and a scale-to-zero copy of zephyr-7b, an async copy of
llama2-70b-awq) are written into a tmp profiles directory and deployed with the real CDK CLI into
the local emulator (``-c sagefit:profiles=DIR``), then taken through six steps:

1. deploy;
2. a new model environment (``serving.max_total_tokens``);
3. another instance type (pinned: g5.2xlarge -> g5.xlarge, g5.12xlarge -> g5.24xlarge);
4. a new maximum capacity;
5. the hard cap (its own code, :mod:`sagefit.hardcap.action`, with the settings of the deployed
   function's environment), then another environment change deployed on top;
6. destroy.

Each step is one ``cdk deploy`` (or ``destroy``) of all three stacks, so the app is synthesized once
per step; each test item asserts one mode after one step, through boto3 against the emulator: the
instance type of the endpoint's current config, instance and copy counts, and the scalable target
(resource id, dimension, bounds, suspended state). One emulator and one bootstrap serve the module.

What the emulator cannot prove, and these tests therefore do not claim: capacity that autoscaling
would change by itself (nothing scales in the emulator; an async endpoint stays at the one instance it
was created with until the cap sets 0), anything that takes time in AWS (every update is InService
at once), and that CloudFormation's InferenceComponent handler sends no copy count when the template's
RuntimeConfig is unchanged (the emulator assumes so; see the README's "Still different from AWS").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagefit.cdk_cli import profiles_context
from sagefit.core.modes import ScalingMode
from sagefit.emulator import lifecycle as emulator_lifecycle
from sagefit.emulator.local_target import LocalTarget, start_emulator
from sagefit.emulator.server import port_in_use
from sagefit.hardcap.action import CAPPED_SUSPENSION, cap_capacity, cap_target
from sagefit.hardcap.config import CapConfig
from tests.support.emulator import free_port
from tests.support.paths import PROFILES_DIR, REPO_ROOT

pytestmark = [pytest.mark.lifecycle, pytest.mark.slow]

REGION = "us-east-1"
NOT_SUSPENDED = {
    "DynamicScalingInSuspended": False,
    "DynamicScalingOutSuspended": False,
    "ScheduledScalingSuspended": False,
}
STEPS = ("deploy", "environment", "instance-type", "max-capacity", "capped-update", "destroy")


@dataclass(frozen=True)
class Case:
    """One scaling mode: its profile (derived from a seed) and the instance types it moves between."""

    mode: str
    seed: str
    name: str
    stack: str
    instance_types: tuple[str, str]
    min_capacity: int
    budget_usd: int

    @property
    def uses_component(self) -> bool:
        return ScalingMode(self.mode).uses_inference_component

    def endpoint_name(self, instance_type: str) -> str:
        """Variant endpoints carry the instance type in their name (sagefit.core.naming.endpoint_name)."""
        if self.uses_component:
            return self.name
        return f"{self.name}-{instance_type.removeprefix('ml.').replace('.', '-')}"

    def resource_id(self, instance_type: str) -> str:
        if self.uses_component:
            return f"inference-component/{self.name}-ic"
        return f"endpoint/{self.endpoint_name(instance_type)}/variant/AllTraffic"

    @property
    def dimension(self) -> str:
        return ScalingMode(self.mode).scalable_dimension


CASES = (
    Case("always-on", "zephyr-7b.yaml", "lc-on", "LcOnStack", ("ml.g5.2xlarge", "ml.g5.xlarge"), 1, 2000),
    Case("scale-to-zero", "zephyr-7b.yaml", "lc-zero", "LcZeroStack", ("ml.g5.2xlarge", "ml.g5.xlarge"), 0, 400),
    Case("async", "llama2-70b-awq.yaml", "lc-async", "LcAsyncStack", ("ml.g5.12xlarge", "ml.g5.24xlarge"), 0, 6000),
)
STACKS = [case.stack for case in CASES]


# ----------------------------------------------------------------------------- the profiles


def write_profile(directory: Path, case: Case, **changes: Any) -> None:
    """The seed's model with this case's name, mode and budget, and ``changes`` (dotted keys)."""
    profile = yaml.safe_load((PROFILES_DIR / case.seed).read_text())
    profile.pop("time_zone", None)
    profile.update(name=case.name, stack_name=case.stack)
    profile["serving"]["instance_type"] = case.instance_types[0]
    # One instance type per endpoint: these steps move between instance types (async and
    # scale-to-zero would otherwise fall back through instance pools, and an async endpoint
    # would be named by its pool; tests/stacks/test_updates.py covers pool changes).
    profile["serving"]["instance_pool"] = "off"
    profile["scaling"] = {"mode": case.mode, "max_capacity": 1}
    if case.min_capacity:
        profile["scaling"]["min_capacity"] = case.min_capacity
    profile["budget"] = {"monthly_usd": case.budget_usd, "hard_cap": True}
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        profile[section][key] = value
    (directory / f"{case.name}.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))


# What each step changes, cumulatively: every step's profiles carry the changes of the steps before.
PROFILE_CHANGES: dict[str, Callable[[Case], dict[str, Any]]] = {
    "deploy": lambda case: {},
    "environment": lambda case: {"serving.max_total_tokens": 3584},
    "instance-type": lambda case: {"serving.max_total_tokens": 3584, "serving.instance_type": case.instance_types[1]},
    "max-capacity": lambda case: {
        "serving.max_total_tokens": 3584,
        "serving.instance_type": case.instance_types[1],
        "scaling.max_capacity": 2,
    },
    "capped-update": lambda case: {
        "serving.max_total_tokens": 3840,
        "serving.instance_type": case.instance_types[1],
        "scaling.max_capacity": 2,
    },
}


# ----------------------------------------------------------------------------- the module's emulator


class Lifecycle:
    """The module's emulator and profiles; runs each step once, in order, whichever test asks first."""

    def __init__(self, target: LocalTarget, profiles: Path) -> None:
        self.target = target
        self.profiles = profiles
        self.done: list[str] = []
        self.failed: str | None = None
        self.seconds: dict[str, float] = {}
        self.capped_before_update: dict[str, dict[str, Any]] = {}
        self.configs: dict[str, dict[str, str]] = {}
        """step -> mode -> the endpoint config the endpoint runs on right after the step."""

    def run(self, step: str) -> None:
        for earlier in STEPS[: STEPS.index(step) + 1]:
            if earlier in self.done:
                continue
            if self.failed is not None:
                pytest.fail(f"step {self.failed!r} failed earlier; {step!r} cannot run")
            started = time.monotonic()
            try:
                self._apply(earlier)
            except BaseException:
                self.failed = earlier
                raise
            self.seconds[earlier] = time.monotonic() - started
            self.done.append(earlier)

    def _apply(self, step: str) -> None:
        if step == "destroy":
            self.target.destroy(*STACKS)
            return
        if step == "capped-update":
            for case in CASES:
                self.capped_before_update[case.mode] = self.cap(case)
        for case in CASES:
            write_profile(self.profiles, case, **PROFILE_CHANGES[step](case))
        self.target.deploy_stacks(STACKS)
        sagemaker = self.target.client("sagemaker")
        self.configs[step] = {
            case.mode: sagemaker.describe_endpoint(
                EndpointName=case.endpoint_name(
                    PROFILE_CHANGES[step](case).get("serving.instance_type", case.instance_types[0])
                )
            )["EndpointConfigName"]
            for case in CASES
        }

    def cap(self, case: Case) -> dict[str, Any]:
        """What the hard cap does, with the settings the deployed function runs with; returns the
        state it leaves (read back before the update that follows)."""
        config = CapConfig.from_env(self.function_environment(case))
        cap_target(config, self.target.client)
        cap_capacity(config, self.target.client)
        return observe(self.target, case, case.instance_types[1])

    def function_environment(self, case: Case) -> dict[str, str]:
        resources = self.target.client("cloudformation").list_stack_resources(StackName=case.stack)
        (name,) = [
            r["PhysicalResourceId"]
            for r in resources["StackResourceSummaries"]
            if r["ResourceType"] == "AWS::Lambda::Function" and r["LogicalResourceId"].startswith("HardCap")
        ]  # not the spend meter's function
        function = self.target.client("lambda").get_function_configuration(FunctionName=name)
        return function["Environment"]["Variables"]


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    """One emulator, bootstrapped once, for the module; its state file and log in a tmp folder (never
    the working tree's .sagefit/, where a user's kept emulator is recorded)."""
    state_dir = tmp_path_factory.mktemp("sagefit-state")
    profiles = tmp_path_factory.mktemp("profiles")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO_ROOT)  # the CDK CLI runs the app of cdk.json
        patch.setattr(emulator_lifecycle, "STATE_FILE", state_dir / "emulator.json")
        patch.setattr(emulator_lifecycle, "LOG_FILE", state_dir / "emulator.log")
        emulator = start_emulator(port=free_port())
        target = LocalTarget(emulator, REGION, profiles_context(profiles))
        try:
            for case in CASES:
                write_profile(profiles, case)
            target.bootstrap()
            yield Lifecycle(target, profiles)
        finally:
            target.close()
            emulator.stop()
    assert not port_in_use(emulator.port), "the emulator must be stopped afterwards"


# ----------------------------------------------------------------------------- reading the state


def observe(target: LocalTarget, case: Case, instance_type: str) -> dict[str, Any]:
    """The endpoint named for ``instance_type``: its config's instance type, counts, model environment
    and scalable target, as boto3 reads them from the emulator."""
    sagemaker = target.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=case.endpoint_name(instance_type))
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    (variant,) = config["ProductionVariants"]
    (running,) = endpoint["ProductionVariants"]
    state: dict[str, Any] = {
        "status": endpoint["EndpointStatus"],
        "config": endpoint["EndpointConfigName"],
        "instance_type": variant["InstanceType"],
        "instances": (running.get("CurrentInstanceCount"), running.get("DesiredInstanceCount")),
        "managed_max": (variant.get("ManagedInstanceScaling") or {}).get("MaxInstanceCount"),
    }
    model_name = variant.get("ModelName")
    if case.uses_component:
        component = sagemaker.describe_inference_component(InferenceComponentName=f"{case.name}-ic")
        runtime = component["RuntimeConfig"]
        state["copies"] = (runtime["CurrentCopyCount"], runtime["DesiredCopyCount"])
        state["component_endpoint"] = component["EndpointName"]
        model_name = component["Specification"]["ModelName"]
    state["max_model_len"] = sagemaker.describe_model(ModelName=model_name)["PrimaryContainer"]["Environment"][
        "OPTION_MAX_MODEL_LEN"
    ]
    targets = target.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"
    ]
    state["targets"] = {t["ResourceId"]: t for t in targets if case.name in t["ResourceId"]}
    return state


def assert_endpoint(
    state: dict[str, Any],
    case: Case,
    *,
    instance_type: str,
    capacity: int,
    max_capacity: int,
    max_model_len: str,
    minimum: int | None = None,
    suspended: dict[str, bool] = NOT_SUSPENDED,
    profile_max: int | None = None,
) -> None:
    """One step's expected state. ``capacity``: copies (scale-to-zero) or instances (the others);
    ``max_capacity`` the target's maximum, ``profile_max`` the profile's (the same unless capped)."""
    assert state["status"] == "InService"
    assert state["instance_type"] == instance_type
    assert state["max_model_len"] == max_model_len
    if case.uses_component:
        assert state["copies"] == (capacity, capacity)
        assert state["component_endpoint"] == case.name
        # Managed instance scaling follows the profile's maximum (the cap holds the target, not the config).
        assert state["managed_max"] == (max_capacity if profile_max is None else profile_max)
    else:
        assert state["instances"] == (capacity, capacity)
    resource_id = case.resource_id(instance_type)
    assert list(state["targets"]) == [resource_id], "exactly one scalable target, on the current endpoint"
    registered = state["targets"][resource_id]
    low = case.min_capacity if minimum is None else minimum
    assert (registered["ScalableDimension"], registered["MinCapacity"], registered["MaxCapacity"]) == (
        case.dimension,
        low,
        max_capacity,
    )
    assert registered["SuspendedState"] == suspended


MODES = [pytest.param(case, id=case.mode) for case in CASES]


# ----------------------------------------------------------------------------- the steps


@pytest.mark.parametrize("case", MODES)
def test_1_deploy(lifecycle: Lifecycle, case: Case) -> None:
    lifecycle.run("deploy")
    first = case.instance_types[0]
    state = observe(lifecycle.target, case, first)
    assert_endpoint(state, case, instance_type=first, capacity=1, max_capacity=1, max_model_len="4096")
    if case.uses_component:
        assert state["instances"] == (1, 1)  # InitialInstanceCount 1; managed scaling owns it after


@pytest.mark.parametrize("case", MODES)
def test_2_environment_update(lifecycle: Lifecycle, case: Case) -> None:
    lifecycle.run("environment")
    first = case.instance_types[0]
    state = observe(lifecycle.target, case, first)
    # The same endpoint, on the new model; the counts and the scalable target untouched.
    assert_endpoint(state, case, instance_type=first, capacity=1, max_capacity=1, max_model_len="3584")
    configs = lifecycle.configs
    if case.uses_component:  # the component's model changed; the endpoint config names no model
        assert configs["environment"][case.mode] == configs["deploy"][case.mode]
    else:  # a new endpoint config (its model changed), the same endpoint
        assert configs["environment"][case.mode] != configs["deploy"][case.mode]


@pytest.mark.parametrize("case", MODES)
def test_3_instance_type_change(lifecycle: Lifecycle, case: Case) -> None:
    lifecycle.run("instance-type")
    old, new = case.instance_types
    state = observe(lifecycle.target, case, new)
    assert_endpoint(state, case, instance_type=new, capacity=1, max_capacity=1, max_model_len="3584")
    if not case.uses_component:
        # A new endpoint (its name carries the instance type) with its own target; the old one is gone.
        sagemaker = lifecycle.target.client("sagemaker")
        with pytest.raises(sagemaker.exceptions.ClientError):
            sagemaker.describe_endpoint(EndpointName=case.endpoint_name(old))


@pytest.mark.parametrize("case", MODES)
def test_4_max_capacity_change(lifecycle: Lifecycle, case: Case) -> None:
    lifecycle.run("max-capacity")
    new = case.instance_types[1]
    state = observe(lifecycle.target, case, new)
    assert_endpoint(state, case, instance_type=new, capacity=1, max_capacity=2, max_model_len="3584")


@pytest.mark.parametrize("case", MODES)
def test_5_capped_endpoint_stays_capped_through_an_update(lifecycle: Lifecycle, case: Case) -> None:
    """The cap holds zero (scale-to-zero, async) or the minimum (always-on: a real-time variant cannot
    run 0 instances), with scale-out and schedules suspended; the update changes the model only."""
    lifecycle.run("capped-update")
    new = case.instance_types[1]
    held = case.min_capacity
    capped: dict[str, Any] = {
        "instance_type": new,
        "capacity": held,
        "max_capacity": held,
        "minimum": held,
        "suspended": CAPPED_SUSPENSION,
        "profile_max": 2,
    }
    assert_endpoint(lifecycle.capped_before_update[case.mode], case, **capped, max_model_len="3584")
    state = observe(lifecycle.target, case, new)
    assert_endpoint(state, case, **capped, max_model_len="3840")  # the update happened; the cap held


@pytest.mark.parametrize("case", MODES)
def test_6_destroy(lifecycle: Lifecycle, case: Case) -> None:
    lifecycle.run("destroy")
    target = lifecycle.target
    sagemaker = target.client("sagemaker")
    for instance_type in case.instance_types:
        with pytest.raises(sagemaker.exceptions.ClientError):
            sagemaker.describe_endpoint(EndpointName=case.endpoint_name(instance_type))
    if case.uses_component:
        with pytest.raises(sagemaker.exceptions.ClientError):
            sagemaker.describe_inference_component(InferenceComponentName=f"{case.name}-ic")
    targets = target.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"
    ]
    assert [t["ResourceId"] for t in targets if case.name in t["ResourceId"]] == []
    assert case.stack not in target.deployed_stacks()
