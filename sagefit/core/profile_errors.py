"""Turning pydantic's validation errors into one line: the field, the problem and the fix.

A profile error must name the file, the field and what to write instead. Pydantic reports where
and what, but not the fix, and reports a cross-field check against no field at all; this module
adds both, so every command that validates a profile (and synth) says the same thing.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sagefit.core.errors import SagefitError
from sagefit.core.numbers import BoundProblem

_FIXES = {
    "missing": "add it",
    "extra_forbidden": "remove it or fix its spelling",
    "greater_than": "use a positive number",
    "greater_than_equal": "use a number that is not negative",
    "int_parsing": "use a whole number",
    "int_type": "use a whole number",
    "int_from_float": "use a whole number",
    "float_parsing": "use a number",
    "finite_number": "use a finite number (not .inf or .nan)",
    "bool_parsing": "use true or false",
    "bool_type": "use true or false",
    "string_type": "use a quoted string",
    "string_pattern_mismatch": "see the example profiles in model_profiles/",
    "model_type": "use a mapping of fields",
    "dict_type": "use a mapping of fields",
}


# A cross-field check names no single field in pydantic's error; these map a phrase of the message
# to (the field to name, the fix). Order matters: the first phrase found wins.
class FieldProblem(ValueError):
    """A validator's error that knows its field and fix (pydantic keeps it in the error's ctx)."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.field, self.problem, self.fix = field, problem, fix


_CROSS_FIELD_FIXES: tuple[tuple[str, str, str], ...] = (
    (
        "kv_heads",
        "model.architecture.kv_heads",
        "copy num_attention_heads and num_key_value_heads from the model's config.json",
    ),
    (
        "active_parameters",
        "model.architecture.active_parameters",
        "set active_parameters to the per-token count from the model card",
    ),
    (
        "hf_token_secret",
        "model.hf_token_secret",
        "set model.hf_token_secret to the Secrets Manager secret holding HF_TOKEN",
    ),
    (
        "max_input_tokens",
        "serving.max_input_tokens",
        "lower serving.max_input_tokens or raise serving.max_total_tokens",
    ),
    (
        "unknown schedule time_zone",
        "scaling.schedules",
        "use an IANA time zone name such as UTC or Europe/Berlin for the schedule's time_zone",
    ),
    ("at all times", "scaling.schedules", "keep every scheduled min_capacity at 1 or more, or use scale-to-zero"),
    ("schedule ", "scaling.schedules", "raise the schedule's max_capacity or lower its min_capacity"),
    ("always-on", "scaling.min_capacity", "set scaling.min_capacity to 1 or more, or use scaling.mode: scale-to-zero"),
    ("min_capacity", "scaling.max_capacity", "raise scaling.max_capacity or lower scaling.min_capacity"),
    ("context_length", "serving.max_total_tokens", "lower serving.max_total_tokens to the context length or below"),
    ("time_zone", "time_zone", "use an IANA time zone name such as UTC or America/New_York"),
    (
        "tensor_parallel_degree",
        "serving.tensor_parallel_degree",
        "use a degree that divides the attention heads (often 1)",
    ),
)


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed at the parent of ``loc``, for 'did you mean' hints."""
    from sagefit.core.profiles import Profile

    model: type[BaseModel] = Profile
    for part in loc[:-1]:
        if isinstance(part, int):  # an index into a list of models, e.g. scaling.schedules.0
            continue
        annotation = getattr(model.model_fields.get(str(part)), "annotation", None)
        # unwrap tuple[X, ...] / list[X] / X | None to the model inside
        candidates = [annotation, *typing.get_args(annotation)]
        model_type = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model_type is None:
            return []
        model = model_type
    return list(model.model_fields)


def describe_error(error: Mapping[str, Any]) -> tuple[str, str, str]:
    """Turn one pydantic error into (field path, problem, fix)."""
    loc = tuple(error["loc"])
    field = ".".join(str(p) for p in loc) or "(top level)"
    kind = error["type"]
    problem = error["msg"]
    own = (error.get("ctx") or {}).get("error")
    if isinstance(own, FieldProblem):
        return own.field, own.problem, own.fix
    if isinstance(own, BoundProblem):  # a number out of its bound (sagefit.core.numbers)
        return field, own.problem, own.fix
    if kind.startswith("value_error"):
        problem = problem.removeprefix("Value error, ")
        for phrase, named_field, fix in _CROSS_FIELD_FIXES:
            if phrase in problem:
                return named_field, problem, fix
        return field, problem, ""
    if kind == "missing":
        return field, "is required but missing", f"add `{loc[-1]}:` to the profile"
    if kind == "extra_forbidden":
        allowed = _allowed_fields(loc)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"allowed here: {', '.join(allowed)}"
        return field, "is not a known field", f"remove it or fix its spelling ({hint})"
    if kind in ("literal_error", "enum"):
        return field, f"{problem} (got {error.get('input')!r})", "use one of the values listed"
    given = error.get("input")
    if given is not None and not isinstance(given, dict):
        problem = f"{problem} (got {given!r})"
    return field, problem, _FIXES.get(kind, "see the example profiles in model_profiles/")


Model = TypeVar("Model", bound=BaseModel)


def validate_model(
    model: type[Model],
    raw: Mapping[str, Any],
    path: Path | str,
    describe: Callable[[Mapping[str, Any]], tuple[str, str, str]] = describe_error,
) -> Model:
    """``model.model_validate(raw)``, or its first problem as one :class:`SagefitError` naming ``path``.

    A misspelt key shows up twice, the real field as missing and the typo as extra: the typo is
    reported, since its fix (with its did-you-mean hint) resolves both."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        field, problem, fix = describe(first)
        raise SagefitError(problem, fix, path, field) from None


def refuse_duplicates(items: Iterable[tuple[Path, BaseModel]], keys: tuple[str, ...], owner: str) -> None:
    """Each of ``keys`` must be unique across the files (each becomes one stack or one AWS name):
    the second file holding a value gets the one-line error, naming the first."""
    seen: dict[tuple[str, str], Path] = {}
    for path, model in items:
        for key in keys:
            value = getattr(model, key)
            if (key, value) in seen:
                raise SagefitError(
                    f"duplicate {key} {value!r} (also in {seen[(key, value)].name})",
                    f"give each {owner} its own {key}",
                    path,
                    key,
                )
            seen[(key, value)] = path
