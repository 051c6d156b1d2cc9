"""A fake of the solver's catalog, so that a CUDA rule runs without an index server.

The rules ask the index only through the :class:`~cudaenv.solver.rules.catalog.Catalog`
protocol (and :class:`~cudaenv.solver.rules.catalog.Pages` before the factory exists); the
factory implements both for real. :class:`FakeCatalog` implements them over tables held in
memory: the releases each project has for the target, the versions listed for any platform,
the METADATA of a release. What the recipes refuse is the real rule's answer
(:func:`cudaenv.solver.rules.recipes.refused`) for the context it is given, unless a test names
a reason itself. The release it offers first follows the factory's order: newest first, no
pre-release unless asked for, nothing yanked, refused or outside the limits. It records the
hints it was given (``prefetched``, ``warmed``), which change no answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv.driver import DriverVersion
from cudaenv.index import CoreMetadata, FileLink, ProjectNotFound
from cudaenv.knowledge import load
from cudaenv.machine import Machine
from cudaenv.request import Request
from cudaenv.solver.candidates import WheelCandidate
from cudaenv.solver.releases import Release
from cudaenv.solver.rules import recipes
from cudaenv.solver.rules.context import Context

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName

    from cudaenv.solver.requirements import Requirement, SpecifierRequirement

__all__ = ["FakeCatalog", "candidate", "context", "link_for", "metadata_text"]


def metadata_text(
    name: str, version: str, *requires: str, extras: Sequence[str] = (), python: str = ""
) -> str:
    """A release's METADATA as a wheel carries it: its Requires-Dist lines and extras."""
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Python: {python}"] * bool(python)
    lines += [f"Provides-Extra: {e}" for e in extras]
    lines += [f"Requires-Dist: {r}" for r in requires]
    return "\n".join(lines) + "\n"


def context(
    *,
    driver: str | None = None,
    python: str = "3.11",
    platform: str = "manylinux_2_28_x86_64",
    gpu: bool = True,
    pre: bool = False,
    **frameworks: str,
) -> Context:
    """The context of a solve of ``tf=``/``torch=``/``jax=``/``spacy=`` with the real recipes,
    on a machine with ``driver`` as ``--driver`` gives it (its max CUDA from the driver table;
    None: no driver at all)."""
    knowledge = load()
    request = Request.from_args(
        tf=frameworks.get("tf"),
        torch=frameworks.get("torch"),
        jax=frameworks.get("jax"),
        spacy=frameworks.get("spacy"),
        python=python,
        platform=platform,
        gpu=gpu,
        pre=pre,
    )
    version = DriverVersion.parse(driver) if driver is not None else None
    machine = Machine(
        driver_version=version,
        max_cuda=knowledge.max_cuda_for_driver(version) if version is not None else None,
        source="override" if version is not None else "none",
    )
    return Context.of(request, machine, knowledge)


def link_for(name: str, version: str | Version, *, yanked: bool = False) -> FileLink:
    """A wheel of ``name`` ``version`` for any target, as an index would list it."""
    stem = canonicalize_name(name).replace("-", "_")
    filename = f"{stem}-{version}-py3-none-any.whl"
    return FileLink(
        filename=filename,
        url=f"https://fake.invalid/{filename}",
        sha256="0" * 64,
        yanked="" if yanked else None,
    )


