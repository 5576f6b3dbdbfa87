"""Packing inference-component copies onto instances: first-fit decreasing over two resources.

SageMaker places an inference component's copy on an instance only where the copy's
``ComputeResourceRequirements`` are free: ``NumberOfAcceleratorDevicesRequired`` whole devices and
``MinMemoryRequiredInMb`` of host memory (API reference, InferenceComponentComputeResourceRequirements:
"The minimum memory that you want to reserve for this model copy"). So a set of copies fits a fleet
when each instance's copies sum to no more than its GPUs and its host memory: a two-dimensional bin
packing. First-fit decreasing (largest copy first, each into the first instance with room) is within
11/9 of the optimum in one dimension (Johnson, 1973) and needs no solver; the instance counts here are
small enough that it finds the optimum in practice.

The module is pure arithmetic on numbers: which copy needs what is decided by
:mod:`sagefit.core.shared_plan`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CopyNeed:
    """What one copy of a member reserves on an instance."""

    member: str
    accelerators: int
    memory_mb: int


@dataclass(frozen=True)
class Capacity:
    """What one instance offers its copies."""

    accelerators: int
    memory_mb: int


@dataclass(frozen=True)
class Placement:
    """One copy on one instance: the instance's index in the fleet and the devices it takes."""

    member: str
    instance: int
    gpus: tuple[int, ...]
    memory_mb: int


@dataclass(frozen=True)
class Packing:
    """Copies placed on ``instances`` instances of one capacity."""

    capacity: Capacity
    instances: int
    placements: tuple[Placement, ...]

    @property
    def used_accelerators(self) -> int:
        return sum(len(p.gpus) for p in self.placements)

    @property
    def used_memory_mb(self) -> int:
        return sum(p.memory_mb for p in self.placements)

    @property
    def accelerator_utilisation(self) -> float:
        """Share of the fleet's GPUs the copies reserve (0 for an empty fleet)."""
        total = self.capacity.accelerators * self.instances
        return self.used_accelerators / total if total else 0.0

    @property
    def memory_utilisation(self) -> float:
        """Share of the fleet's host memory the copies reserve."""
        total = self.capacity.memory_mb * self.instances
        return self.used_memory_mb / total if total else 0.0

    def on_instance(self, index: int) -> tuple[Placement, ...]:
        return tuple(p for p in self.placements if p.instance == index)


@dataclass(frozen=True)
class Unplaced:
    """A copy no instance had room for within the fleet's maximum."""

    need: CopyNeed
    placed: int
    """Copies placed before it."""
    instances_needed: int
    """Instances first-fit decreasing needs for every copy, without the maximum."""


@dataclass
class _Instance:
    free_gpus: list[int]
    free_memory_mb: int


def _fits(instance: _Instance, need: CopyNeed) -> bool:
    return len(instance.free_gpus) >= need.accelerators and instance.free_memory_mb >= need.memory_mb


def first_fit_decreasing(copies: list[CopyNeed], capacity: Capacity, max_instances: int) -> Packing | Unplaced:
    """Place every copy, largest first (accelerators, then memory), each on the first instance with
    room, opening a new instance when none has; :class:`Unplaced` when a copy fits no instance (too
    big for one, or the fleet would pass ``max_instances``)."""
    order = sorted(copies, key=lambda c: (c.accelerators, c.memory_mb, c.member), reverse=True)
    fleet: list[_Instance] = []
    placements: list[Placement] = []
    for need in order:
        index = next((i for i, instance in enumerate(fleet) if _fits(instance, need)), None)
        if index is None:
            fresh = _Instance(list(range(capacity.accelerators)), capacity.memory_mb)
            if len(fleet) >= max_instances or not _fits(fresh, need):
                return Unplaced(need=need, placed=len(placements), instances_needed=_uncapped(order, capacity))
            fleet.append(fresh)
            index = len(fleet) - 1
        instance = fleet[index]
        gpus = tuple(instance.free_gpus[: need.accelerators])
        del instance.free_gpus[: need.accelerators]
        instance.free_memory_mb -= need.memory_mb
        placements.append(Placement(need.member, index, gpus, need.memory_mb))
    return Packing(capacity=capacity, instances=len(fleet), placements=tuple(placements))


def _uncapped(order: list[CopyNeed], capacity: Capacity) -> int:
    """Instances first-fit decreasing opens with no maximum (0 when some copy fits no instance at all)."""
    if any(not _fits(_Instance(list(range(capacity.accelerators)), capacity.memory_mb), c) for c in order):
        return 0
    packing = first_fit_decreasing(order, capacity, max_instances=len(order))
    return packing.instances if isinstance(packing, Packing) else 0
