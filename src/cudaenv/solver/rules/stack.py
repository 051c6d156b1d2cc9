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

from typing import TYPE_CHECKING

from packaging.version import Version

from cudaenv.resolution import Stack

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.resolution import Pin

__all__ = ["notes", "stack_of"]


def _major_minor(pin: Pin | None) -> Version | None:
    return Version(f"{pin.version.major}.{pin.version.minor}") if pin else None


def _first(pins: Sequence[Pin], *prefixes: str) -> Pin | None:
    for prefix in prefixes:
        found = next((p for p in pins if p.name.startswith(prefix)), None)
        if found is not None:
            return found
    return None


def _runtime(pins: Sequence[Pin]) -> tuple[Pin | None, str]:
    """The pinned CUDA runtime wheel, else NVRTC (a set that pins no runtime wheel), and the
    name whose rules decide its floor: NVRTC stands in for the runtime of its own CUDA
    release."""
    runtime = _first(pins, "nvidia-cuda-runtime", "nvidia-cuda-nvrtc")
    name = runtime.name.replace("nvidia-cuda-nvrtc", "nvidia-cuda-runtime") if runtime else ""
    return runtime, name


def stack_of(pins: Sequence[Pin], knowledge: Knowledge, min_cuda: Version | None) -> Stack:
    """The stack ``pins`` make; ``min_cuda`` is the highest ``__cuda`` floor of the solve, whose
    driver the floor never goes below."""
    runtime, name = _runtime(pins)
    tf = _first(pins, "tensorflow")
    line = knowledge.tf_line(tf.version) if tf is not None and tf.name == "tensorflow" else None
    floors = [knowledge.min_driver_for(min_cuda)] if min_cuda is not None else []
    if runtime is not None:
        floors.append(knowledge.runtime_floor(name, runtime.version)[0])
    return Stack(
        cuda=_major_minor(runtime),
        cudnn=_major_minor(_first(pins, "nvidia-cudnn")),
        built_cuda=line.cuda if line is not None else None,
        built_cudnn=line.cudnn if line is not None else None,
        min_cuda=min_cuda,
        driver_floor=max((f for f in floors if f is not None), default=None),
    )


def notes(
    stack: Stack, pins: Sequence[Pin], machine: Machine, knowledge: Knowledge
) -> tuple[str, ...]:
    """What a driver below the pinned CUDA's own loses, when this machine has one: the pinned
    runtime runs on it under the compat rule its floor rests on, and needs its toolkit's own
    driver for every feature."""
    runtime, name = _runtime(pins)
    have = machine.max_cuda
    if runtime is None or stack.cuda is None or have is None or have >= stack.cuda:
        return ()
    rule = knowledge.runtime_floor(name, runtime.version)[1]
    full = knowledge.toolkit_driver(runtime.version)
    if rule is None or full is None:
        return ()
    if stack.driver_floor is not None and full <= stack.driver_floor:
        return ()
    return (
        f"the pinned CUDA {stack.cuda} wheels run on this driver (CUDA {have}) under NVIDIA's "
        f"minor-version compatibility ({rule}); features that need a newer driver, such "
        f"as running PTX that CUDA {stack.cuda} compiled, need a driver "
        f"≥ {full}",
    )