class FakeCatalog:
    """The rules' catalog over an index in memory.

    ``releases``: project -> its versions with a file for the target (``"2.15.1"``, or
    ``("2.15.0", True)`` for a yanked one); ``listed``: project -> every version the index lists
    for any platform (default: those of ``releases``); ``metadata``: ``"name==version"`` ->
    METADATA text (default: only its name and version); ``refused``: ``(name, version)`` -> a
    reason, over the recipes' own answer for ``context``. A project none of the tables names
    is not on the index: asking for it raises :class:`ProjectNotFound`, as the factory does.
    """

    def __init__(
        self,
        releases: Mapping[str, Sequence[str | tuple[str, bool]]] | None = None,
        *,
        listed: Mapping[str, Sequence[str]] | None = None,
        metadata: Mapping[str, str] | None = None,
        refused: Mapping[tuple[str, str], str] | None = None,
        context: Context | None = None,
    ):
        self._files: dict[str, list[FileLink]] = {}
        for name, versions in (releases or {}).items():
            pairs = [(v, False) if isinstance(v, str) else v for v in versions]
            links = [link_for(name, v, yanked=y) for v, y in pairs]
            self._files[canonicalize_name(name)] = sorted(links, key=_version, reverse=True)
        self._listed = {
            canonicalize_name(k): [Version(v) for v in vs] for k, vs in (listed or {}).items()
        }
        self._metadata = dict(metadata or {})
        self._refused = {
            (canonicalize_name(n), Version(v)): r for (n, v), r in (refused or {}).items()
        }
        self.context = context
        self.prefetched: list[str] = []
        self.warmed: list[Requirement] = []

    # -- Pages ---------------------------------------------------------------------------------
    def project(self, name: str) -> tuple[FileLink, ...]:
        """The project's files; a project the tables do not name is not on the index."""
        found = self._files.get(canonicalize_name(name))
        if found is None:
            if canonicalize_name(name) in self._listed:
                return ()  # listed, with no file for the target
            raise ProjectNotFound(f"no such project on the fake index: {name}")
        return tuple(found)

    def metadata(self, link: FileLink) -> CoreMetadata:
        key = f"{link.name}=={link.version}"
        text = self._metadata.get(
            key, f"Metadata-Version: 2.1\nName: {link.name}\nVersion: {link.version}\n"
        )
        return CoreMetadata.from_bytes(text)

    # -- Catalog -------------------------------------------------------------------------------
    def versions(self, name: str) -> tuple[Version, ...]:
        found = self._listed.get(canonicalize_name(name))
        if found is None:
            found = [_version(lk) for lk in self.project(name)]
        return tuple(sorted(found, reverse=True))

    def releases(self, name: NormalizedName) -> tuple[Release, ...]:
        return tuple(
            Release(version=_version(lk), yanked=lk.yanked is not None, link=lk)
            for lk in self.project(name)
        )

    def refused(self, name: NormalizedName, version: Version) -> str | None:
        given = self._refused.get((canonicalize_name(name), version))
        if given is not None or self.context is None:
            return given
        ctx = self.context
        return recipes.refused(
            ctx.knowledge, ctx.request, canonicalize_name(name), version, ctx.cuda_major
        )

    def newest(
        self, req: SpecifierRequirement, limits: Mapping[NormalizedName, SpecifierSet]
    ) -> FileLink | None:
        pre = bool(req.specifier.prereleases) or (
            self.context is not None and self.context.request.pre
        )
        limit = limits.get(req.name)
        for rel in self.releases(req.name):
            v = rel.version
            if (
                rel.yanked
                or (v.is_prerelease and not pre)
                or not req.specifier.contains(v, prereleases=True)
            ):
                continue
            if (limit is None or limit.contains(v, prereleases=True)) and not self.refused(
                req.name, v
            ):
                return rel.link
        return None

    def prefetch(self, names: Iterable[str]) -> None:
        self.prefetched += list(names)

    def warm(self, reqs: Iterable[Requirement]) -> None:
        self.warmed += list(reqs)


def candidate(name: str, version: str) -> WheelCandidate:
    """A release as the resolver holds it (a parent in resolvelib's causes); it has no
    dependencies."""
    link = link_for(name, version)
    return WheelCandidate(
        name=canonicalize_name(name),
        version=Version(version),
        filename=link.filename,
        link=link,
        factory=_NO_DEPENDENCIES,
    )


class _NoDependencies:
    def dependencies(self, cand: WheelCandidate) -> tuple[Requirement, ...]:
        return ()

    def extra_dependencies(
        self, base: WheelCandidate, extras: frozenset[NormalizedName]
    ) -> tuple[Requirement, ...]:
        return ()


_NO_DEPENDENCIES = _NoDependencies()


def _version(link: FileLink) -> Version:
    assert link.version is not None
    return link.version
