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

__all__ = ["GROUPS", "Pin", "Relaxation", "Resolution", "WheelFile"]

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
    # The pins this one needs for the target (extras in use included), as the solver linked
    # them; None when unknown (a lock another tool wrote without PEP 751 ``dependencies``).
    dependencies: tuple[NormalizedName, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Relaxation:
    """A framework's exact pin on an NVIDIA wheel, met by a newer release of the same major
    because an NVIDIA compatibility rule allows it (``constraints/compat_rules.toml``)."""

    package: NormalizedName  # nvidia-cudnn-cu12
    pinned: Version  # what the framework pins: 9.3.0.75
    chosen: Version  # what the environment holds: 9.5.1.17
    by: str  # who pinned it: tensorflow[and-cuda]==2.18.1
    rule: str  # the rule's id: cudnn-minor-backward
    source: str = ""  # the rule's source (NVIDIA's document)
    # Why this release: "the newest of the frameworks' pins (torch==2.7.1 pins 9.5.1.17)", or
    # "the lowest release that meets every requirement (jax-cuda12-plugin... needs ...>=9.8)".
    why: str = ""

    def text(self) -> str:
        """``nvidia-cudnn-cu12 ==9.3.0.75 (tensorflow[and-cuda]==2.18.1) -> 9.5.1.17 under
        cudnn-minor-backward``, and where the release is above every pin, why."""
        out = f"{self.package} =={self.pinned} ({self.by}) -> {self.chosen} under {self.rule}"
        return f"{out}: {self.why}" if self.why.startswith("the lowest") else out

    def to_dict(self) -> dict[str, str]:
        """As ``solve --json`` and the lock's ``[[tool.cudaenv.relaxed]]`` write it."""
        out = {
            "package": self.package,
            "pinned": str(self.pinned),
            "chosen": str(self.chosen),
            "by": self.by,
            "rule": self.rule,
            "source": self.source,
        }
        return {**out, "why": self.why} if self.why else out


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """A fully pinned set for one target, with what the stack needs from the driver."""

    pins: tuple[Pin, ...]
    target: Target
    frameworks: tuple[FrameworkRequest, ...]
    cuda: Version | None = None  # CUDA the environment holds: the pinned runtime wheel's
    cudnn: Version | None = None  # cuDNN the environment holds: the pinned cuDNN wheel's
    built_cuda: Version | None = None  # what the framework was built with (its recipe line)
    built_cudnn: Version | None = None
    min_cuda: Version | None = None  # the lowest max-CUDA a driver must report (the __cuda floor)
    driver_floor: DriverVersion | None = None  # the lowest driver that runs the pinned stack
    index_url: str | None = None  # the default index
    notes: tuple[str, ...] = field(default_factory=tuple)
    relaxed: tuple[Relaxation, ...] = ()  # frameworks' pins met by a newer release

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

    def stack_text(self) -> str | None:
        """``CUDA 12.9, cuDNN 9.10 (the pinned wheels; TensorFlow 2.21.0 was built with CUDA
        12.5, cuDNN 9.3)``: what the environment holds, and the build where it differs."""
        if self.cuda is None:
            return None
        held = f"CUDA {self.cuda}" + (f", cuDNN {self.cudnn}" if self.cudnn else "")
        if self.built_cuda is None or (self.built_cuda, self.built_cudnn) == (
            self.cuda,
            self.cudnn,
        ):
            return held
        tf = self.pin("tensorflow")
        who = f"TensorFlow {tf.version}" if tf is not None else "the framework"
        built = f"CUDA {self.built_cuda}" + (
            f", cuDNN {self.built_cudnn}" if self.built_cudnn else ""
        )
        return f"{held} (the pinned wheels; {who} was built with {built})"

    def grouped(self) -> list[tuple[str, list[Pin]]]:
        """Pins by group, in GROUPS order, each sorted by name."""
        return [
            (g, sorted((p for p in self.pins if p.group == g), key=lambda p: p.name))
            for g in GROUPS
        ]
