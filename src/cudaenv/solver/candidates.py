"""Candidates: concrete things the resolver can pick, one class per kind.

- :class:`WheelCandidate`: one release of a project and the one file chosen for the target
  (the best wheel by tag priority). Its metadata is fetched only when the resolver asks for its
  dependencies, never when it is made: making a candidate costs nothing.
- :class:`ExtrasCandidate`: ``tensorflow[and-cuda]`` at one release. As in pip, it depends on
  exactly its base release (``tensorflow==2.15.1``) plus what the extras add, so the extras
  and the base can never disagree on the version.
- :class:`VirtualCandidate`: ``__cuda`` (the machine's max CUDA, :func:`cuda_version`; ``None``
  when no driver was detected and none was given, which satisfies any ``__cuda`` requirement)
  and ``__python``.

Candidates are frozen values, hashable by what they are; the factory that answers their
dependencies (a :class:`Source`) is carried along but is not part of their identity. All three
answer the one :class:`Candidate` protocol (a virtual package has no project and no file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from packaging.version import Version

from cudaenv.solver.requirements import ExplicitRequirement, identifier_for

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from packaging.utils import NormalizedName

    from cudaenv.index import FileLink
    from cudaenv.machine import Machine
    from cudaenv.solver.requirements import Requirement

__all__ = [
    "NO_CUDA",
    "Candidate",
    "ExtrasCandidate",
    "Source",
    "VirtualCandidate",
    "WheelCandidate",
    "cuda_version",
]

# The __cuda of a driver older than every row of the driver table: it meets no CUDA floor.
NO_CUDA = Version("0")


def cuda_version(machine: Machine) -> Version | None:
    """The version of ``__cuda`` for ``machine``: its max CUDA; :data:`NO_CUDA` for a driver too
    old for every CUDA cudaenv knows; None (meets every floor) only when there is no driver."""
    if machine.too_old:
        return NO_CUDA
    return machine.max_cuda


class Candidate(Protocol):
    """What every candidate answers: resolvelib's questions and the rules'."""

    @property
    def identifier(self) -> str: ...

    @property
    def project(self) -> NormalizedName | None:
        """The project on the index; None for a virtual package."""
        ...

    @property
    def version(self) -> Version | None:
        """None only for ``__cuda`` on a machine with no driver."""
        ...

    @property
    def filename(self) -> str | None:
        """The file chosen for the target; None for a virtual package."""
        ...

    def iter_dependencies(self) -> Iterator[Requirement]: ...

    def format_for_error(self) -> str: ...


class Source(Protocol):
    """Where a wheel candidate's dependencies come from (the factory: METADATA and recipes)."""

    def dependencies(self, cand: WheelCandidate) -> Iterable[Requirement]: ...

    def extra_dependencies(
        self, base: WheelCandidate, extras: frozenset[NormalizedName]
    ) -> Iterable[Requirement]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelCandidate:
    """``name==version`` from ``link`` (a wheel, or an sdist only with ``allow_sdist``)."""

    name: NormalizedName
    version: Version
    filename: str
    link: FileLink = field(compare=False, repr=False)  # identity is the filename: cheap to hash
    factory: Source = field(compare=False, repr=False)

    @property
    def identifier(self) -> str:
        return self.name

    @property
    def project(self) -> NormalizedName:
        return self.name

    def iter_dependencies(self) -> Iterator[Requirement]:
        """Requires-Dist for the target, Requires-Python, and what the recipes add.

        Cost: the wheel's METADATA (disk cache, else PEP 658, else two or three Range reads).
        """
        return iter(self.factory.dependencies(self))

    def format_for_error(self) -> str:
        return f"{self.name} {self.version}"

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtrasCandidate:
    """``base`` with ``extras``: depends on ``base==version`` and on what the extras add."""

    base: WheelCandidate
    extras: frozenset[NormalizedName]

    @property
    def identifier(self) -> str:
        return identifier_for(self.base.name, self.extras)

    @property
    def project(self) -> NormalizedName:
        return self.base.name

    @property
    def version(self) -> Version:
        return self.base.version

    @property
    def filename(self) -> str:
        return self.base.filename

    def iter_dependencies(self) -> Iterator[Requirement]:
        """Cost: the base wheel's METADATA (shared with the base candidate)."""
        yield ExplicitRequirement(
            name=self.base.name, version=self.version, filename=self.filename, origin=str(self)
        )
        yield from self.base.factory.extra_dependencies(self.base, self.extras)

    def format_for_error(self) -> str:
        return f"{self.identifier} {self.version}"

    def __str__(self) -> str:
        return f"{self.identifier}=={self.version}"


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualCandidate:
    """A fact, not a file: ``__cuda`` at the machine's max CUDA, ``__python`` at the target."""

    name: str
    version: Version | None  # None: unknown (no driver detected); satisfies any requirement

    @property
    def identifier(self) -> str:
        return self.name

    @property
    def project(self) -> None:
        return None

    @property
    def filename(self) -> None:
        return None

    def iter_dependencies(self) -> Iterator[Requirement]:
        return iter(())

    def format_for_error(self) -> str:
        return f"{self.name} {self.version if self.version is not None else '(unknown)'}"

    def __str__(self) -> str:
        return self.format_for_error()
