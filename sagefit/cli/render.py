"""Rendering plans for people (a rich table) and for programs (JSON)."""

from __future__ import annotations

import json
from typing import TextIO

from rich.console import Console
from rich.table import Table

from sagefit.core.catalog import GIB
from sagefit.core.planner import ESTIMATE_NOTE, Plan, estimate_note


def plans_to_json(plans: list[Plan]) -> str:
    return json.dumps([plan.to_dict() for plan in plans], indent=2)


def _fit_cell(plan: Plan) -> str:
    fit = plan.fit
    lora = ""
    if plan.lora is not None:  # adapter profiles on this base: their LoRA slots come out of the KV budget
        names = ", ".join(item.adapter.name for item in plan.adapters)
        lora = f" + LoRA {fit.lora_per_gpu_bytes / GIB:.2f} ({plan.lora.slots} x rank {plan.lora.rank}: {names})"
    return (
        f"weights {fit.weights_per_gpu_bytes / GIB:.1f}{lora} + KV {fit.kv_budget_per_gpu_bytes / GIB:.1f}"
        f"\nof {fit.usable_per_gpu_bytes / GIB:.1f} GiB usable/GPU"
    )


def _cheaper_cell(plan: Plan) -> str:
    cheaper = plan.cheaper_fit
    if cheaper is None:
        return "-"
    caveats = plan.cheaper_fit_unconfirmed
    note = f" ({' and '.join(caveats)} unconfirmed)" if caveats else ""
    return f"{cheaper}\n${plan.cheapest_price:,.2f}/h{note}"


def _speed_cell(plan: Plan) -> str:
    speed = plan.fit.speed
    return (
        f"{speed.decode_tokens_per_s:.1f} tok/s alone\nTTFT {speed.time_to_first_token_s:.2f} s"
        f"\n{speed.throughput_tokens_per_s:.0f} tok/s x{speed.concurrency}"
    )


def _budget_cell(plan: Plan) -> str:
    """The always-on month, the budget, and how fast the largest fleet would spend it (the runaway guard)."""
    budget = plan.spec.budget
    hours = budget.hours_to_burn
    burn = f"{hours:,.0f} h" if hours < 10_000 else "never"
    flag = " (acknowledged)" if hours < budget.min_hours_to_burn else ""
    return (
        f"{plan.monthly_cost_always_on:,.2f}\nbudget {budget.monthly_usd:,.2f}"
        f"\nmax fleet of {budget.max_fleet_instances}\nspends it in\n{burn}{flag}"
    )


def plans_table(plans: list[Plan]) -> Table:
    table = Table(title="sagefit plan", show_lines=True)
    table.add_column("profile / stack", no_wrap=True)
    table.add_column("instance", no_wrap=True)
    table.add_column("fit (per GPU)")
    table.add_column("limits")
    table.add_column("speed\n(estimate)", justify="right")
    table.add_column("$/hour", justify="right")
    table.add_column("$/month always-on\nbudget, burn time", justify="right")
    table.add_column("cheaper fit")
    for plan in plans:
        profile = plan.profile
        table.add_row(
            f"{profile.name}\n{profile.stack_name}\n({profile.scaling.mode})",
            f"{plan.instance_type}\n{plan.gpus} x {plan.instance.accelerator.name}"
            f"\n{profile.model.quantization if profile.model.quantization != 'none' else profile.model.dtype}"
            f" on {plan.engine}",
            _fit_cell(plan),
            f"total {plan.max_total_tokens} tok/request\nbatch {plan.max_batch_total_tokens} tok"
            f"\n{plan.fit.full_length_requests} full-length at once\nmax {plan.max_concurrent_requests} concurrent",
            _speed_cell(plan),
            f"{plan.price_per_hour:,.3f}",
            _budget_cell(plan),
            _cheaper_cell(plan),
        )
    return table


def pool_line(plan: Plan) -> str | None:
    """The capacity-fallback pool of a plan, each type with its hour, or None without a pool."""
    pool = plan.spec.pool
    if not pool:
        return None
    members = " > ".join(
        f"{m.instance_type} ${m.price_per_hour:,.3f}/h" + (f" (TP {m.tensor_parallel_degree})" if m.own_model else "")
        for m in pool
    )
    return (
        f"instance pool {plan.profile.name}: {members}; budget and cost figures price "
        f"{pool[0].instance_type}, the fallbacks run only when it is short"
    )


def print_plans(plans: list[Plan], out: TextIO) -> None:
    console = Console(file=out, width=max(140, Console(file=out).width))
    console.print(plans_table(plans))
    for plan in plans:
        line = pool_line(plan)
        if line is not None:
            console.print(line, markup=False, highlight=False)
    for plan in plans:
        for warning in plan.warnings:
            console.print(f"[yellow]warning[/yellow] {plan.profile.name}: {warning}")
    sources = sorted({plan.catalog_source for plan in plans})
    console.print(f"Note: {estimate_note(', '.join(sources)) if sources else ESTIMATE_NOTE}.")
