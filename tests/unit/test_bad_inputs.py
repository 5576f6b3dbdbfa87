"""The bad-input corpus: every input here is wrong, and every one must end the same way.

Each case runs one `sagefit` command (or the CDK app's -c handling) in a project tree under tmp_path:
two seed profiles, a copy of the catalog, and whatever file the case adds or breaks. It must exit 2
with exactly one ``sagefit: error:`` line naming the file or the flag at fault, print no traceback,
and leave every byte of the tree as it was. Operations and deploy cases are ones that fail before
any AWS call: a session or a CDK CLI run fails the test.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sagefit.cli import main
from sagefit.core.catalog import packaged_catalog_path
from sagefit.core.errors import SagefitError
from tests.support.network import network_yaml
from tests.support.paths import PROFILES_DIR

ZEPHYR = "profiles/zephyr-7b.yaml"
MISTRAL = "profiles/mistral-7b.yaml"
CATALOG = "catalog.yaml"


@dataclass(frozen=True)
class Case:
    """One bad input: files to write or edit in the tree, the command, and what its error must name."""

    id: str
    argv: list[str]
    names: str
    edits: tuple[tuple[str, str, str], ...] = ()
    files: dict[str, str | bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    stdin: str | None = None


def edit(path: str, old: str, new: str) -> tuple[tuple[str, str, str], ...]:
    return ((path, old, new),)


VALIDATE = ["validate", "--profiles", "profiles"]
PLAN_WITH_CATALOG = ["plan", "--profiles", "profiles", "--catalog", CATALOG]


def cost(*extra: str) -> list[str]:
    return ["cost", "zephyr-7b", "--profiles", "profiles", *extra]


def traffic(spec: str) -> list[str]:
    return cost("--traffic", spec, "--mode", "scale-to-zero")


PROFILE_CASES = [
    Case(
        "max_capacity absurd",
        VALIDATE,
        f"{ZEPHYR}: scaling.max_capacity",
        edit(
            ZEPHYR,
            "scaling:\n  mode: scale-to-zero\n  max_capacity: 1",
            "scaling:\n  mode: scale-to-zero\n  max_capacity: 1000000000",
        ),
    ),
    Case(
        "monthly_usd infinite",
        VALIDATE,
        f"{MISTRAL}: budget.monthly_usd",
        edit(MISTRAL, "monthly_usd: 400", "monthly_usd: .inf"),
    ),
    Case(
        "monthly_usd nan",
        VALIDATE,
        f"{MISTRAL}: budget.monthly_usd",
        edit(MISTRAL, "monthly_usd: 400", "monthly_usd: .nan"),
    ),
    Case(
        "monthly_usd negative",
        VALIDATE,
        f"{MISTRAL}: budget.monthly_usd",
        edit(MISTRAL, "monthly_usd: 400", "monthly_usd: -5"),
    ),
    Case(
        "monthly_usd absurd",
        VALIDATE,
        f"{MISTRAL}: budget.monthly_usd",
        edit(MISTRAL, "monthly_usd: 400", "monthly_usd: 1e12"),
    ),
    Case(
        "monthly_usd text",
        VALIDATE,
        f"{MISTRAL}: budget.monthly_usd",
        edit(MISTRAL, "monthly_usd: 400", "monthly_usd: lots"),
    ),
    Case(
        "duplicate top-level key",
        VALIDATE,
        f"{MISTRAL}: duplicate key 'region'",
        edit(MISTRAL, "region: us-east-1\n", "region: us-east-1\nregion: eu-west-1\n"),
    ),
    Case(
        "duplicate nested key",
        VALIDATE,
        f"{MISTRAL}: duplicate key 'max_capacity'",
        edit(MISTRAL, "  max_capacity: 2\n", "  max_capacity: 2\n  max_capacity: 3\n"),
    ),
    Case(
        "unknown container_version",
        VALIDATE,
        f"{MISTRAL}: serving.container_version",
        edit(MISTRAL, "  max_input_tokens: 7168\n", "  container_version: 9.9.9\n  max_input_tokens: 7168\n"),
    ),
    Case(
        "cron banana", VALIDATE, f"{ZEPHYR}: scaling.schedules", edit(ZEPHYR, "cron(0 8 ? * MON-FRI *)", "cron(banana)")
    ),
    Case(
        "rate zero minutes",
        VALIDATE,
        f"{ZEPHYR}: scaling.schedules",
        edit(ZEPHYR, "cron(0 8 ? * MON-FRI *)", "rate(0 minutes)"),
    ),
    Case(
        "name with trailing hyphen",
        VALIDATE,
        f"{ZEPHYR}: name",
        edit(ZEPHYR, "name: zephyr-7b\n", "name: zephyr-7b-\n"),
    ),
    Case(
        "inference component name too long",
        VALIDATE,
        f"{ZEPHYR}: name",
        edit(ZEPHYR, "name: zephyr-7b\n", f"name: {'z' * 62}\n"),
    ),
    Case(
        "stack name with underscore",
        VALIDATE,
        f"{ZEPHYR}: stack_name",
        edit(ZEPHYR, "stack_name: ZephyrStack", "stack_name: Zephyr_Stack"),
    ),
    Case(
        "parameters of 400 digits",
        VALIDATE,
        f"{ZEPHYR}: model.architecture.parameters",
        edit(ZEPHYR, "parameters: 7241732096", f"parameters: {'9' * 400}"),
    ),
    Case(
        "parameters infinite float",
        VALIDATE,
        f"{ZEPHYR}: model.architecture.parameters",
        edit(ZEPHYR, "parameters: 7241732096", "parameters: 1.0e+400"),
    ),
    Case(
        "context length absurd",
        VALIDATE,
        f"{ZEPHYR}: model.architecture.context_length",
        edit(ZEPHYR, "context_length: 32768", "context_length: 1000000000000"),
    ),
    Case(
        "target concurrency absurd",
        VALIDATE,
        f"{ZEPHYR}: serving.target_concurrency",
        edit(ZEPHYR, "target_concurrency: 4", "target_concurrency: 100000"),
    ),
    Case(
        "decode floor infinite",
        VALIDATE,
        f"{ZEPHYR}: serving.min_decode_tokens_per_s",
        edit(ZEPHYR, "min_decode_tokens_per_s: 15", "min_decode_tokens_per_s: .inf"),
    ),
    Case(
        "hard cap percent nan",
        VALIDATE,
        f"{MISTRAL}: budget.hard_cap_percent",
        edit(MISTRAL, "monthly_usd: 400\n", "monthly_usd: 400\n  hard_cap_percent: .nan\n"),
    ),
    Case(
        "scheduled capacity absurd",
        VALIDATE,
        f"{ZEPHYR}: scaling.schedules.0.max_capacity",
        edit(
            ZEPHYR, "      min_capacity: 1\n      max_capacity: 1\n", "      min_capacity: 1\n      max_capacity: 500\n"
        ),
    ),
    Case("malformed yaml", VALIDATE, f"{ZEPHYR}: malformed YAML at line", edit(ZEPHYR, "serving:\n", "serving: [\n")),
    Case("profile is a list", VALIDATE, f"{ZEPHYR}: the profile must be a YAML mapping", files={ZEPHYR: "- a\n- b\n"}),
    Case("profile not utf-8", VALIDATE, f"{ZEPHYR}: cannot read the profile", files={ZEPHYR: b"name: \xff\xfe\n"}),
    Case("profile nested too deep", VALIDATE, f"{ZEPHYR}:", files={ZEPHYR: "a: " + "[" * 5000}),
    Case(
        "control character",
        VALIDATE,
        f"{ZEPHYR}: malformed YAML at line 7: character",
        edit(ZEPHYR, "license: MIT", "license: M\x07IT"),
    ),
    Case("unknown region", VALIDATE, f"{ZEPHYR}: region", edit(ZEPHYR, "region: us-east-1", "region: us-esat-1")),
    Case(
        "unknown instance type",
        VALIDATE,
        f"{ZEPHYR}: serving.instance_type",
        edit(ZEPHYR, "instance_type: ml.g5.2xlarge", "instance_type: ml.g9.2xlarge"),
    ),
    Case(
        "instance pool not fitting",
        VALIDATE,
        f"{ZEPHYR}: serving.instance_pool",
        edit(
            ZEPHYR,
            "instance_type: ml.g5.2xlarge",
            "instance_type: ml.g5.2xlarge\n  instance_pool: [ml.g5.2xlarge, ml.g9.xlarge]",
        ),
    ),
    Case(
        "instance pool repeated",
        VALIDATE,
        f"{ZEPHYR}: serving.instance_pool",
        edit(
            ZEPHYR,
            "instance_type: ml.g5.2xlarge",
            "instance_type: ml.g5.2xlarge\n  instance_pool: [ml.g5.2xlarge, ml.g5.2xlarge]",
        ),
    ),
    Case(
        "unknown time zone",
        VALIDATE,
        f"{ZEPHYR}: time_zone",
        edit(ZEPHYR, "time_zone: Europe/Berlin\nscaling", "time_zone: Mars/Base\nscaling"),
    ),
    Case(
        "misspelt field",
        VALIDATE,
        f"{ZEPHYR}: serving.max_total_tokenz",
        edit(ZEPHYR, "max_total_tokens:", "max_total_tokenz:"),
    ),
    Case(
        "kv heads not dividing",
        VALIDATE,
        f"{ZEPHYR}: model.architecture.kv_heads",
        edit(ZEPHYR, "kv_heads: 8", "kv_heads: 7"),
    ),
    Case(
        "input above total",
        VALIDATE,
        f"{ZEPHYR}: serving.max_input_tokens",
        edit(ZEPHYR, "max_input_tokens: 3072", "max_input_tokens: 5000"),
    ),
    Case(
        "unknown scaling mode",
        VALIDATE,
        f"{ZEPHYR}: scaling.mode",
        edit(ZEPHYR, "mode: scale-to-zero", "mode: sometimes"),
    ),
    Case(
        "duplicate stack name",
        VALIDATE,
        "duplicate stack_name 'ZephyrStack'",
        files={
            "profiles/zz-copy.yaml": (PROFILES_DIR / "zephyr-7b.yaml")
            .read_text()
            .replace("name: zephyr-7b", "name: zephyr-copy")
        },
    ),
    Case(
        "no profiles",
        ["validate", "--profiles", "empty"],
        "empty: no *.yaml profiles found",
        files={"empty/notes.txt": "x"},
    ),
    Case("profiles dir missing", ["validate", "--profiles", "nowhere"], "nowhere: profiles directory not found"),
    Case(
        "plan with absurd capacity",
        ["plan", "--profiles", "profiles"],
        f"{MISTRAL}: scaling.max_capacity",
        edit(MISTRAL, "max_capacity: 2", "max_capacity: 100000"),
    ),
    Case(
        "plan with a fleet that burns its budget in hours",
        ["plan", "--profiles", "profiles"],
        f"{MISTRAL}: scaling.max_capacity",
        edit(MISTRAL, "max_capacity: 2", "max_capacity: 60"),
    ),
    Case(
        "min_hours_to_burn over a month",
        VALIDATE,
        f"{MISTRAL}: budget.min_hours_to_burn",
        edit(MISTRAL, "monthly_usd: 400\n", "monthly_usd: 400\n  min_hours_to_burn: 1000\n"),
    ),
    Case(
        "cooldown under AWS's 5 minutes",
        VALIDATE,
        f"{ZEPHYR}: scaling.scale_in_cooldown_minutes",
        edit(ZEPHYR, "  schedules:", "  scale_in_cooldown_minutes: 2\n  schedules:"),
    ),
    Case(
        "plan with infinite budget",
        ["plan", "--profiles", "profiles", "--format", "json"],
        f"{MISTRAL}: budget.monthly_usd",
        edit(MISTRAL, "monthly_usd: 400", "monthly_usd: .inf"),
    ),
    Case(
        "network isolation without S3 weights",
        VALIDATE,
        f"{ZEPHYR}: network.isolation: network isolation needs the weights in S3",
        edit(ZEPHYR, "\nname: zephyr-7b\n", "\nname: zephyr-7b\n" + network_yaml()),
    ),
    Case(
        "network isolation with a gated Hub model",
        VALIDATE,
        f"{MISTRAL}: network.isolation: mistralai/Mistral-7B-Instruct-v0.1 is a gated Hub model",
        edit(MISTRAL, "\nbudget:\n", "\n" + network_yaml() + "budget:\n"),
    ),
    Case(
        "network subnets in one zone",
        VALIDATE,
        f"{ZEPHYR}: network.subnets: the subnets are all in one Availability Zone",
        edit(ZEPHYR, "\nname: zephyr-7b\n", "\nname: zephyr-7b\n" + network_yaml(False, ("us-east-1a", "us-east-1a"))),
    ),
    Case(
        "network vpc without security groups",
        VALIDATE,
        f"{ZEPHYR}: network: network.vpc_id needs subnets and security_group_ids",
        edit(ZEPHYR, "\nname: zephyr-7b\n", "\nname: zephyr-7b\nnetwork:\n  vpc_id: vpc-0123456789abcdef0\n"),
    ),
    Case(
        "network subnets without a vpc",
        VALIDATE,
        f"{ZEPHYR}: network: subnets and security groups need network.vpc_id",
        edit(ZEPHYR, "\nname: zephyr-7b\n", "\nname: zephyr-7b\nnetwork:\n  security_group_ids: [sg-0123abcd]\n"),
    ),
    Case(
        "network bad subnet id",
        VALIDATE,
        f"{ZEPHYR}: network.subnets.0.id",
        edit(
            ZEPHYR,
            "\nname: zephyr-7b\n",
            "\nname: zephyr-7b\n" + network_yaml(False).replace("subnet-0aaaaaaaaaaaaaaa1", "subnet-xyz"),
        ),
    ),
    Case(
        "new vpc with an existing vpc id",
        VALIDATE,
        f"{ZEPHYR}: network.new_vpc: new_vpc creates a VPC",
        edit(
            ZEPHYR,
            "\nname: zephyr-7b\n",
            "\nname: zephyr-7b\nnetwork:\n  new_vpc: {}\n  vpc_id: vpc-0123456789abcdef0\n",
        ),
    ),
    Case(
        "new vpc with Hub weights",
        VALIDATE,
        f"{ZEPHYR}: network.new_vpc: a new VPC has no internet route",
        edit(ZEPHYR, "\nname: zephyr-7b\n", "\nname: zephyr-7b\nnetwork:\n  new_vpc: {}\n"),
    ),
    Case(
        "model data neither prefix nor archive",
        VALIDATE,
        f"{ZEPHYR}: model.model_data_s3_uri: 's3://my-models/zephyr' is neither",
        edit(ZEPHYR, "\nmodel:\n", "\nmodel:\n  model_data_s3_uri: s3://my-models/zephyr\n"),
    ),
]

CATALOG_PRICE = "price: {us-east-1: 0.7364}"
CATALOG_CASES = [
    Case(
        "negative price",
        PLAN_WITH_CATALOG,
        f"{CATALOG}: instances[0].price.us-east-1",
        edit(CATALOG, CATALOG_PRICE, "price: {us-east-1: -0.5}"),
    ),
    Case(
        "zero price",
        PLAN_WITH_CATALOG,
        f"{CATALOG}: instances[0].price.us-east-1",
        edit(CATALOG, CATALOG_PRICE, "price: {us-east-1: 0}"),
    ),
    Case(
        "infinite price",
        PLAN_WITH_CATALOG,
        f"{CATALOG}: instances[0].price.us-east-1",
        edit(CATALOG, CATALOG_PRICE, "price: {us-east-1: .inf}"),
    ),
    Case(
        "absurd price",
        PLAN_WITH_CATALOG,
        f"{CATALOG}: instances[0].price.us-east-1",
        edit(CATALOG, CATALOG_PRICE, "price: {us-east-1: 99999}"),
    ),
    Case(
        "price as text",
        PLAN_WITH_CATALOG,
        f"{CATALOG}: instances[0].price.us-east-1",
        edit(CATALOG, CATALOG_PRICE, "price: {us-east-1: cheap}"),
    ),
    Case(
        "duplicate price region",
        PLAN_WITH_CATALOG,
        f"{CATALOG}: not a valid instance catalog (duplicate key 'us-east-1'",
        edit(CATALOG, CATALOG_PRICE, "price: {us-east-1: 0.7364, us-east-1: 0.1}"),
    ),
    Case(
        "duplicate instance row",
        PLAN_WITH_CATALOG,
        "instances[1].instance_type: ml.g4dn.xlarge is listed twice",
        edit(CATALOG, "instance_type: ml.g4dn.12xlarge", "instance_type: ml.g4dn.xlarge"),
    ),
    Case(
        "duplicate accelerator row",
        PLAN_WITH_CATALOG,
        "accelerators[1].name: NVIDIA T4 is listed twice",
        edit(CATALOG, "  - name: NVIDIA A10G", "  - name: NVIDIA T4"),
    ),
    Case(
        "infinite memory",
        PLAN_WITH_CATALOG,
        f"{CATALOG}: accelerators[0].memory_mib",
        edit(CATALOG, "memory_mib: 15360", "memory_mib: .inf"),
    ),
    Case(
        "zero bandwidth",
        PLAN_WITH_CATALOG,
        f"{CATALOG}: accelerators[0].bandwidth_gb_s",
        edit(CATALOG, "bandwidth_gb_s: 320", "bandwidth_gb_s: 0"),
    ),
    Case(
        "negative vcpus", PLAN_WITH_CATALOG, f"{CATALOG}: instances[1].vcpus", edit(CATALOG, "vcpus: 48", "vcpus: -48")
    ),
    Case(
        "catalog is a list",
        PLAN_WITH_CATALOG,
        f"{CATALOG}: not a valid instance catalog",
        files={CATALOG: "- 1\n- 2\n"},
    ),
    Case(
        "catalog regions missing",
        PLAN_WITH_CATALOG,
        f"{CATALOG}: not a valid instance catalog",
        edit(CATALOG, "\nregions:", "\nregion_list:"),
    ),
    Case(
        "duplicate region",
        PLAN_WITH_CATALOG,
        f"{CATALOG}: regions: us-east-1 is listed twice",
        edit(CATALOG, "regions: [af-south-1,", "regions: [us-east-1, af-south-1,"),
    ),
    Case(
        "unknown accelerator",
        PLAN_WITH_CATALOG,
        f"{CATALOG}: instances[0].accelerator",
        edit(CATALOG, "accelerator: NVIDIA T4\n", "accelerator: NVIDIA T5\n"),
    ),
    Case(
        "cost with an infinite figure",
        cost("--catalog", CATALOG),
        f"{CATALOG}: accelerators[1].bandwidth_gb_s",
        edit(CATALOG, "bandwidth_gb_s: 600", "bandwidth_gb_s: .inf"),
    ),
    Case(
        "broken project catalog",
        ["plan", "--profiles", "profiles"],
        "sagefit-catalog.yaml",
        files={"sagefit-catalog.yaml": "regions: [us-east-1]\naccelerators: []\ninstances: 5\n"},
    ),
    Case("catalog missing", ["plan", "--catalog", "nope.yaml"], "nope.yaml: cannot read the catalog"),
]

TRAFFIC_CASES = [
    Case("monthly text", traffic("monthly:abc"), "--traffic: cannot read 'abc'"),
    Case("monthly of 400 digits", traffic("monthly:" + "9" * 400), "--traffic:"),
    Case("monthly over the cap", traffic("monthly:60M"), "--traffic:"),
    Case("steady zero", traffic("steady:0/s"), "--traffic: rate"),
    Case("steady of 400 digits", traffic("steady:" + "9" * 400 + "/s"), "--traffic: rate"),
    Case("steady over the cap", traffic("steady:50/s"), "--traffic:"),
    Case("burst cycle of seconds", traffic("burst:rate=1/h,busy=1s,idle=1s"), "--traffic: busy=1s plus idle=1s"),
    Case("burst of a century", traffic("burst:rate=1/h,busy=36500d,idle=1d"), "--traffic: busy"),
    Case("burst without idle", traffic("burst:rate=10/h,busy=3h"), "--traffic: burst needs idle="),
    Case("business hours per week", traffic("business-hours:200/week"), "--traffic:"),
    Case("business hours backwards", traffic("business-hours:200/day@18-9"), "--traffic: business hours"),
    Case("unknown kind", traffic("weekly:5"), "--traffic: unknown traffic kind"),
    Case("empty spec", traffic(""), "--traffic: cannot read traffic"),
    Case("trace missing", traffic("trace:missing.csv"), "missing.csv: cannot read the trace"),
    Case(
        "trace in microseconds",
        traffic("trace:t.csv"),
        "t.csv: line 1: '1785657600000000' looks like",
        files={"t.csv": "1785657600000000\n"},
    ),
    Case("trace mixing forms", traffic("trace:t.csv"), "t.csv: line 2:", files={"t.csv": "1785657600\n30\n"}),
    Case(
        "trace after the month",
        traffic("trace:t.csv"),
        "--traffic: the trace t.csv has no request inside the month",
        files={"t.csv": f"{800 * 3600}\n{801 * 3600}\n"},
    ),
    Case("trace negative time", traffic("trace:t.csv"), "t.csv: line 2:", files={"t.csv": "0\n-5\n"}),
    Case("trace infinite time", traffic("trace:t.csv"), "t.csv: line 1:", files={"t.csv": "inf\n"}),
    Case("trace zero output", traffic("trace:t.csv"), "t.csv: line 1: tokens_out", files={"t.csv": "0,10,0\n"}),
    Case("trace not utf-8", traffic("trace:t.csv"), "t.csv: cannot read the trace", files={"t.csv": b"0\n\xff\xfe\n"}),
    Case("trace empty", traffic("trace:t.csv"), "t.csv: the trace has no requests", files={"t.csv": "# nothing\n"}),
    Case("trace a directory", traffic("trace:profiles"), "profiles: cannot read the trace"),
    Case("assume infinite", cost("--assume", "container_start_s=1e400"), "--assume: container_start_s"),
    Case("assume absurd bandwidth", cost("--assume", "model_load_gb_s=5000"), "--assume: model_load_gb_s"),
    Case("assume ratio above one", cost("--assume", "scale_in_ratio=2"), "--assume: scale_in_ratio"),
    Case("assume a month of seconds", cost("--assume", "alarm_delay_s=1e9"), "--assume: alarm_delay_s"),
    Case("assume unknown", cost("--assume", "speed=3"), "--assume: unknown assumption"),
    Case("negative seed", cost("--seed", "-1"), "--seed: -1 is not a seed"),
    Case("plot not png", cost("--plot", "cost.jpg"), "--plot: cost.jpg"),
]

OPERATIONS_CASES = [
    Case(
        "invoke empty prompt", ["invoke", "MistralStack", "  ", "--profiles", "profiles"], "PROMPT: the prompt is empty"
    ),
    Case(
        "invoke prompt too long",
        ["invoke", "MistralStack", "x" * 80_000, "--profiles", "profiles"],
        "PROMPT: the prompt is 80,000 characters",
    ),
    Case(
        "invoke empty stdin",
        ["invoke", "MistralStack", "-", "--profiles", "profiles"],
        "PROMPT: the prompt is empty",
        stdin="",
    ),
    Case(
        "invoke prompt file missing",
        ["invoke", "MistralStack", "--prompt-file", "p.txt", "--profiles", "profiles"],
        "--prompt-file: cannot read the prompt from p.txt",
    ),
    Case(
        "invoke prompt file not utf-8",
        ["invoke", "MistralStack", "--prompt-file", "p.txt", "--profiles", "profiles"],
        "--prompt-file:",
        files={"p.txt": b"\xff\xfe"},
    ),
    Case(
        "invoke two prompts",
        ["invoke", "MistralStack", "hi", "--prompt-file", "p.txt", "--profiles", "profiles"],
        "PROMPT: give the prompt once",
        files={"p.txt": "hi"},
    ),
    Case("invoke no prompt", ["invoke", "MistralStack", "--profiles", "profiles"], "PROMPT: no prompt given"),
    Case(
        "invoke zero new tokens",
        ["invoke", "MistralStack", "hi", "--max-new-tokens", "0", "--profiles", "profiles"],
        "--max-new-tokens: 0 is not a token count",
    ),
    Case(
        "invoke too many new tokens",
        ["invoke", "MistralStack", "hi", "--max-new-tokens", "10000", "--profiles", "profiles"],
        "--max-new-tokens:",
    ),
    Case(
        "invoke unknown stack",
        ["invoke", "NoStack", "hi", "--profiles", "profiles"],
        "no profile or stack named 'NoStack'",
    ),
    Case(
        "status unknown stack",
        ["status", "mistrl-7b", "--profiles", "profiles"],
        "no profile or stack named 'mistrl-7b'",
    ),
    Case(
        "status with a bad profile",
        ["status", "--profiles", "profiles"],
        f"{MISTRAL}: budget.monthly_usd",
        edit(MISTRAL, "monthly_usd: 400", "monthly_usd: .inf"),
    ),
    Case(
        "resume unknown stack", ["resume", "NoStack", "--profiles", "profiles"], "no profile or stack named 'NoStack'"
    ),
    Case(
        "preflight with a bad profile",
        ["preflight", "MistralStack", "--profiles", "profiles"],
        f"{MISTRAL}: scaling.max_capacity",
        edit(MISTRAL, "max_capacity: 2", "max_capacity: 5000"),
    ),
    Case(
        "deploy unknown stack", ["deploy", "NoStack", "--profiles", "profiles"], "no profile or stack named 'NoStack'"
    ),
    Case(
        "deploy a bad profile",
        ["deploy", "MistralStack", "--profiles", "profiles"],
        f"{MISTRAL}: serving.container_version",
        edit(MISTRAL, "  max_input_tokens: 7168\n", "  container_version: 0.0.1\n  max_input_tokens: 7168\n"),
    ),
    Case("deploy unknown target", ["deploy", "MistralStack", "--target", "mars", "--profiles", "profiles"], "--target"),
    Case(
        "destroy unknown stack", ["destroy", "NoStack", "--profiles", "profiles"], "no profile or stack named 'NoStack'"
    ),
    Case(
        "prices refresh unknown region",
        ["prices", "refresh", "--catalog", CATALOG, "--region", "mars-1"],
        "--region: unknown region",
    ),
    Case(
        "prices refresh at the emulator",
        ["prices", "refresh", "--catalog", CATALOG],
        "prices refresh: AWS_ENDPOINT_URL points at http://127.0.0.1:5055",
        env={"AWS_ENDPOINT_URL": "http://127.0.0.1:5055"},
    ),
    Case(
        "prices refresh the package",
        ["prices", "refresh", "--catalog", str(packaged_catalog_path())],
        "the packaged catalog is read-only",
    ),
    Case(
        "prices refresh a broken catalog",
        ["prices", "refresh", "--catalog", CATALOG],
        f"{CATALOG}: instances[0].price.us-east-1",
        edit(CATALOG, CATALOG_PRICE, "price: {us-east-1: -1}"),
    ),
]


def recommend(*extra: str) -> list[str]:
    return ["recommend", "zephyr-7b", "--profiles", "profiles", *extra]


RECOMMEND_CASES = [
    Case("recommend without traffic", recommend(), "--traffic"),
    Case("recommend latency as text", recommend("--traffic", "monthly:10", "--p95-latency", "soon"), "--p95-latency"),
    Case("recommend latency zero", recommend("--traffic", "monthly:10", "--p95-latency", "0"), "--p95-latency"),
    Case("recommend latency over a day", recommend("--traffic", "monthly:10", "--p95-latency", "1e9"), "--p95-latency"),
    Case("recommend top zero", recommend("--traffic", "monthly:10", "--top", "0"), "--top"),
    Case("recommend bad traffic", recommend("--traffic", "monthly:lots"), "--traffic"),
    Case(
        "recommend unknown profile",
        ["recommend", "zephyr-8b", "--profiles", "profiles", "--traffic", "monthly:10"],
        "no profile or stack named 'zephyr-8b'",
    ),
]

CLI_CASES = PROFILE_CASES + CATALOG_CASES + TRAFFIC_CASES + OPERATIONS_CASES + RECOMMEND_CASES


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[Case], dict[str, bytes]]:
    """A project root with two seed profiles and a catalog copy; applies a case's files and edits and
    returns the snapshot to compare with after the run. No AWS call or CDK CLI run may happen."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "profiles").mkdir()
    for name in ("zephyr-7b.yaml", "mistral-7b.yaml"):
        (tmp_path / "profiles" / name).write_text((PROFILES_DIR / name).read_text())
    (tmp_path / CATALOG).write_text(packaged_catalog_path().read_text())
    for target in ("sagefit.cli.target.target_session", "sagefit.cli.operations.target_session"):
        monkeypatch.setattr(target, lambda *_a, **_k: pytest.fail("an AWS session was made"))
    for target in ("sagefit.cdk_cli.deploy_aws", "sagefit.cdk_cli.destroy_aws"):
        monkeypatch.setattr(target, lambda *_a, **_k: pytest.fail("the CDK CLI ran"), raising=False)
    monkeypatch.setattr("sagefit.ops.prices.pricing_client", lambda: pytest.fail("a pricing client was made"))

    def prepare(case: Case) -> dict[str, bytes]:
        for path, content in case.files.items():
            target = tmp_path / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        for path, old, new in case.edits:
            text = (tmp_path / path).read_text()
            assert old in text, f"{case.id}: {old!r} not in {path}"
            (tmp_path / path).write_text(text.replace(old, new, 1))
        for key, value in case.env.items():
            monkeypatch.setenv(key, value)
        if case.stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(case.stdin))
        return _snapshot(tmp_path)

    return prepare


