"""Requirements: what the resolver must satisfy, one class per kind (abstract, never a file).

- :class:`SpecifierRequirement`: a named project with extras and a version specifier, from a
  ``Requires-Dist`` line, a recipe or the user's ``--tf``/``--torch``/``--jax``/``--spacy``.
  A framework's exact pin on an NVIDIA wheel that NVIDIA's rules let a newer release of the
  same major stand in for becomes ``>=pin,<next major`` and keeps the pin in ``relaxed``
  (:meth:`SpecifierRequirement.within_major`; :mod:`cudaenv.solver.rules.relax`).
- :class:`VirtualRequirement`: a fact about the machine or target, ``__cuda >= 12.0`` or
  ``__python in >=3.9,<3.12``. Built from a name and a ``SpecifierSet`` directly, never through
  ``packaging.requirements.Requirement`` (which rejects ``__cuda``) or ``canonicalize_name``
  (which turns it into ``-cuda``), as pip builds ``RequiresPythonRequirement``.
- :class:`ExplicitRequirement`: exactly one file, a pin read from a lock, or the base of an
  extras candidate (``tensorflow[and-cuda]==2.15.1`` depends on exactly that ``tensorflow``).

Every requirement is a frozen, hashable value (the provider caches ``is_satisfied_by`` on
them), names the resolver identifier it constrains, and says itself in ``format_for_error``.
``origin`` (who asked) is left out of equality: the same constraint from two parents is one.
All three answer the one :class:`Requirement` protocol (a kind that has no extras, pin or
asker says so with an empty value), so neither the engine nor a rule asks which kind it holds
before reading one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from packaging.requirements import Requirement as PackagingRequirement
    from packaging.utils import NormalizedName


__all__ = [
    "CUDA",
    "PYTHON",
    "ExplicitRequirement",
    "Offered",
    "Requirement",
    "SpecifierRequirement",
    "VirtualRequirement",
    "admits",
    "exact_version",
    "identifier_for",
    "is_virtual",
]

CUDA = "__cuda"  # version: the max CUDA of the machine's driver
PYTHON = "__python"  # version: the target Python (major.minor)


def is_virtual(identifier: str) -> bool:
    """Identifiers starting with ``_`` cannot be PyPI names, so they never collide."""
    return identifier.startswith("_")


def identifier_for(name: str, extras: frozenset[str]) -> str:
    """``tensorflow`` or ``tensorflow[and-cuda]``: the resolver's key for a name and extras."""
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


class Offered(Protocol):
    """What a requirement reads of a candidate (:class:`~.candidates.Candidate` has more)."""

    @property
    def version(self) -> Version | None: ...

    @property
    def filename(self) -> str | None: ...


