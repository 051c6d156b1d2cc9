"""The rows of the knowledge base as values: one per TensorFlow, PyTorch, JAX, spaCy or CuPy line.

Each row says what a framework release line needs from CUDA that its wheel metadata does not say
(docs/architecture.md). The values are frozen, slotted and hashable (the solver caches on them), and
use packaging types throughout; they are built only by :mod:`cudaenv.knowledge.schema` from the
TOML files, never from literals in code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName
    from packaging.version import Version

__all__ = [
    "CupyLine",
    "FrozenMap",
    "JaxLine",
    "KnownBad",
    "NumpyLimit",
    "OptionalPart",
    "PreloadModules",
    "ReleaseNeeds",
    "SpacyLine",
    "TfLine",
    "TorchLine",
    "same_line",
    "spec_text",
]

# Lower bounds first, as people write ranges (">=3.9,<3.12"); packaging sorts by text.
_OPERATOR_ORDER = {">": 0, ">=": 0, "~=": 1, "==": 1, "===": 1, "!=": 2, "<": 3, "<=": 3}

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V]):
    """A read-only, hashable mapping, so that rows holding one stay hashable."""

    __slots__ = ("_data", "_hash")

    def __init__(self, items: Mapping[K, V] | None = None) -> None:
        self._data: dict[K, V] = dict(items or {})
        self._hash: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def same_line(line: Version, version: Version) -> bool:
    """Whether ``version`` (2.15.0.post1, 2.15.1rc0) belongs to minor ``line`` (2.15)."""
    return version.epoch == line.epoch and version.release[:2] == line.release[:2]


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownBad:
    """A release not to install, why, and (optionally) only on which Pythons."""

    version: Version
    reason: str
    python: SpecifierSet | None  # None: bad on every Python
    source: str

    def applies(self, python: Version | None) -> bool:
        """True if bad everywhere, or ``python`` is given and inside :attr:`python`."""
        if self.python is None:
            return True
        return python is not None and self.python.contains(python, prereleases=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class TfLine:
    """One TensorFlow minor line (2.15): its CUDA stack and what activation must set."""

    line: Version
    cuda: Version
    cudnn: Version
    cuda_major: int
    python: SpecifierSet
    extra: str | None  # "and-cuda" where TF declares its NVIDIA wheels (>= 2.14)
    wheels: tuple[Requirement, ...]  # the line's NVIDIA wheels (extra's or `requirements`)
    requirements: tuple[Requirement, ...]  # root requirements cudaenv adds
    constraints: tuple[Requirement, ...]  # only restrict, never add
    min_cuda: Version  # the __cuda floor under minor-version compatibility
    sonames: tuple[str, ...]
    env: Mapping[str, str]  # templates with {site} / {prefix}
    path: tuple[str, ...]  # templates, prepended to PATH
    bad: Mapping[Version, str]  # releases bad on every Python -> reason
    known_bad: tuple[KnownBad, ...]  # all bad entries, conditional ones included
    notes: Mapping[Version, str]  # known problems cudaenv works around
    pre_release_only: bool
    source: str

    def contains(self, version: Version) -> bool:
        """Whether a TensorFlow release belongs to this line (2.15.1 -> 2.15)."""
        return same_line(self.line, version)

    def bad_reason(self, version: Version, python: Version | None = None) -> str | None:
        """Why ``version`` must not be installed for ``python`` (None: it may be)."""
        for entry in self.known_bad:
            if entry.version == version and entry.applies(python):
                return entry.reason
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionalPart:
    """Requirements of a CUDA extra that only an optional feature needs (TensorRT: TF-TRT).

    Where one of them has no release with a file for the target, the rest of the extra is
    resolved without them and the feature is said to be unavailable: the framework still runs.
    """

    name: str  # the table key, "tensorrt"
    packages: frozenset[NormalizedName]
    feature: str  # what is lost without them: "TF-TRT (tf.experimental.tensorrt)"
    source: str

    def covers(self, name: str) -> bool:
        return name in self.packages


@dataclass(frozen=True, slots=True, kw_only=True)
class PreloadModules:
    """Modules whose first import makes the start-up hook load the environment's NVIDIA
    libraries first (a recipe file's ``[preload]`` table): a framework that finds CUDA by
    soname through the loader's search, or whose search ``LD_LIBRARY_PATH`` can shadow."""

    file: str  # the recipe file it came from, "cupy.toml"
    modules: tuple[str, ...]  # top-level module names, "cupy", "cupy_backends"
    why: str
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SpacyLine:
    """One spaCy minor line (3.7): its thinc range, Pythons and GPU extras."""

    line: Version
    thinc: SpecifierSet
    python: SpecifierSet
    gpu_extras: Mapping[int, str]  # CUDA major -> extra name ("cuda12x")
    requirements: tuple[Requirement, ...]  # what the line imports but does not declare
    constraints: tuple[Requirement, ...]
    source: str

    def contains(self, version: Version) -> bool:
        """Whether a spaCy release belongs to this line (3.7.5 -> 3.7)."""
        return same_line(self.line, version)


@dataclass(frozen=True, slots=True, kw_only=True)
class NumpyLimit:
    """The numpy range a range of CuPy releases declares."""

    versions: SpecifierSet
    numpy: SpecifierSet


@dataclass(frozen=True, slots=True, kw_only=True)
class CupyLine:
    """One CuPy build (cupy-cuda12x) and the NVIDIA wheels it loads at run time."""

    name: NormalizedName
    cuda_major: int
    versions: SpecifierSet
    python: SpecifierSet
    runtime_wheels: tuple[Requirement, ...]
    sonames: tuple[str, ...]
    numpy: tuple[NumpyLimit, ...]
    source: str
    optional: tuple[str, ...] = ()  # soname prefixes of parts loaded only when used (cuDNN)

    def is_optional(self, soname: str) -> bool:
        """Whether CuPy links ``soname`` only from a module it imports when used."""
        return soname.startswith(self.optional) if self.optional else False

    def numpy_for(self, version: Version) -> SpecifierSet | None:
        """The numpy range CuPy ``version`` declares, if the recipe knows it."""
        for limit in self.numpy:
            if limit.versions.contains(version, prereleases=True):
                return limit.numpy
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class TorchLine:
    """One PyTorch minor line (2.7): the CUDA and cuDNN its PyPI wheels were built for.

    The wheels pin their NVIDIA wheels themselves (Requires-Dist); the row holds what METADATA
    does not say.
    """

    line: Version
    cuda: Version  # what the wheels were built for: the CUDA runtime or cuda-toolkit they pin
    cudnn: Version  # major.minor of the pinned cuDNN
    cuda_major: int
    python: SpecifierSet
    min_cuda: Version  # the __cuda floor under minor-version compatibility
    triton: Requirement | None
    gpu_machines: tuple[str, ...]  # platform_machine values the NVIDIA pins apply to
    notes: Mapping[Version, str]
    source: str

    def contains(self, version: Version) -> bool:
        """Whether a torch release belongs to this line (2.7.1 -> 2.7)."""
        return same_line(self.line, version)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseNeeds:
    """What some releases of one package of a line need that their METADATA does not say
    (jaxlib before 0.4.26: ``numpy<2``), with the source that says so."""

    package: NormalizedName
    versions: SpecifierSet
    requirements: tuple[Requirement, ...]
    source: str

    def applies(self, name: str, version: Version) -> bool:
        return name == self.package and self.versions.contains(version, prereleases=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class JaxLine:
    """One JAX minor line (0.7): which extra reaches which CUDA major, and from which release."""

    line: Version
    python: SpecifierSet
    extras: Mapping[int, str]  # CUDA major -> extra ("cuda12")
    since: Mapping[int, Version]  # CUDA major -> first release whose extra installs from PyPI
    cudnn: Mapping[int, SpecifierSet]  # CUDA major -> the cuDNN range the newest release declares
    notes: Mapping[Version, str]
    source: str
    cpu_extra: str | None = None  # the extra that brings jaxlib on the CPU ("cpu"), where needed
    needs: tuple[ReleaseNeeds, ...] = ()  # what releases of jaxlib or a plugin need besides

    def contains(self, version: Version) -> bool:
        """Whether a JAX release belongs to this line (0.7.2 -> 0.7)."""
        return same_line(self.line, version)

    def extra_for(self, cuda_major: int, version: Version | None = None) -> str | None:
        """The extra that installs CUDA ``cuda_major`` for ``version`` (None: the newest)."""
        first = self.since.get(cuda_major)
        if version is not None and first is not None and version < first:
            return None
        return self.extras.get(cuda_major)

    @property
    def cuda_majors(self) -> tuple[int, ...]:
        """The CUDA majors the line reaches, oldest first."""
        return tuple(sorted(self.extras))


def spec_text(spec: SpecifierSet) -> str:
    """A specifier as people write ranges: lower bounds first, each group in version order
    (``>=3.9,<3.12``, ``>=3.7,!=3.9.*,!=3.10.*,<3.13``)."""
    ordered = sorted(spec, key=lambda s: (_OPERATOR_ORDER[s.operator], _numbers(s.version)))
    return ",".join(str(s) for s in ordered)


def _numbers(version: str) -> tuple[int, ...]:
    """3.10.* -> (3, 10): versions and wildcards compare by their numbers, not as text."""
    return tuple(int(n) for n in re.findall(r"\d+", version))
