"""The frozen context of one solve: what every rule may read and none may change.

A rule is a function of the request, the machine, the knowledge base and the target, and, once
the plan chose it, the environment's one CUDA major (:class:`StackMajor`). The factory holds
the context of its solve; the plan hands the rules a new one when the major is chosen
(:meth:`Context.on`), since a value never changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from cudaenv.knowledge.lines import FrozenMap

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.requirements import Requirement as Pep508
    from packaging.version import Version

    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.request import Request, Target

__all__ = ["Context", "StackMajor"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StackMajor:
    """The CUDA major of the environment, and whose lines decided it (for messages)."""

    major: int
    who: str  # "TensorFlow 2.18", "PyTorch 2.11"


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """Request, machine, knowledge and target of one solve; ``major`` once chosen."""

    request: Request
    machine: Machine
    knowledge: Knowledge
    major: StackMajor | None = None  # None until the plan chose it, and on the CPU
    # framework -> why its releases newer than the recipes could not be read from metadata
    uncurated: Mapping[str, str] = field(default_factory=FrozenMap)
    # the target's PEP 508 environment: a dict, read-only by its type (a marker is evaluated for
    # every Requires-Dist line a solve reads; unpacking a FrozenMap costs 2-3 times as much)
    markers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        request: Request,
        machine: Machine,
        knowledge: Knowledge,
        *,
        uncurated: Mapping[str, str] | None = None,
    ) -> Context:
        """The context of a solve of ``request``, its markers evaluated for the target."""
        return cls(
            request=request,
            machine=machine,
            knowledge=knowledge,
            uncurated=FrozenMap(uncurated),
            markers=request.target.marker_environment(),
        )

    @property
    def target(self) -> Target:
        return self.request.target

    @property
    def python(self) -> Version:
        """The target Python (major.minor)."""
        return self.request.target.python

    @property
    def cuda_major(self) -> int | None:
        """The stack's CUDA major, once chosen."""
        return self.major.major if self.major is not None else None

    def on(self, major: StackMajor) -> Context:
        """This context on the stack's CUDA major ``major``."""
        return replace(self, major=major)

    def applies(self, req: Pep508, extra: str) -> bool:
        """Whether ``req``'s marker holds for the target with ``extra`` ("" for none)."""
        return req.marker is None or req.marker.evaluate({**self.markers, "extra": extra})
