"""The values detection produces: what a probe found (:class:`DriverInfo`) and the answer
(:class:`Machine`), plus the one error a probe raises when what it found is garbled.

Terms (docs/glossary.md): the *driver version* is a :class:`~cudaenv.driver.DriverVersion`
(535.104.05, printed as NVIDIA writes it); *max CUDA* is the newest CUDA the driver supports
("12.2", what ``cuDriverGetVersion`` and the ``nvidia-smi`` header report).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from cudaenv.errors import DetectError

if TYPE_CHECKING:
    from packaging.version import Version

    from cudaenv.driver import DriverVersion

__all__ = ["SOURCES", "DriverInfo", "Gpu", "Machine", "ProbeError"]

# Which probe answered, in the order they are tried; "none" when none did.
SOURCES = ("override", "nvml", "libcuda", "nvidia-smi", "proc", "none")


class ProbeError(DetectError):
    """A probe found the driver's trace but could not read it (garbled output, crash, hang)."""

    reference = "detect-probe-failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Gpu:
    name: str
    compute_capability: Version | None = None  # 8.6
    memory_mib: int | None = None

    def to_dict(self) -> dict[str, Any]:
        cc = self.compute_capability
        return {
            "name": self.name,
            "compute_capability": None if cc is None else str(cc),
            "memory_mib": self.memory_mib,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DriverInfo:
    """What one probe found. Any field may be unknown; ``problems`` are things worth saying."""

    driver_version: DriverVersion | None = None
    max_cuda: Version | None = None
    gpus: tuple[Gpu, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Both the driver version and max CUDA are known: later probes cannot add to it."""
        return self.driver_version is not None and self.max_cuda is not None

    def merged(self, later: DriverInfo) -> DriverInfo:
        """Fill what this info lacks from ``later``; what is known here wins."""
        return replace(
            self,
            driver_version=self.driver_version or later.driver_version,
            max_cuda=self.max_cuda or later.max_cuda,
            gpus=self.gpus or later.gpus,
            problems=self.problems + later.problems,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Machine:
    """This machine as the solver sees it: the driver, the newest CUDA it runs, the GPUs."""

    driver_version: DriverVersion | None
    max_cuda: Version | None
    source: str
    gpus: tuple[Gpu, ...] = ()
    problems: tuple[str, ...] = ()
    container: tuple[str, ...] = ()

    @property
    def has_driver(self) -> bool:
        """A driver was found or given (``False``: none at all, resolve with no ``__cuda``)."""
        return self.driver_version is not None or self.max_cuda is not None

    @property
    def too_old(self) -> bool:
        """The driver is known but older than every row of the driver table, so its max CUDA
        is below every CUDA release cudaenv knows: it runs no GPU stack. Never "no driver"."""
        return self.driver_version is not None and self.max_cuda is None

    def to_dict(self) -> dict[str, Any]:
        """The ``cudaenv detect --json`` document (exactly these keys)."""
        return {
            "driver_version": None if self.driver_version is None else str(self.driver_version),
            "cuda_driver_version": None if self.max_cuda is None else str(self.max_cuda),
            "gpus": [gpu.to_dict() for gpu in self.gpus],
            "source": self.source,
            "problems": list(self.problems),
        }
