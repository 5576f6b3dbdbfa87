"""LoRA adapters: what an engine can serve as SageMaker adapter inference components, and the GPU
memory it reserves for them.

How SageMaker serves an adapter: an adapter inference component names a base inference component
(``Specification.BaseInferenceComponentName``) and the adapter's artifacts (``Container.ArtifactUrl``),
and "uses the compute resources that you assigned to the base inference component" (API reference,
InferenceComponentSpecification). SageMaker registers the adapter with the base's container at run
time and routes each request to it with the ``X-Amzn-SageMaker-Adapter-Identifier`` header. LMI reads
that header (deepjavalibrary/djl-serving@d21927c engines/python/setup/djl_python/input_parser.py:25,
264-268) and registers adapters through its adapter management API
(serving/src/main/java/ai/djl/serving/http/AdapterManagementRequestHandler.java:76, the
``X-Amzn-SageMaker-Adapter-Alias`` header), so LMI with vLLM serves adapter components. LMI's own
docs: "vLLM is the only backend that supports LoRA adapter hosting" (serving/docs/adapters.md,
"Backend Support").

TGI cannot: it loads "multiple LoRA models at startup" from the ``LORA_ADAPTERS`` variable and selects
one per request with ``parameters.adapter_id`` (huggingface/text-generation-inference@04e1af9
docs/source/conceptual/lora.md, "Specifying LoRA models"); it has no API to register an adapter after
start-up, which is what an adapter inference component needs.

vLLM's LoRA configuration (vllm-project/vllm@01230b4 vllm/config/lora.py, ``LoRAConfig``):
``max_lora_rank`` is one of ``MaxLoRARanks = 1, 8, 16, 32, 64, 128, 256, 320, 512`` (default 16);
``max_loras`` ("Max number of LoRAs in a single batch", ``ge=1``, no upper bound, default 1; LMI's
default is 4, vllm_rb_properties.py:71); ``max_cpu_loras`` ("Must be >= than max_loras", defaults
to it); ``lora_dtype`` "auto" = the base model's dtype. LMI passes ``OPTION_ENABLE_LORA``,
``OPTION_MAX_LORAS``, ``OPTION_MAX_LORA_RANK`` and ``OPTION_MAX_CPU_LORAS`` through to those
(serving/docs/adapters.md "Configurations", LMI >= 0.27.0; vllm_rb_properties.py:222-223).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sagefit.core.engines.base import Refusal

VLLM_LORA = "vllm-project/vllm@01230b4 vllm/config/lora.py (LoRAConfig)"
VLLM_LORA_LAYERS = "vllm-project/vllm@01235a4 vllm/lora/layers/base_linear.py (create_lora_weights)"
LMI_ADAPTERS = "deepjavalibrary/djl-serving@d21927c serving/docs/adapters.md (Configurations)"

VLLM_MAX_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
"""``MaxLoRARanks`` in vLLM's LoRAConfig: the only values ``max_lora_rank`` takes."""

MAX_ADAPTERS_PER_BASE = 10
"""sagefit's bound on adapters per base. vLLM bounds ``max_loras`` by memory only (``ge=1``); 10 is the
range SageMaker's own sizing of multi-adapter deployments covers ("1-10 LoRA adapters": API reference,
AIAdapterSource.S3Uris, Array Members 1 to 10), and every adapter gets a GPU slot (see
:func:`lora_environment`), whose memory the planner also counts."""

LORA_DTYPE_BYTES = 2
"""``lora_dtype: auto`` is the model dtype (LoRAConfig.verify_with_model_config): float16 or bfloat16
for every sagefit profile (an AWQ/GPTQ checkpoint's activations are float16)."""

LORA_ENVIRONMENT_ALLOWLIST: Mapping[str, str] = MappingProxyType(
    {
        "OPTION_ENABLE_LORA": f"{LMI_ADAPTERS}: option.enable_lora (pass-through -> enable_lora)",
        "OPTION_MAX_LORAS": f"{LMI_ADAPTERS}: option.max_loras (-> max_loras: adapters in one batch)",
        "OPTION_MAX_LORA_RANK": f"{LMI_ADAPTERS}: option.max_lora_rank (-> max_lora_rank); {VLLM_LORA}",
        "OPTION_MAX_CPU_LORAS": f"{LMI_ADAPTERS}: option.max_cpu_loras (-> max_cpu_loras, >= max_loras)",
    }
)
"""The variables an engine with adapters adds to its base's environment, and where LMI reads them."""