def assert_one_error_line(err: str, names: str) -> None:
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("sagefit: error:")]
    assert len(errors) == 1, err
    assert names in errors[0], f"{names!r} not in {errors[0]!r}"
    assert "fix:" in errors[0], errors[0]


@pytest.mark.parametrize("case", CLI_CASES, ids=[case.id for case in CLI_CASES])
def test_a_bad_input_is_one_line_exit_2_and_changes_nothing(case: Case, tree, capsys):
    before = tree(case)
    assert main(case.argv) == 2
    _out, err = capsys.readouterr()
    assert_one_error_line(err, case.names)
    assert _snapshot(Path.cwd()) == before


# --------------------------------------------------------------------------- -c context of the CDK app

OVERRIDE_CASES = [
    ("unknown stack", {"sagefit:NoStack:max_capacity": "2"}, "-c sagefit:NoStack:max_capacity: no stack named"),
    (
        "profile name for stack",
        {"sagefit:mistral-7b:max_capacity": "2"},
        "-c sagefit:mistral-7b:max_capacity: 'mistral-7b' is a profile name",
    ),
    (
        "stack in the wrong case",
        {"sagefit:mistralstack:max_capacity": "2"},
        "-c sagefit:mistralstack:max_capacity: no stack named",
    ),
    ("nag misspelt true", {"sagefit:nag": "ture"}, "-c sagefit:nag: 'ture' is not a yes/no value"),
    ("nag on", {"sagefit:nag": "on"}, "-c sagefit:nag:"),
    ("local target maybe", {"sagefit:localTarget": "maybe"}, "-c sagefit:localTarget:"),
    ("unknown setting", {"sagefit:nga": "false"}, "-c sagefit:nga: unknown setting"),
    ("unknown nag pack", {"sagefit:nagPacks": "AwsSolutions,PCI"}, "-c sagefit:nagPacks: unknown cdk-nag pack 'PCI'"),
    ("setting in the wrong case", {"sagefit:Nag": "false"}, "-c sagefit:Nag: unknown setting"),
    ("override absurd capacity", {"sagefit:MistralStack:max_capacity": "1000000000"}, "scaling.max_capacity"),
    ("override infinite budget", {"sagefit:MistralStack:budget": ".inf"}, "budget.monthly_usd"),
    (
        "override unknown field",
        {"sagefit:MistralStack:colour": "red"},
        "-c sagefit:MistralStack:colour: cannot override",
    ),
    ("override unknown mode", {"sagefit:MistralStack:mode": "sometimes"}, "scaling.mode"),
]


@pytest.mark.parametrize(("context", "names"), [c[1:] for c in OVERRIDE_CASES], ids=[c[0] for c in OVERRIDE_CASES])
def test_a_bad_context_key_fails_the_app_in_one_line(
    tmp_path, monkeypatch, capsys, context: dict[str, Any], names: str
):
    """What app.py does with a SagefitError from build_app: one line, exit 2, before any stack exists."""
    from stacks.application import build_app
    from tests.support.cdk import cdk_context, new_app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "profiles").mkdir()
    for name in ("zephyr-7b.yaml", "mistral-7b.yaml"):
        (tmp_path / "profiles" / name).write_text((PROFILES_DIR / name).read_text())
    before = _snapshot(tmp_path)
    app = new_app(tmp_path / "out", cdk_context(**{"sagefit:profiles": "profiles", **context}))
    with pytest.raises(SagefitError) as caught:
        build_app(app, base_dir=tmp_path)
    assert not app.node.children, "no stack may be built before every -c key is checked"
    assert_one_error_line(f"sagefit: error: {caught.value}\n", names)
    assert _snapshot(tmp_path) == before


def test_the_corpus_is_at_least_sixty_cases():
    assert len(CLI_CASES) + len(OVERRIDE_CASES) >= 60
