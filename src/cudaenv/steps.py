"""The steps before an environment exists: detect the machine, solve against the index, check
a lock against the index.

``solve``, ``lock`` and ``create`` run the same detect -> solve; ``detect`` and ``create
--from`` the same detection. The command modules parse options into values
(:class:`~cudaenv.request.Request`, :class:`~cudaenv.machine.Overrides`,
:class:`IndexOptions`) and call these; the knowledge base, the machine and the index client
are made here, below the CLI, and nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from cudaenv.index import Index
    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine, Overrides
    from cudaenv.request import Request
    from cudaenv.resolution import Resolution

__all__ = ["IndexOptions", "LockCheck", "Solved", "check_lock", "detect", "solve"]


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexOptions:
    """Which index, and how to ask it (``--index-url``, ``--cache-dir``, ``--offline``,
    ``--refresh``); ``url`` None: ``PIP_INDEX_URL``, else PyPI."""

    url: str | None = None
    cache_dir: Path | None = None
    offline: bool = False
    refresh: bool = False

    def open(self, platform: str | None = None) -> Index:
        """The index client for a target ``platform`` (close it: ``with options.open():``)."""
        from cudaenv.index import Index

        return Index(
            self.url,
            cache_dir=self.cache_dir,
            offline=self.offline,
            platform=platform,
            revalidate=self.refresh,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Solved:
    """A solve's result with what it was solved for (``solve`` shows all three)."""

    resolution: Resolution
    machine: Machine
    knowledge: Knowledge


@dataclass(frozen=True, slots=True, kw_only=True)
class LockCheck:
    """Whether a lock still holds on the index: ``problems`` make it invalid, ``notes`` do not."""

    problems: tuple[str, ...]
    notes: tuple[str, ...]
    pins: int

    @property
    def valid(self) -> bool:
        return not self.problems


def detect(overrides: Overrides, knowledge: Knowledge | None = None) -> Machine:
    """This machine (or the overrides), its driver mapped to CUDA by the knowledge base."""
    from cudaenv import knowledge as knowledge_base
    from cudaenv.machine import detect as detect_machine

    know = knowledge if knowledge is not None else knowledge_base.load()
    return detect_machine(overrides, driver_to_cuda=know.max_cuda_for_driver)


def solve(request: Request, overrides: Overrides, index: IndexOptions) -> Solved:
    """Detect, then solve ``request`` for this machine on the index. Cost: see
    :func:`cudaenv.solver.solve`."""
    from cudaenv import knowledge as knowledge_base
    from cudaenv.solver import solve as solve_request

    know = knowledge_base.load()
    machine = detect(overrides, know)
    with index.open(request.target.platform) as client:
        resolution = solve_request(request, machine, know, client)
    return Solved(resolution=resolution, machine=machine, knowledge=know)


def check_lock(path: str | Path, index: IndexOptions) -> LockCheck:
    """Every wheel of the lock at ``path`` still on the index with the same sha256, and no
    pinned release since listed as bad. Every page is asked for again: a check must see
    today's index. The index is the lock's own unless ``index.url`` names another."""
    from cudaenv import knowledge as knowledge_base
    from cudaenv import lock

    info = lock.load(path)
    resolution = info.resolution
    know = knowledge_base.load()
    options = replace(index, url=index.url or resolution.index_url, refresh=True)
    with options.open() as client:
        problems = lock.check_index(resolution, client, know)
    notes = list(resolution.notes if info.missing else ())
    if info.knowledge_version and info.knowledge_version != know.version:
        notes.append(f"made with recipes {info.knowledge_version}; these are {know.version}")
    return LockCheck(problems=tuple(problems), notes=tuple(notes), pins=len(resolution.pins))
