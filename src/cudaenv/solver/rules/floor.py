"""The driver floor a resolution prints is the floor the solve enforces.

The driver enters the search as ``__cuda`` at its max CUDA, and a stack asks for ``__cuda >=
N.0``: enough wherever a major's minor-version-compatibility floor is its first toolkit's
driver (12.x: 525.60.13, 13.x: 580.65.06). It is not for CUDA 11: the 11.0 toolkits need only
450.51.05, while minor-version compatibility, which runs the CUDA 11.8 wheels every CUDA 11
stack pins, starts at 450.80.02 (docs/facts.md, "Minor-version compatibility"). A driver from
450.51.05 up to 450.80.01 reports CUDA 11.0 and met ``__cuda >= 11.0``, and the solve then printed
a floor above it. The floor is read from the pins (:mod:`.stack`), so it is checked against the
driver once they are known: :func:`refuse_below` refuses, naming the floor, with the driver to
install and the CPU as the ways out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cudaenv.errors import Explanation, Remedy, ResolutionError
from cudaenv.solver.rules.majors import LABELS

if TYPE_CHECKING:
    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.request import Request
    from cudaenv.resolution import Resolution

__all__ = ["refuse_below"]


def refuse_below(
    resolution: Resolution, machine: Machine, knowledge: Knowledge, request: Request
) -> None:
    """Raise :class:`~cudaenv.errors.ResolutionError` when the machine's driver is older than
    ``resolution``'s driver floor (a given ``--cuda`` alone names no driver to compare)."""
    floor, driver = resolution.stack.driver_floor, machine.driver_version
    if not request.gpu or floor is None or driver is None or driver >= floor:
        return
    who = ", ".join(f"{LABELS.get(f.name, f.name)} {f.text}" for f in request.frameworks)
    cuda = resolution.stack.cuda
    stack = f"the CUDA {cuda} stack of {who}" if cuda is not None else f"the stack of {who}"
    row = knowledge.floor_for(cuda) if cuda is not None else None
    reasons: tuple[str, ...] = ()
    if row is not None and row.driver == floor:
        reasons = (
            f"{floor} is the lowest driver that runs CUDA {row.cuda_major}.x under NVIDIA's "
            f"minor-version compatibility ({row.source})",
        )
    text = str(floor)
    hints = (
        Remedy(
            text=f"upgrade the driver to ≥ {text} (--driver {text} resolves for it)",
            options=(("--driver", text),),
        ),
        Remedy.use(("--cpu", None), verb="resolve a CPU-only stack with"),
    )
    raise ResolutionError.explained(
        Explanation(
            headline=f"driver {driver} supports CUDA ≤ {machine.max_cuda}, but {stack} needs "
            f"driver ≥ {floor}",
            reasons=reasons,
            hints=hints,
        )
    )
