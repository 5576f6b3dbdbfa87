"""The instance catalog: what each SageMaker inference instance holds, moves and costs.

The data lives in YAML so that every number sits next to its source and the date it was recorded;
this module only finds, loads and indexes it. Accelerator specs are kept once per accelerator model
and joined onto each instance, so a corrected GPU figure fixes every size at once.

Two files can hold it. The packaged ``sagefit/data/instances.yaml`` is the default and is only ever
read: it belongs to the installed package, which an upgrade replaces. The project catalog,
``sagefit-catalog.yaml`` in the current directory (the project root, where ``cdk synth`` runs too),
belongs to the user: `sagefit prices refresh` writes there, and when it exists every reader
(:func:`load_catalog`: the planner, `sagefit plan/cost/validate`, synth) uses it instead.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sagefit.core import numbers as num
from sagefit.core.errors import SagefitError
from sagefit.core.numbers import BoundProblem
from sagefit.core.yaml_input import load_yaml

MIB = 1024**2
GIB = 1024**3
DEFAULT_PRICE_REGION = "us-east-1"
PACKAGED_CATALOG = "sagefit/data/instances.yaml"
"""How the packaged catalog is named to the user (its installed path is an implementation detail)."""
PROJECT_CATALOG = "sagefit-catalog.yaml"
"""The user's catalog, in the project root; see the module docstring."""


class Accelerator(BaseModel):
    """One accelerator model (a GPU or an Inferentia chip) as the serving container sees it."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str
    kind: Literal["cuda", "neuron"]
    compute_capability: num.ComputeCapability | None = Field(default=None, description="CUDA compute capability.")
    memory_mib: num.DeviceMemoryMib = Field(description="Usable device memory reported by the driver.")
    memory_source: str
    memory_confirmed: bool
    bandwidth_gb_s: num.BandwidthGbS = Field(description="Peak memory bandwidth, GB/s (10^9 bytes).")
    bandwidth_source: str
    bandwidth_confirmed: bool
    recorded: dt.date

    @property
    def memory_bytes(self) -> int:
        return self.memory_mib * MIB


class InstanceType(BaseModel):
    """One SageMaker real-time inference instance type, with its hosting price per region."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    instance_type: str
    accelerator: Accelerator
    accelerators: num.HostCount
    vcpus: num.HostCount
    host_memory_gib: num.HostCount
    local_nvme: bool = Field(description="Instance store: SageMaker rejects VolumeSizeInGB for these.")
    hardware_source: str
    price: dict[str, num.HourlyPrice] = Field(description="USD per instance-hour, SageMaker Hosting, by region.")
    price_source: str
    price_confirmed: bool
    price_date: dt.date | None = Field(
        default=None, description="When the prices were last checked; `sagefit prices refresh` sets it."
    )
    quota_code: str | None = None
    recorded: dt.date

    @property
    def price_as_of(self) -> dt.date:
        """The date the prices were checked (the row's ``recorded`` date when never refreshed)."""
        return self.price_date or self.recorded

    def price_in(self, region: str) -> tuple[float, str]:
        """Hourly price in ``region`` and the region it was actually taken from.

        Falls back to us-east-1 when the catalog has no figure for the region, so a plan still shows
        a cost; the caller turns a fallback into a warning.
        """
        if region in self.price:
            return self.price[region], region
        return self.price[DEFAULT_PRICE_REGION], DEFAULT_PRICE_REGION


class Catalog(BaseModel):
    """All instance types sagefit can plan for, and the regions SageMaker serves."""

    model_config = ConfigDict(frozen=True)

    regions: tuple[str, ...]
    instances: tuple[InstanceType, ...]
    source: str = Field(default=PACKAGED_CATALOG, description="The file it was read from, as shown to the user.")

    def get(self, instance_type: str) -> InstanceType:
        for inst in self.instances:
            if inst.instance_type == instance_type:
                return inst
        raise KeyError(instance_type)

    def names(self) -> list[str]:
        return [inst.instance_type for inst in self.instances]

    def oldest_price_date(self) -> dt.date:
        return min(inst.price_as_of for inst in self.instances)


def packaged_catalog_path() -> Path:
    """sagefit/data/instances.yaml as installed (a real file: the package is installed editable)."""
    return Path(str(resources.files("sagefit").joinpath("data/instances.yaml")))


def project_catalog_path(root: Path | None = None) -> Path:
    """Where the project catalog lives: ``sagefit-catalog.yaml`` in ``root`` (default: the current
    directory, kept relative so messages show the short name)."""
    return Path(PROJECT_CATALOG) if root is None else Path(root) / PROJECT_CATALOG


def default_catalog_path(root: Path | None = None) -> Path:
    """The catalog every reader uses without ``--catalog``: the project's when it exists, else the
    packaged one."""
    project = project_catalog_path(root)
    return project if project.is_file() else packaged_catalog_path()


