"""The result of a solve: pinned wheels and the facts of the stack (:class:`Resolution`).

This is the value that crosses from the solver to the lock and from the lock to the installer, so
it depends on neither. ``create --tf`` is solve -> lock -> install(lock) and ``create --from`` is
install(lock): both reach the installer through this one shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from cudaenv.driver import DriverVersion
    from cudaenv.request import FrameworkRequest, Target

__all__ = ["GROUPS", "Pin", "Resolution", "WheelFile"]

# How pins are grouped in tables: frameworks first, then the CUDA libraries, then the rest.
GROUPS = ("framework", "cuda", "other")


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelFile:
    """One wheel on an index, exactly as the lock records it."""

    filename: str
    url: str
    sha256: str
    size: int | None = None
    upload_time: str | None = None  # ISO 8601, as the index gave it


@dataclass(frozen=True, slots=True, kw_only=True)
class Pin:
    """A locked candidate: one package at one version, from one wheel."""

    name: NormalizedName
    version: Version
    wheel: WheelFile
    why: tuple[str, ...] = ()  # who asked for it, e.g. ("tensorflow[and-cuda]==2.15.1",)
    group: str = "other"  # one of GROUPS
    # The index it came from, without credentials; "" for none (a find-links file); None when
    # not recorded (then it is the resolution's index_url).
    index: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """A fully pinned set for one target, with what the stack needs from the driver."""

    pins: tuple[Pin, ...]
    target: Target
    frameworks: tuple[FrameworkRequest, ...]
    cuda: Version | None = None  # CUDA of the stack (from the recipes of the chosen releases)
    cudnn: Version | None = None
    min_cuda: Version | None = None  # the lowest max-CUDA a driver must report (the __cuda floor)
    driver_floor: DriverVersion | None = None  # the minimum Linux driver version for min_cuda
    index_url: str | None = None  # the default index
    notes: tuple[str, ...] = field(default_factory=tuple)

    def pin(self, name: str) -> Pin | None:
        for p in self.pins:
            if p.name == name:
                return p
        return None

    def sources(self) -> dict[str, list[Pin]]:
        """Pins by where they came from: an index URL (without credentials), or
        ``"find-links"``; the default index first, each list sorted by name."""
        from cudaenv.index.auth import without_auth

        default = without_auth(self.index_url) if self.index_url else "an index"
        found: dict[str, list[Pin]] = {default: []}
        for pin in sorted(self.pins, key=lambda p: p.name):
            if pin.index == "":
                key = "find-links"
            else:
                key = without_auth(pin.index) if pin.index else default
            found.setdefault(key, []).append(pin)
        return {k: v for k, v in found.items() if v}

    def grouped(self) -> list[tuple[str, list[Pin]]]:
        """Pins by group, in GROUPS order, each sorted by name."""
        return [
            (g, sorted((p for p in self.pins if p.group == g), key=lambda p: p.name))
            for g in GROUPS
        ]
