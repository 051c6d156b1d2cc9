"""The result of a solve: pinned wheels and the facts of the stack (:class:`Resolution`).

This is the value that crosses from the solver to the lock and from the lock to the installer, so
it depends on neither. ``create --tf`` is solve -> lock -> install(lock) and ``create --from`` is
install(lock): both reach the installer through this one shape.

The facts of the CUDA stack (CUDA, cuDNN, what the framework was built with, the ``__cuda``
floor, the driver floor) are one value, :class:`Stack`, declared here once and written one way:
:meth:`Stack.to_table` and :meth:`Stack.from_table` are the codec the lock's ``[tool.cudaenv]``
table and the solver's memo both use, :meth:`Stack.to_json` the view every ``--json`` prints.
A :class:`Relaxation` likewise has one codec (:meth:`Relaxation.to_dict`,
:meth:`Relaxation.from_dict`). A value that cannot be read raises :class:`FieldError`, naming
the key; each reader turns it into its own error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from cudaenv.driver import DriverVersion
from cudaenv.net.auth import without_auth

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from packaging.utils import NormalizedName

    from cudaenv.request import FrameworkRequest, Target

__all__ = ["GROUPS", "FieldError", "Pin", "Relaxation", "Resolution", "Stack", "WheelFile"]

_V = TypeVar("_V")

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
        """As ``solve --json``, the lock's ``[[tool.cudaenv.relaxed]]`` and the memo write it."""
        out = {
            "package": self.package,
            "pinned": str(self.pinned),
            "chosen": str(self.chosen),
            "by": self.by,
            "rule": self.rule,
            "source": self.source,
        }
        return {**out, "why": self.why} if self.why else out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Relaxation:
        """:meth:`to_dict`'s table read back (``source`` and ``why`` may be missing: locks made
        before 2026-12 do not say why); :class:`FieldError` names what is wrong."""
        text = {k: _text(data, k) for k in ("package", "by", "rule", "source", "why")}
        pinned, chosen = _text(data, "pinned"), _text(data, "chosen")
        if not text["package"] or not text["by"] or not text["rule"] or not pinned or not chosen:
            raise FieldError(None, "package, pinned, chosen, by and rule are required")
        return cls(
            package=canonicalize_name(text["package"]),
            pinned=_parse("pinned", pinned, Version),
            chosen=_parse("chosen", chosen, Version),
            by=text["by"],
            rule=text["rule"],
            source=text["source"] or "",
            why=text["why"] or "",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Stack:
    """The CUDA stack of a resolution: what the environment holds, what its framework was
    built with, and what it needs from the driver (all None on the CPU)."""

    cuda: Version | None = None  # CUDA the environment holds: the pinned runtime wheel's
    cudnn: Version | None = None  # cuDNN the environment holds: the pinned cuDNN wheel's
    built_cuda: Version | None = None  # what the framework was built with (its recipe line)
    built_cudnn: Version | None = None
    min_cuda: Version | None = None  # the lowest max-CUDA a driver must report (the __cuda floor)
    driver_floor: DriverVersion | None = None  # the lowest driver that runs the pinned stack

    def to_table(self) -> dict[str, str]:
        """The stack as the lock's ``[tool.cudaenv]`` keys (``driver-floor`` as NVIDIA writes
        it); a fact that is not known is left out (TOML has no null)."""
        facts = (
            ("cuda", self.cuda),
            ("cudnn", self.cudnn),
            ("built-with-cuda", self.built_cuda),
            ("built-with-cudnn", self.built_cudnn),
            ("min-cuda", self.min_cuda),
            ("driver-floor", self.driver_floor),
        )
        return {key: str(value) for key, value in facts if value is not None}

    @classmethod
    def from_table(cls, table: Mapping[str, object]) -> Stack:
        """:meth:`to_table`'s keys read back from ``table`` (other keys ignored); a wrong value
        raises :class:`FieldError` with its key."""
        return cls(
            cuda=_version(table, "cuda"),
            cudnn=_version(table, "cudnn"),
            built_cuda=_version(table, "built-with-cuda"),
            built_cudnn=_version(table, "built-with-cudnn"),
            min_cuda=_version(table, "min-cuda"),
            driver_floor=_driver(table, "driver-floor"),
        )

    def to_json(self) -> dict[str, Any]:
        """The stack as ``--json`` reports it: ``cuda`` and ``cudnn`` are what the pins hold,
        ``built_with`` what the framework was built with (None where the recipes do not say)."""
        built = None
        if self.built_cuda is not None:
            built = {"cuda": _str(self.built_cuda), "cudnn": _str(self.built_cudnn)}
        return {
            "cuda": _str(self.cuda),
            "cudnn": _str(self.cudnn),
            "built_with": built,
            "driver_floor": _str(self.driver_floor),
        }

    def text(self, framework: str) -> str | None:
        """``CUDA 12.9, cuDNN 9.10 (the pinned wheels; TensorFlow 2.21.0 was built with CUDA
        12.5, cuDNN 9.3)``: what the environment holds, and ``framework``'s build where it
        differs."""
        if self.cuda is None:
            return None
        held = f"CUDA {self.cuda}" + (f", cuDNN {self.cudnn}" if self.cudnn else "")
        if self.built_cuda is None or (self.built_cuda, self.built_cudnn) == (
            self.cuda,
            self.cudnn,
        ):
            return held
        built = f"CUDA {self.built_cuda}" + (
            f", cuDNN {self.built_cudnn}" if self.built_cudnn else ""
        )
        return f"{held} (the pinned wheels; {framework} was built with {built})"


class FieldError(ValueError):
    """A stored fact that cannot be read: ``key`` (None: the table as a whole) and what."""

    def __init__(self, key: str | None, what: str):
        super().__init__(f"{key}: {what}" if key else what)
        self.key, self.what = key, what


def _str(value: object | None) -> str | None:
    return None if value is None else str(value)


def _text(table: Mapping[str, object], key: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise FieldError(key, f"expected str, got {type(value).__name__}")
    return value


def _parse(key: str, text: str, parse: Callable[[str], _V]) -> _V:
    try:
        return parse(text)
    except (InvalidVersion, ValueError) as e:
        raise FieldError(key, f"{text!r} is not a version") from e


def _version(table: Mapping[str, object], key: str) -> Version | None:
    text = _text(table, key)
    return None if text is None else _parse(key, text, Version)


def _driver(table: Mapping[str, object], key: str) -> DriverVersion | None:
    text = _text(table, key)
    return None if text is None else _parse(key, text, DriverVersion)


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """A fully pinned set for one target, with what the stack needs from the driver."""

    pins: tuple[Pin, ...]
    target: Target
    frameworks: tuple[FrameworkRequest, ...]
    stack: Stack = Stack()  # the CUDA stack the pins make (empty on the CPU)
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
        """The stack in words (:meth:`Stack.text`), naming the pinned TensorFlow's build."""
        tf = self.pin("tensorflow")
        return self.stack.text(f"TensorFlow {tf.version}" if tf is not None else "the framework")

    def grouped(self) -> list[tuple[str, list[Pin]]]:
        """Pins by group, in GROUPS order, each sorted by name."""
        return [
            (g, sorted((p for p in self.pins if p.group == g), key=lambda p: p.name))
            for g in GROUPS
        ]
