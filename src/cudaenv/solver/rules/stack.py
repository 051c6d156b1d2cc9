"""The CUDA stack a resolution installs, read from its pins, and the driver it needs.

What a framework was built with and what the environment holds can differ: from TensorFlow
2.20 the ``and-cuda`` extra gives ranges, so TF 2.21 (built with CUDA 12.5 and cuDNN 9.3) gets
``nvidia-cuda-runtime-cu12`` 12.9 and ``nvidia-cudnn-cu12`` 9.10. A report that gives only the
first describes a stack that is not there. So the stack is taken from the pins (the CUDA runtime
wheel, else NVRTC, for a set that pins no runtime; the cuDNN wheel), the framework's build
from its recipe line, and the driver floor from the pinned runtime under NVIDIA's rules
(``constraints/compat_rules.toml``): a runtime covered by the minor-version compatibility
``floor`` rule runs on the floor of its CUDA major; any other needs its toolkit's own driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.version import Version

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cudaenv.driver import DriverVersion
    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.resolution import Pin

__all__ = ["Stack", "stack_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Stack:
    """The stack of one resolution: what it holds, what its framework was built with."""

    cuda: Version | None = None  # major.minor of the pinned CUDA runtime wheel
    cudnn: Version | None = None  # major.minor of the pinned cuDNN wheel
    built_cuda: Version | None = None  # what the TensorFlow release was built with (recipe)
    built_cudnn: Version | None = None
    driver_floor: DriverVersion | None = None  # the lowest driver that runs all of it
    full_driver: DriverVersion | None = None  # the pinned CUDA's own driver: every feature
    rule: str | None = None  # the compat rule the floor rests on

    def notes(self, machine: Machine, knowledge: Knowledge) -> tuple[str, ...]:
        """What a driver below the pinned CUDA's own loses, when this machine has one."""
        have, full = machine.max_cuda, self.full_driver
        if self.cuda is None or have is None or have >= self.cuda or self.rule is None:
            return ()
        if full is None or (self.driver_floor is not None and full <= self.driver_floor):
            return ()
        return (
            f"the pinned CUDA {self.cuda} wheels run on this driver (CUDA {have}) under NVIDIA's "
            f"minor-version compatibility ({self.rule}); features that need a newer driver, such "
            f"as running PTX that CUDA {self.cuda} compiled, need a driver "
            f"≥ {full}",
        )


def _major_minor(pin: Pin | None) -> Version | None:
    return Version(f"{pin.version.major}.{pin.version.minor}") if pin else None


def _first(pins: Sequence[Pin], *prefixes: str) -> Pin | None:
    for prefix in prefixes:
        found = next((p for p in pins if p.name.startswith(prefix)), None)
        if found is not None:
            return found
    return None


def stack_of(pins: Sequence[Pin], knowledge: Knowledge, min_cuda: Version | None) -> Stack:
    """The stack ``pins`` make; ``min_cuda`` is the highest ``__cuda`` floor of the solve, whose
    driver the floor never goes below."""
    runtime = _first(pins, "nvidia-cuda-runtime", "nvidia-cuda-nvrtc")
    tf = _first(pins, "tensorflow")
    line = knowledge.tf_line(tf.version) if tf is not None and tf.name == "tensorflow" else None
    floors = [knowledge.min_driver_for(min_cuda)] if min_cuda is not None else []
    full, rule = None, None
    if runtime is not None:
        # NVRTC stands in for the runtime of its own CUDA release (a set that pins no
        # runtime wheel), so the runtime's rules decide its floor.
        name = runtime.name.replace("nvidia-cuda-nvrtc", "nvidia-cuda-runtime")
        floor, rule = knowledge.runtime_floor(name, runtime.version)
        floors.append(floor)
        full = knowledge.toolkit_driver(runtime.version)
    return Stack(
        cuda=_major_minor(runtime),
        cudnn=_major_minor(_first(pins, "nvidia-cudnn")),
        built_cuda=line.cuda if line is not None else None,
        built_cudnn=line.cudnn if line is not None else None,
        driver_floor=max((f for f in floors if f is not None), default=None),
        full_driver=full,
        rule=rule,
    )
