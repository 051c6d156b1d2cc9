"""What a rule may ask of the index: a small protocol, implemented by the factory.

The factory (:class:`cudaenv.solver.factory.Factory`) is the only part of the solver that talks
to the index client; a rule that must know what the index offers asks through a
:class:`Catalog` (the versions listed, the releases for the target, the release the search
would pick, a release's METADATA), and a rule that runs before the factory exists (the lines
derived from METADATA, :mod:`.uncurated`) through :class:`Pages`, which the index client
implements itself. A test hands either a fake with the same methods, so a rule runs without an
index server. Every answer is the engine's: cached, and cut to the target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from cudaenv.index import CoreMetadata, FileLink
    from cudaenv.solver.releases import Release
    from cudaenv.solver.requirements import Requirement, SpecifierRequirement

    Limits = Mapping[NormalizedName, SpecifierSet]  # constraints: narrow, never add

__all__ = ["Catalog", "Pages"]


class Pages(Protocol):
    """A project's files and a file's METADATA, straight from the index (:class:`Index`)."""

    def project(self, name: str) -> Sequence[FileLink]:
        """Every file the index lists for ``name``, in its order."""
        ...

    def metadata(self, link: FileLink) -> CoreMetadata:
        """The METADATA of one file."""
        ...


class Catalog(Protocol):
    """The index as the search sees it, for the rules (the factory implements it)."""

    def versions(self, name: str) -> tuple[Version, ...]:
        """Every version the index lists for ``name``, any platform, newest first."""
        ...

    def releases(self, name: NormalizedName) -> Sequence[Release]:
        """The versions with a file for the target, newest first, with whether yanked."""
        ...

    def refused(self, name: NormalizedName, version: Version) -> str | None:
        """Why the search never picks this release (the recipes' rules), or None."""
        ...

    def newest(self, req: SpecifierRequirement, limits: Limits) -> FileLink | None:
        """The file of the release the search would try first for ``req``, narrowed by
        ``limits`` as well; None when no release is left."""
        ...

    def metadata(self, link: FileLink) -> CoreMetadata:
        """The METADATA of one file."""
        ...

    def prefetch(self, names: Iterable[str]) -> None:
        """Read these projects' pages now, together (a hint: answers do not change)."""
        ...

    def warm(self, reqs: Iterable[Requirement]) -> None:
        """Look ahead on these requirements in the background (a hint)."""
        ...