@dataclass(frozen=True)
class AdapterSupport:
    """What an engine serves as adapter inference components, with the source of each limit."""

    max_rank: int
    ranks: tuple[int, ...]
    """The values the engine's maximum-rank setting accepts, ascending."""
    max_adapters: int
    source: str

    def slot_rank(self, rank: int) -> int:
        """The smallest accepted maximum rank that holds an adapter of ``rank``."""
        return next(value for value in self.ranks if value >= rank)


VLLM_ADAPTERS = AdapterSupport(
    max_rank=max(VLLM_MAX_LORA_RANKS),
    # 1 is left out of what sagefit sets: vLLM before the pydantic LoRAConfig checked
    # possible_max_ranks = (8, 16, 32, 64, 128, 256, 320, 512) (vllm/config.py, LoRAConfig.__post_init__),
    # and LMI pins an older vLLM than main; a rank-1 to rank-8 adapter gets an 8 slot either way.
    ranks=VLLM_MAX_LORA_RANKS[1:],
    max_adapters=MAX_ADAPTERS_PER_BASE,
    source=VLLM_LORA,
)

TGI_NO_ADAPTERS = Refusal(
    "engine tgi cannot serve adapter inference components: TGI loads LoRA adapters only at start-up "
    "(LORA_ADAPTERS, text-generation-inference docs/source/conceptual/lora.md) and SageMaker registers "
    "an adapter component with a running container",
    "set serving.engine: vllm in the base profile (LMI registers adapters at run time)",
)


@dataclass(frozen=True)
class LoraSlots:
    """The LoRA memory an engine reserves: ``slots`` GPU slots, each of ``rank`` (the max rank set)."""

    slots: int
    rank: int
    adapters: int


def lora_slots(support: AdapterSupport, ranks: list[int]) -> LoraSlots:
    """One GPU slot per adapter at the smallest accepted rank that holds the largest adapter."""
    return LoraSlots(slots=len(ranks), rank=support.slot_rank(max(ranks)), adapters=len(ranks))


def lora_environment(slots: LoraSlots) -> dict[str, str]:
    """LMI's variables for a base with adapters (see :data:`LORA_ENVIRONMENT_ALLOWLIST`).

    ``OPTION_MAX_LORAS`` = every adapter: each keeps a GPU slot, so a request for any adapter never
    waits for another to be swapped out of the batch; ``OPTION_MAX_CPU_LORAS`` the same (it must be at
    least max_loras, LoRAConfig._validate_lora_config)."""
    return {
        "OPTION_ENABLE_LORA": "true",
        "OPTION_MAX_LORAS": str(slots.slots),
        "OPTION_MAX_LORA_RANK": str(slots.rank),
        "OPTION_MAX_CPU_LORAS": str(slots.adapters),
    }


@dataclass(frozen=True)
class LoraShapes:
    """The per-GPU sizes of the linear layers vLLM wraps with LoRA in one decoder layer."""

    hidden: int
    q_out: int
    kv_out: int
    """One of K or V's output features on one GPU (replicated KV heads count on each GPU)."""
    o_in: int
    intermediate: int
    """The MLP's intermediate features on one GPU."""


def lora_elements_per_layer(shapes: LoraShapes, rank: int) -> int:
    """LoRA A and B elements one slot holds in one decoder layer, per GPU.

    vLLM allocates, for every wrapped linear layer and every slot, ``lora_a`` of ``max_lora_rank x
    input_size`` and ``lora_b`` of ``output_size x max_lora_rank`` per output slice, with the layer's
    per-GPU sizes; a column-parallel layer keeps its full input, a row-parallel layer its full output
    (``fully_sharded_loras`` False, vLLM's default; vllm/lora/layers/base_linear.py @01235a4,
    ``create_lora_weights``). A Llama-style layer has:
    qkv_proj (column, 3 slices), o_proj (row), gate_up_proj (column, 2 slices), down_proj (row).
    """
    h = shapes.hidden
    qkv = 3 * rank * h + (shapes.q_out + 2 * shapes.kv_out) * rank
    o_proj = rank * shapes.o_in + h * rank
    gate_up = 2 * rank * h + 2 * shapes.intermediate * rank
    down = rank * shapes.intermediate + h * rank
    return qkv + o_proj + gate_up + down
