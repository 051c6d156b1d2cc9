"""The factory: makes and caches candidates and requirements, and looks ahead on the index.

The provider is a thin adapter; everything it needs from the world comes from here. The factory
owns the index client, the solve's :class:`~.rules.context.Context` (request, machine, knowledge,
target, the stack's CUDA major once the plan chose it), the constraints, and it asks the rules
for the recipes' per-release additions and the releases cudaenv refuses
(:mod:`cudaenv.solver.rules.recipes`). It is the only part of the solver that talks to the index
client: the rules ask it through the :class:`~.rules.catalog.Catalog` protocol, which it
implements. It also prefetches: when a candidate's dependencies are
read, the pages of those projects and the METADATA of their likeliest candidate are fetched
concurrently in the background, so the resolver mostly finds them in memory. The provider
cannot see this.

Laziness (pip's ``found_candidates.py`` rule): ``find_candidates`` returns a callable that makes
candidates on demand from an already-fetched page, and METADATA is read only in
``dependencies``.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from cudaenv.errors import ResolutionError
from cudaenv.index import ProjectNotFound
from cudaenv.solver import releases
from cudaenv.solver.candidates import (
    ExtrasCandidate,
    VirtualCandidate,
    WheelCandidate,
    cuda_version,
)
from cudaenv.solver.requirements import (
    CUDA,
    PYTHON,
    SpecifierRequirement,
    VirtualRequirement,
    is_virtual,
)
from cudaenv.solver.rules import optional, recipes, relax
from cudaenv.solver.rules.context import Context
from cudaenv.solver.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from packaging.requirements import Requirement as Pep508
    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from cudaenv.index import CoreMetadata, FileLink, Index
    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.request import Request
    from cudaenv.solver.candidates import Candidate
    from cudaenv.solver.releases import Release
    from cudaenv.solver.requirements import Requirement
    from cudaenv.solver.rules.catalog import Limits
    from cudaenv.solver.rules.optional import Unavailable
    from cudaenv.solver.rules.recipes import Plan

__all__ = ["AHEAD", "Factory"]

AHEAD = 8  # candidates whose METADATA is fetched ahead once the resolver starts rejecting


class Factory:
    """Builds candidates and requirements for one solve; not shared between solves. It is the
    rules' :class:`~cudaenv.solver.rules.catalog.Catalog`."""

    def __init__(
        self,
        request: Request,
        machine: Machine,
        knowledge: Knowledge,
        index: Index,
        *,
        uncurated: Mapping[str, str] | None = None,
    ):
        self.context = Context.of(request, machine, knowledge, uncurated=uncurated)
        self.index = index
        self.store = Store(index)  # what was derived from pages, for the target
        self.python = request.target.python
        self._file_rank = releases.FileRank(request.target, allow_sdist=request.allow_sdist)
        # a client cut to this target's files (else, as for a remedy's other Python: all)
        self._cut = index.tags is not None and index.tags.issuperset(self._file_rank.order)
        self._cut = self._cut and (index.sdists or not request.allow_sdist)
        self._releases_kind = self._file_rank.kind()
        self.constraints: dict[NormalizedName, SpecifierSet] = {}
        self._releases: dict[NormalizedName, tuple[Release, ...]] = {}
        self._made: dict[tuple[NormalizedName, Version], WheelCandidate] = {}
        self._deps: dict[WheelCandidate, tuple[Requirement, ...]] = {}
        self._extra_deps: dict[tuple[WheelCandidate, frozenset[str]], tuple[Requirement, ...]] = {}
        self._warmed: set[Requirement] = set()
        # (name, version) -> the optional parts left out of its extra: (part, missing, left out)
        self.unavailable: dict[tuple[str, Version], tuple[Unavailable, ...]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(8, "cudaenv-lookahead")

    @property
    def request(self) -> Request:
        return self.context.request

    @property
    def machine(self) -> Machine:
        return self.context.machine

    @property
    def knowledge(self) -> Knowledge:
        return self.context.knowledge

    @property
    def cuda_major(self) -> int | None:
        """The stack's CUDA major, once the plan chose it (:meth:`plan`)."""
        return self.context.cuda_major

    def plan(self) -> Plan:
        """The roots and constraints of this solve (:mod:`.rules.recipes`): the lines each
        framework may pick and the stack's CUDA major first, which this factory holds from then
        on (a release of another major is refused), then the roots on that major. The caller
        hands the constraints back (:meth:`restrict`)."""
        choice = recipes.choose(self.context, self)
        self.context = choice.context
        return recipes.plan(choice, self)

    def close(self, *, wait: bool = True) -> None:
        """Stop the lookahead; ``wait`` (the solve succeeded): until no job touches the index.
        A failed or interrupted solve does not wait for pages a server may never send."""
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def restrict(self, constraints: Mapping[NormalizedName, SpecifierSet]) -> None:
        """Narrow projects' candidates to these specifiers too (never adds a project)."""
        for name, spec in constraints.items():
            old = self.constraints.get(name)
            self.constraints[name] = spec if old is None or old == spec else old & spec

    # -- releases on the index -----------------------------------------------------------------
    def versions(self, name: str) -> tuple[Version, ...]:
        """Every version the index lists for ``name``, any platform (for "no such release")."""
        kind = releases.versions_kind(self.index.platform)
        kept = releases.load_versions(self.store.derived(name, kind))
        if kept is not None:
            return kept
        links = self.index.project(name)
        found = sorted({lk.version for lk in links if lk.version is not None}, reverse=True)
        if self.store.keeps(name):
            self.store.put_derived(name, kind, [str(v) for v in found])
        return tuple(found)

    def releases(self, name: NormalizedName) -> tuple[Release, ...]:
        """Versions with a usable file for the target, newest first. Cost: one page (cached);
        on a warm cache, not even that: the answer kept for this page and target is reused."""
        if name not in self._releases:
            found = releases.load(self.store.derived(name, self._releases_kind))
            if found is None:
                links = self.index.usable(name) if self._cut else self.index.project(name)
                found = releases.best_files(links, self._file_rank)
                if self.store.keeps(name):
                    self.store.put_derived(name, self._releases_kind, releases.dump(found))
            self._releases[name] = found
        return self._releases[name]

    def refused(self, name: NormalizedName, version: Version) -> str | None:
        """Why cudaenv never picks this release (recipe ``bad``, exclusions, unknown line,
        another CUDA major than the stack's)."""
        return recipes.refused(self.knowledge, self.request, name, version, self.cuda_major)

    def newest(self, req: SpecifierRequirement, limits: Limits) -> FileLink | None:
        """The file of the first candidate for ``req`` under ``limits`` too (the plan's, not
        yet the factory's). Cost: the project's page."""
        limit = limits.get(req.name)
        narrowed = [] if limit is None else [SpecifierRequirement(name=req.name, specifier=limit)]
        first = next(self.find_candidates(req.identifier, [req, *narrowed], ())(), None)
        if isinstance(first, ExtrasCandidate):
            return first.base.link
        return first.link if isinstance(first, WheelCandidate) else None

    def metadata(self, link: FileLink) -> CoreMetadata:
        """A file's METADATA (disk cache, else PEP 658, else HTTP Range reads)."""
        return self.index.metadata(link)

    def prefetch(self, names: Iterable[str]) -> None:
        """These projects' pages, read together now."""
        self.index.prefetch(list(names))

    def pins_late(self, identifier: str) -> bool:
        """Whether the resolver should pin ``identifier`` after the rest: an NVIDIA wheel whose
        framework pins the rules relax, on the GPU (:mod:`.rules.relax`)."""
        name = identifier.partition("[")[0]
        return self.request.gpu and relax.relaxable(name, self.knowledge)

    # -- candidates ----------------------------------------------------------------------------
    def pickable(self, projects: Iterable[NormalizedName | None]) -> dict[str, list[Version]]:
        """The versions the solve could pick of each project (pages already read): a file for
        the target, not yanked, not refused, within the constraints; for explanations."""
        out: dict[str, list[Version]] = {}
        for name in {p for p in projects if p is not None}:
            with contextlib.suppress(ProjectNotFound):
                found = (c.version for c in self._admitted(name, frozenset(), ()))
                out[str(name)] = [v for v in found if v is not None]
        return out

    def find_candidates(
        self,
        identifier: str,
        requirements: Sequence[Requirement],
        incompatible: Iterable[Candidate],
    ) -> Callable[[], Iterator[Candidate]]:
        """Candidates for ``identifier`` that satisfy every requirement, best first (lazy)."""
        bad = set(incompatible)
        if is_virtual(identifier):
            found = [c for c in [self.virtual(identifier)] if c not in bad]
            return lambda: (c for c in found if all(r.is_satisfied_by(c) for r in requirements))
        first = requirements[0]
        name, extras = first.project, first.extras
        assert name is not None
        return lambda: self._ahead(
            c
            for c in self._admitted(name, extras, requirements)
            if c not in bad and all(r.is_satisfied_by(c) for r in requirements)
        )

    def _ahead(self, cands: Iterator[Candidate]) -> Iterator[Candidate]:
        """Yield ``cands``; once the resolver asks past the first (it rejected it, as when
        every pydantic 2 needs a typing-extensions TF 2.13 forbids), fetch the METADATA of
        the next few in the background, a batch at a time."""
        yield from itertools.islice(cands, 1)
        while batch := list(itertools.islice(cands, AHEAD)):
            if not self.index.offline:
                links = [
                    c.base.link if isinstance(c, ExtrasCandidate) else c.link
                    for c in batch
                    if isinstance(c, (WheelCandidate, ExtrasCandidate))
                ]
                self.index.prefetch_metadata(links, wait=False)
            yield from batch

    def _admitted(
        self, name: NormalizedName, extras: frozenset[NormalizedName], reqs: Sequence[Requirement]
    ) -> Iterator[Candidate]:
        pinned = {v for r in reqs if (v := r.exact) is not None}
        relaxed = {v for r in reqs if (v := r.relaxed) is not None}
        pinned |= relaxed
        pre = self.request.pre or any(r.specifier.prereleases for r in reqs)
        limit = self.constraints.get(name)
        found = self.releases(name)
        for rel in relax.pinned_first(found, relaxed) if relaxed else found:
            v = rel.version
            if v not in pinned and ((v.is_prerelease and not pre) or rel.yanked):
                continue
            if (limit is not None and not limit.contains(v, prereleases=True)) or self.refused(
                name, v
            ):
                continue
            base = self.candidate(name, v, rel.link)
            yield ExtrasCandidate(base=base, extras=extras) if extras else base

    def candidate(self, name: NormalizedName, version: Version, link: FileLink) -> WheelCandidate:
        key = (name, version)
        if key not in self._made:
            self._made[key] = WheelCandidate(
                name=name, version=version, filename=link.filename, link=link, factory=self
            )
        return self._made[key]

    def virtual(self, identifier: str) -> VirtualCandidate:
        if identifier == CUDA:
            return VirtualCandidate(name=CUDA, version=cuda_version(self.machine))
        if identifier == PYTHON:
            return VirtualCandidate(name=PYTHON, version=self.python)
        raise ResolutionError(f"unknown virtual package {identifier!r}")  # a bug in the recipes

    # -- dependencies --------------------------------------------------------------------------
    def dependencies(self, cand: WheelCandidate) -> tuple[Requirement, ...]:
        """Requires-Dist (markers for the target), Requires-Python as ``__python``, and the
        recipe's additions for this release. Cost: its METADATA; starts the lookahead."""
        if cand not in self._deps:
            meta = self.index.metadata(cand.link)
            reqs: list[Requirement] = [
                self._requirement(r, cand) for r in meta.requires_dist if self.applies(r, "")
            ]
            if meta.requires_python is not None:
                python = meta.requires_python
                reqs.append(VirtualRequirement(name=PYTHON, specifier=python, who=str(cand)))
            reqs += recipes.release_requirements(self.knowledge, self.request, cand)
            self._deps[cand] = tuple(reqs)
            self.warm(reqs)
        return self._deps[cand]

    def extra_dependencies(
        self, base: WheelCandidate, extras: frozenset[NormalizedName]
    ) -> list[Requirement]:
        """What ``base[extras]`` adds to ``base``. Cost: base's METADATA (already read)."""
        key = (base, extras)
        if key not in self._extra_deps:
            meta = self.index.metadata(base.link)
            parent = ExtrasCandidate(base=base, extras=extras)
            reqs = [
                self._requirement(r, parent)
                for r in meta.requires_dist
                if not self.applies(r, "") and any(self.applies(r, e) for e in extras)
            ]
            kept, left_out = optional.without_unavailable(self.knowledge, self, reqs)
            if left_out:
                self.unavailable[(base.name, base.version)] = left_out
            self._extra_deps[key] = tuple(kept)
            self.warm(self._extra_deps[key])
        return list(self._extra_deps[key])

    def applies(self, req: Pep508, extra: str) -> bool:
        return self.context.applies(req, extra)

    def _requirement(self, req: Pep508, parent: Candidate) -> SpecifierRequirement:
        """One Requires-Dist line of ``parent``; a framework's exact pin on an NVIDIA wheel is
        relaxed within its major where NVIDIA's rules allow (:mod:`.rules.relax`)."""
        if req.url:
            raise ResolutionError(
                f"{parent} depends on {req.name} at a URL ({req.url})",
                hint="cudaenv resolves from the package index only",
            )
        extras = frozenset(canonicalize_name(e) for e in req.extras)
        made = SpecifierRequirement.from_requirement(req, extras, origin=str(parent))
        if not self.request.gpu:
            return made
        return relax.relax(made, parent.project, self.knowledge)

    # -- lookahead -----------------------------------------------------------------------------
    def warm(self, reqs: Iterable[Requirement]) -> None:
        """Fetch, in the background, the pages and the likeliest candidate's METADATA.

        Off when the index is offline: answers then come from disk, and threads only contend
        for the GIL (measured: warm TF + spaCy solve 0.97 s with, 0.73 s without)."""
        if self.index.offline:
            return
        with self._lock:
            todo = [r for r in reqs if r not in self._warmed and r.project is not None]
            self._warmed.update(todo)
        for req in todo:
            self._pool.submit(self._warm_one, req)

    def _warm_one(self, req: Requirement) -> None:
        """The likeliest candidate's METADATA, then (through ``dependencies``) the next level:
        the lookahead follows the tree the resolver will most likely walk."""
        best = next(self.find_candidates(req.identifier, [req], ())(), None)
        if best is not None and not isinstance(best, VirtualCandidate):
            list(best.iter_dependencies())