class Requirement(Protocol):
    """What every requirement answers: resolvelib's questions and the rules'."""

    @property
    def identifier(self) -> str:
        """The resolver's key: ``tensorflow[and-cuda]``, ``__cuda``."""
        ...

    @property
    def project(self) -> NormalizedName | None:
        """The project on the index; None for a virtual package."""
        ...

    @property
    def specifier(self) -> SpecifierSet: ...

    @property
    def extras(self) -> frozenset[NormalizedName]: ...

    @property
    def exact(self) -> Version | None:
        """The one release it pins, if it pins one."""
        ...

    @property
    def relaxed(self) -> Version | None:
        """The framework's exact pin this requirement stands in for (:mod:`.rules.relax`)."""
        ...

    @property
    def origin(self) -> str | None:
        """Who asked, for a project's requirement: ``--tf 2.15``, a recipe, a parent."""
        ...

    @property
    def who(self) -> str | None:
        """Who asked, for a virtual package's: ``TensorFlow 2.15``."""
        ...

    def is_satisfied_by(self, candidate: Offered) -> bool: ...

    def format_for_error(self) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecifierRequirement:
    """``name[extras] specifier``: any release of the project that the specifier contains."""

    name: NormalizedName
    specifier: SpecifierSet = field(default_factory=SpecifierSet)
    extras: frozenset[NormalizedName] = frozenset()
    origin: str | None = field(default=None, compare=False)  # "--tf 2.15", a recipe
    relaxed: Version | None = None  # the exact pin this stands in for (9.3.0.75), if relaxed

    @classmethod
    def within_major(
        cls, req: SpecifierRequirement, pin: Version, origin: str | None = None
    ) -> SpecifierRequirement:
        """``req``'s ``==pin`` as ``>=pin,<next major``, remembering the pin."""
        upper = pin.release[0] + 1
        return cls(
            name=req.name,
            specifier=SpecifierSet(f">={pin},<{upper}"),
            extras=req.extras,
            origin=origin if origin is not None else req.origin,
            relaxed=pin,
        )

    @classmethod
    def from_requirement(
        cls, req: PackagingRequirement, extras: frozenset[NormalizedName], origin: str | None = None
    ) -> SpecifierRequirement:
        """From a parsed ``Requires-Dist`` (its name already canonical by packaging's rules)."""
        name = canonicalize_name(req.name)
        return cls(name=name, specifier=req.specifier, extras=extras, origin=origin)

    @property
    def identifier(self) -> str:
        return identifier_for(self.name, self.extras)

    @property
    def project(self) -> NormalizedName:
        return self.name

    @property
    def exact(self) -> Version | None:
        """The release an ``==X`` (no wildcard) or ``===X`` pins, else None."""
        return exact_version(self.specifier)

    @property
    def who(self) -> None:
        return None

    def is_satisfied_by(self, candidate: Offered) -> bool:
        # Pre-releases were admitted or not when candidates were made; here they count.
        version = candidate.version
        return version is not None and self.specifier.contains(version, prereleases=True)

    def format_for_error(self) -> str:
        if self.relaxed is not None:
            major = self.relaxed.release[0]
            return f"{self.identifier}=={self.relaxed} (or a newer {major}.x)"
        return f"{self.identifier}{self.specifier}" if self.specifier else self.identifier


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualRequirement:
    """A requirement on ``__cuda`` or ``__python``; ``who`` names the asker in explanations."""

    name: str
    specifier: SpecifierSet
    who: str | None = field(default=None, compare=False)  # "TensorFlow 2.15"

    @classmethod
    def at_least(cls, name: str, version: Version, who: str | None = None) -> VirtualRequirement:
        """``name >= version``: a recipe's ``min_cuda``, say."""
        return cls(name=name, specifier=SpecifierSet(f">={version}"), who=who)

    @classmethod
    def for_cuda_major(cls, major: int, who: str | None = None) -> VirtualRequirement:
        """``__cuda >= MAJOR.0``: any release of that CUDA major (minor-version compat)."""
        return cls(name=CUDA, specifier=SpecifierSet(f">={major}.0"), who=who)

    @property
    def identifier(self) -> str:
        return self.name

    @property
    def project(self) -> None:
        return None

    @property
    def extras(self) -> frozenset[NormalizedName]:
        return frozenset()

    @property
    def exact(self) -> None:
        return None

    @property
    def relaxed(self) -> None:
        return None

    @property
    def origin(self) -> None:
        return None  # the asker is ``who``

    @property
    def floor(self) -> Version | None:
        """The lowest version this allows, for ``>=``/``==``/``~=`` bounds (None if unbounded)."""
        ops = (">=", "==", "~=", "===")
        bounds = [Version(s.version.rstrip(".*")) for s in self.specifier if s.operator in ops]
        return max(bounds, default=None)

    def is_satisfied_by(self, candidate: Offered) -> bool:
        """An unknown version (no driver detected, none given) satisfies any floor."""
        version = candidate.version
        return version is None or self.specifier.contains(version, prereleases=True)

    def format_for_error(self) -> str:
        return f"{self.name}{self.specifier}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExplicitRequirement:
    """Exactly one release from one file (``filename``; None accepts any file of it)."""

    name: NormalizedName
    version: Version
    filename: str | None = None
    origin: str | None = field(default=None, compare=False)

    @property
    def identifier(self) -> str:
        return self.name

    @property
    def project(self) -> NormalizedName:
        return self.name

    @property
    def specifier(self) -> SpecifierSet:
        return SpecifierSet(f"=={self.version}")

    @property
    def exact(self) -> Version:
        return self.version

    @property
    def extras(self) -> frozenset[NormalizedName]:
        return frozenset()

    @property
    def relaxed(self) -> None:
        return None

    @property
    def who(self) -> None:
        return None

    def is_satisfied_by(self, candidate: Offered) -> bool:
        if candidate.version != self.version:
            return False
        return self.filename is None or candidate.filename == self.filename

    def format_for_error(self) -> str:
        return f"{self.name}=={self.version}"


def admits(specifier: SpecifierSet, version: Version, *, pre: bool) -> bool:
    """Whether ``specifier`` lets ``version`` in under cudaenv's pre-release rule: a
    pre-release only with ``--pre`` or when the specifier names one (``>=2.16.0rc0``).

    Not ``specifier.contains(version)``: with packaging 26 that admits pre-releases by default,
    and a resolver that does picks ``tensorflow 2.13.0rc1`` unasked (docs/facts.md,
    "Pre-releases").
    """
    if not specifier.contains(version, prereleases=True):
        return False
    return pre or not version.is_prerelease or bool(specifier.prereleases)


def exact_version(specifier: SpecifierSet) -> Version | None:
    """The release ``==X`` (no wildcard) or ``===X`` names, if the specifier is one such pin."""
    specs = list(specifier)
    if len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
        return None
    try:
        return Version(specs[0].version)
    except InvalidVersion:
        return None