def load_catalog(root: Path | None = None) -> Catalog:
    """The project catalog in ``root`` (default: the current directory) when it exists, else the
    packaged one; each file is parsed once per process for as long as it is unchanged."""
    project = project_catalog_path(root)
    if not project.is_file():
        return _packaged_catalog()
    stat = project.stat()
    return _cached_project_catalog(str(project.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=1)
def _packaged_catalog() -> Catalog:
    text = resources.files("sagefit").joinpath("data/instances.yaml").read_text()
    return parse_catalog(text)


@lru_cache(maxsize=8)
def _cached_project_catalog(path: str, _mtime_ns: int, _size: int) -> Catalog:
    """Keyed on the resolved path and the file's mtime and size, so a refreshed file or another
    project root is read afresh. Errors name the full path; the catalog is labelled by its name in
    the project root, which is how plans and templates refer to it."""
    return load_catalog_file(Path(path)).model_copy(update={"source": PROJECT_CATALOG})


def load_catalog_file(path: Path) -> Catalog:
    """Load a catalog from ``path`` (``--catalog`` or the project catalog), as one-line errors."""
    return read_catalog_file(path)[1]


def read_catalog_file(path: Path) -> tuple[str, Catalog]:
    """The text of the catalog at ``path`` and the catalog it holds; problems are one-line errors."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise SagefitError(f"cannot read the catalog ({exc.strerror})", "check the --catalog path", path) from None
    except UnicodeDecodeError:
        raise SagefitError("cannot read the catalog (not UTF-8 text)", "check the --catalog path", path) from None
    try:
        return text, parse_catalog(text, source=path)
    except SagefitError:
        raise
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SagefitError(
            f"not a valid instance catalog ({reason})", "start from sagefit/data/instances.yaml", path
        ) from None


_CATALOG_FIX = "start from sagefit/data/instances.yaml"


def _invalid(reason: str, source: Path | str) -> SagefitError:
    return SagefitError(f"not a valid instance catalog ({reason})", _CATALOG_FIX, source)


def _rows(raw: dict[str, Any], key: str, source: Path | str) -> list[dict[str, Any]]:
    rows = raw.get(key)
    if not isinstance(rows, list):
        raise _invalid(f"`{key}:` must be a list of rows", source)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise _invalid(f"{key}[{i}] is {row!r}, not a mapping of fields", source)
    return rows


_ROW_FIX = "see the same field in sagefit/data/instances.yaml"
_ROW_FIXES = {
    "missing": "add it (see the same row in sagefit/data/instances.yaml)",
    "extra_forbidden": "remove it or fix its spelling",
    "greater_than": "use a positive number",
    "finite_number": "use a finite number (not .inf or .nan)",
}


def _row(model: type[BaseModel], data: dict[str, Any], where: str, name: object, source: Path | str) -> Any:
    """One validated row, or a one-line error naming the row, its name and the field."""
    try:
        return model(**data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        own = (error.get("ctx") or {}).get("error")
        if isinstance(own, BoundProblem):
            problem, fix = own.problem, own.fix
        else:
            given = error.get("input")
            shown = "" if error["type"] == "missing" or isinstance(given, dict) else f" (got {given!r})"
            problem, fix = f"{error['msg']}{shown}", _ROW_FIXES.get(error["type"], _ROW_FIX)
        raise SagefitError(f"{name}: {problem}", fix, source, f"{where}.{field}" if field else where) from None


def _unique(rows: list[dict[str, Any]], key: str, table: str, source: Path | str) -> None:
    """Refuse a second row with the same ``key`` (the later one would silently win a lookup)."""
    seen: dict[object, int] = {}
    for i, row in enumerate(rows):
        value = row.get(key)
        if isinstance(value, str) and value in seen:
            raise SagefitError(
                f"{value} is listed twice (also {table}[{seen[value]}])",
                "keep one row for it",
                source,
                f"{table}[{i}].{key}",
            )
        if isinstance(value, str):
            seen[value] = i


def parse_catalog(text: str, source: Path | str = PACKAGED_CATALOG) -> Catalog:
    """Build a catalog from YAML text, joining each instance to its accelerator row.

    Every row is checked on its own, so an error names the row (``instances[3]``), the instance or
    accelerator it describes and the field; numbers are bounded (:mod:`sagefit.core.numbers`), and
    a name listed twice is refused rather than shadowed.
    """
    try:
        raw = load_yaml(text, source)
    except SagefitError as exc:
        raise _invalid(exc.problem, source) from None
    if not isinstance(raw, dict):
        raise _invalid("the file must be a mapping with regions, accelerators and instances", source)
    regions = raw.get("regions")
    if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
        raise _invalid("`regions:` must be a list of region names", source)
    if len(set(regions)) != len(regions):
        twice = next(r for r in regions if regions.count(r) > 1)
        raise SagefitError(f"{twice} is listed twice", "keep one entry for it", source, "regions")
    accelerator_rows, instance_rows = _rows(raw, "accelerators", source), _rows(raw, "instances", source)
    _unique(accelerator_rows, "name", "accelerators", source)
    _unique(instance_rows, "instance_type", "instances", source)
    accelerators = {
        row.get("name"): _row(Accelerator, row, f"accelerators[{i}]", row.get("name"), source)
        for i, row in enumerate(accelerator_rows)
    }
    instances = []
    for i, row in enumerate(instance_rows):
        where, name = f"instances[{i}]", row.get("instance_type")
        accelerator = row.get("accelerator")
        if not isinstance(accelerator, str) or accelerator not in accelerators:
            raise SagefitError(
                f"instance {name} names unknown accelerator {accelerator!r}",
                fix="add it under `accelerators:`",
                source=source,
                field=f"{where}.accelerator",
            )
        if DEFAULT_PRICE_REGION not in (row.get("price") or {}):
            raise SagefitError(
                f"instance {name} has no {DEFAULT_PRICE_REGION} price",
                f"add {DEFAULT_PRICE_REGION} to its price mapping (the fallback for regions without one)",
                source=source,
                field=f"{where}.price",
            )
        instances.append(_row(InstanceType, {**row, "accelerator": accelerators[accelerator]}, where, name, source))
    return Catalog(regions=tuple(regions), instances=tuple(instances), source=str(source))
