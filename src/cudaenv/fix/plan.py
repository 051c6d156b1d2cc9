"""The plan: a solve with the environment as the lock, and its difference from what is there.

Every installed package is held at its version (the solve's constraints) except the packages
fix may change (:func:`cudaenv.fix.installed.is_free`: the NVIDIA wheels, CuPy, the CUDA
plugins). The roots are the installed frameworks at their releases, on the GPU path, and the
held packages that require a free one (so their needs count too); the solver is cudaenv's own,
with its recipes, for this machine's driver and the environment's Python on this machine's
platform, wheels only (no sdist is ever built). The plan is the difference between that
resolution and what is installed: a pin not installed is added, one installed at another
version is replaced, and a free package nothing pinned is removed where it is of another CUDA
major than the stack (cu11 beside cu12) or a second CuPy. A free package a held one requires
is never removed, and a plan that would break a held package's requirement is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from cudaenv.errors import FixError, ResolutionError
from cudaenv.events import Step, discard
from cudaenv.fix import frameworks
from cudaenv.fix.installed import FRAMEWORKS, cuda_major, is_free
from cudaenv.verify import BOOTSTRAP

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from cudaenv.envs.base import Env
    from cudaenv.errors import Remedy
    from cudaenv.events import Sink
    from cudaenv.fix.before import Before
    from cudaenv.fix.installed import Dist
    from cudaenv.index import Index
    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.request import Request, Target
    from cudaenv.resolution import Pin, Resolution

__all__ = ["Change", "Plan", "diff", "request", "solve"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One package the plan adds (no ``before``), replaces, or removes (no ``after``)."""

    name: NormalizedName
    before: Version | None
    after: Version | None
    why: str

    @property
    def kind(self) -> str:
        return "add" if self.before is None else "remove" if self.after is None else "replace"

    def to_json(self) -> dict[str, str | None]:
        return {
            "package": self.name,
            "kind": self.kind,
            "from": None if self.before is None else str(self.before),
            "to": None if self.after is None else str(self.after),
            "why": self.why,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What fix would do to one environment, and what it was decided from."""

    env: Env
    target: Target
    dists: tuple[Dist, ...]
    before: Before
    resolution: Resolution | None  # None: no framework installed, nothing was solved
    changes: tuple[Change, ...]
    machine: Machine
    knowledge: Knowledge
    index_url: str | None = None  # the default index the pins came from

    def installs(self) -> tuple[Pin, ...]:
        """The pins to install: what the plan adds or replaces."""
        wanted = {c.name for c in self.changes if c.after is not None}
        pins = self.resolution.pins if self.resolution is not None else ()
        return tuple(p for p in pins if p.name in wanted)

    def leaving(self) -> tuple[Dist, ...]:
        """The installed distributions that go: what the plan removes or replaces."""
        going = {c.name for c in self.changes if c.before is not None}
        return tuple(d for d in self.dists if d.name in going)


def request(
    dists: Iterable[Dist],
    before: Before,
    specs: Mapping[str, SpecifierSet],
    target: Target,
    released: Iterable[str] = (),
) -> Request:
    """The solve's request: the frameworks as ``specs`` say, every other installed package but
    the free and ``released`` ones held at its version, and as roots the held packages on an
    index that require a free package."""
    from cudaenv.request import FrameworkRequest, Request

    free = set(released)
    env = target.marker_environment()
    held = [d for d in dists if not d.free and d.name not in specs and d.name not in free]
    located = {p.name for p in before.pins}
    needing = [
        d
        for d in held
        if d.name in located
        and d.name not in BOOTSTRAP
        and any(is_free(r.name) for r in d.needs(env))
    ]
    return Request(
        frameworks=tuple(
            FrameworkRequest(name=canonicalize_name(n), specifier=specs[n], text=str(specs[n]))
            for n in FRAMEWORKS
            if n in specs
        ),
        target=target,
        gpu=True,
        packages=tuple(Requirement(f"{d.name}=={d.version}") for d in needing),
        fixed=tuple(Requirement(f"{d.name}=={d.version}") for d in held),
    )


def solve(
    req: Request,
    machine: Machine,
    knowledge: Knowledge,
    index: Index,
    env: Env,
    sink: Sink = discard,
) -> Resolution:
    """cudaenv's solver on ``req``; a failure is a FixError (its options are not fix's)."""
    from cudaenv.net.http import redacted
    from cudaenv.pipeline.steps import SolveWatch
    from cudaenv.solver import solve as solve_request

    watch = SolveWatch(index, redacted(index.url))
    sink(Step(text="solving with every installed package held", watch=watch.text))
    try:
        return solve_request(req, machine, knowledge, index, on_event=watch)
    except ResolutionError as err:
        specs = {str(f.name): f.specifier for f in req.frameworks}
        remedy = frameworks.remake(env.prefix, specs, req.target.python)
        raise FixError(
            f"no CUDA stack fits what {env.prefix} holds: {err.message} (fix holds every "
            "installed package at its version: a limit ==VERSION is the one installed); "
            "nothing was changed",
            context=err.context,
            hint=f"a new environment for these frameworks beside it: {remedy.text}",
            remedies=(remedy,),
        ) from None


def diff(
    dists: Iterable[Dist],
    resolution: Resolution,
    environment: Mapping[str, str],
    solved: Iterable[str] = (),
    remedy: Remedy | None = None,
) -> tuple[Change, ...]:
    """The changes that turn ``dists`` into ``resolution`` (see the module's docstring);
    ``solved``: the packages the solve had as roots, whose requirements it met itself (their
    exact NVIDIA pins relaxed where NVIDIA's rules allow); ``remedy``: the way out offered where
    the plan would break a package it keeps."""
    dists = list(dists)
    have = {d.name: d for d in dists}
    changes = [
        Change(
            name=p.name,
            before=have[p.name].version if p.name in have else None,
            after=p.version,
            why=_why(p, resolution, p.name in have),
        )
        for p in resolution.pins
        if p.name not in have or have[p.name].version != p.version
    ]
    pinned = {p.name for p in resolution.pins}
    needed = _needed(dists, environment)
    for dist in dists:
        if dist.free and dist.name not in pinned and dist.name not in needed:
            why = _surplus(dist, resolution)
            if why is not None:
                changes.append(Change(name=dist.name, before=dist.version, after=None, why=why))
    changes.sort(key=lambda c: (c.name not in FRAMEWORKS, c.name))
    roots = set(solved)
    _check_held([d for d in dists if d.name not in roots], changes, environment, remedy)
    return tuple(changes)


def _why(pin: Pin, resolution: Resolution, installed: bool) -> str:
    if pin.name in FRAMEWORKS and installed:
        label = frameworks.LABELS[pin.name]
        return f"the newest {label} line this driver runs ({frameworks.ALLOW})"
    who = [w for w in pin.why if w != "asked for"]
    text = f"needed by {', '.join(who)}" if who else "asked for"
    relaxed = next((r for r in resolution.relaxed if r.package == pin.name), None)
    if relaxed is not None:
        text += f" ({relaxed.by} pins =={relaxed.pinned}; {relaxed.rule} allows {relaxed.chosen})"
    return text


def _surplus(dist: Dist, resolution: Resolution) -> str | None:
    """Why a free package nothing pinned goes, or None where it may stay."""
    cuda = resolution.stack.cuda
    stack = cuda.major if cuda is not None else None
    major = cuda_major(dist.name)
    if stack is not None and major is not None and major != stack:
        return f"built for CUDA {major}; this environment's CUDA stack is CUDA {stack}"
    cupy = next((p.name for p in resolution.pins if p.name.startswith("cupy")), None)
    if dist.name.startswith("cupy") and cupy is not None:
        return f"a second CuPy beside {cupy} (both are the module `cupy`)"
    return None


def _needed(dists: Iterable[Dist], environment: Mapping[str, str]) -> set[NormalizedName]:
    """What the held packages require (a free package they name is never removed)."""
    return {canonicalize_name(r.name) for d in dists if not d.free for r in d.needs(environment)}


def _check_held(
    dists: Iterable[Dist],
    changes: Iterable[Change],
    environment: Mapping[str, str],
    remedy: Remedy | None,
) -> None:
    """Refuse a plan that breaks what a package it does not change requires."""
    after = {c.name: c.after for c in changes}
    broken = []
    for dist in dists:
        if dist.name in after:
            continue
        for req in dist.needs(environment):
            name = canonicalize_name(req.name)
            if name not in after:
                continue
            new = after[name]
            if new is None or not req.specifier.contains(new, prereleases=True):
                broken.append(f"{dist.name} {dist.version} needs {req}")
    if broken:
        raise FixError(
            f"the fix would break what packages it keeps require: {'; '.join(broken)}; "
            "nothing was changed",
            hint=f"a new environment for the frameworks beside it: {remedy.text}"
            if remedy is not None
            else "change those packages first",
            remedies=(remedy,) if remedy is not None else (),
        )
