"""The steps before an environment exists: detect the machine, solve against the index, check
a lock against the index.

``solve``, ``lock`` and ``create`` run the same detect -> solve; ``detect`` and ``create
--from`` the same detection. The command modules parse options into values
(:class:`~cudaenv.request.Request`, :class:`~cudaenv.machine.Overrides`,
:class:`IndexOptions`) and call these; the knowledge base, the machine and the index client
are made here, below the CLI, and nothing here prints: what a step is doing goes to the
caller's sink (:mod:`cudaenv.events`); the solve's step shows, while it runs, what
:class:`SolveWatch` counts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cudaenv.events import SolveEvent, Step, discard

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from packaging.tags import Tag

    from cudaenv.events import Event, Sink
    from cudaenv.index import Index
    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine, Overrides
    from cudaenv.net.auth import Credentials
    from cudaenv.request import Request
    from cudaenv.resolution import Resolution
    from cudaenv.settings import IndexSettings
    from cudaenv.wheelhouse.ahead import Ahead

__all__ = [
    "SLOW_REQUEST",
    "IndexOptions",
    "LockCheck",
    "SolveWatch",
    "Solved",
    "check_lock",
    "detect",
    "solve",
]

SLOW_REQUEST = 1.0  # seconds: a request in flight this long is named on the status line


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexOptions:
    """Which indexes, and how to ask them (``--index-url``, ``--extra-index-url``,
    ``--find-links``, ``--index-strategy``, ``--cache-dir``, ``--offline``, ``--refresh``);
    what the flags leave unset comes from pip's and uv's settings
    (:func:`cudaenv.settings.read`), else PyPI. ``settings`` given: exactly those."""

    url: str | None = None
    extra_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    strategy: str | None = None
    cache_dir: Path | None = None
    offline: bool = False
    refresh: bool = False
    settings: IndexSettings | None = None

    def read_settings(self) -> IndexSettings:
        """The flags over the user's pip and uv settings (files read now)."""
        from cudaenv import settings

        if self.settings is not None:
            return self.settings
        return settings.read(
            index_url=self.url,
            extra_index_urls=self.extra_urls,
            find_links=self.find_links,
            strategy=self.strategy,
        )

    def credentials(self) -> Credentials:
        """The logins for the configured indexes' hosts (URL, netrc, keyring), for the
        installer."""
        from cudaenv.net.auth import Credentials

        found = self.read_settings()
        return Credentials(x.url for x in (*found.indexes, *found.find_links))

    def open(
        self,
        platform: str | None = None,
        tags: Iterable[Tag] | None = None,
        *,
        sdists: bool = True,
    ) -> Index:
        """The index client for a target ``platform``, its wheel ``tags`` and whether it may
        use ``sdists`` (close it: ``with options.open():``)."""
        from cudaenv.index import Index

        return Index(
            settings=self.read_settings(),
            cache_dir=self.cache_dir,
            offline=self.offline,
            platform=platform,
            tags=tags,
            sdists=sdists,
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


def detect(
    overrides: Overrides,
    knowledge: Knowledge | None = None,
    *,
    sink: Sink = discard,
    sources: tuple[str, ...] | None = None,
) -> Machine:
    """This machine (or the overrides), its driver mapped to CUDA by the knowledge base;
    ``sources``: ask only those probes."""
    from cudaenv import knowledge as knowledge_base
    from cudaenv.machine import detect as detect_machine

    sink(Step(text="detecting the NVIDIA driver"))
    know = knowledge if knowledge is not None else knowledge_base.load()
    return detect_machine(overrides, driver_to_cuda=know.max_cuda_for_driver, sources=sources)


def solve(
    request: Request,
    overrides: Overrides,
    index: IndexOptions,
    *,
    sink: Sink = discard,
    ahead: Ahead | None = None,
) -> Solved:
    """Detect, then solve ``request`` for this machine on the index. Cost: see
    :func:`cudaenv.solver.solve`. ``ahead``: started with the solve's index client, to fetch
    the wheels the solve is sure to pin while it runs (:mod:`cudaenv.wheelhouse.ahead`)."""
    from cudaenv import knowledge as knowledge_base
    from cudaenv.net.http import redacted
    from cudaenv.solver import solve as solve_request

    know = knowledge_base.load()
    machine = detect(overrides, know, sink=sink)
    target = request.target
    tags = target.supported_tags()
    with index.open(target.platform, tags, sdists=request.allow_sdist) as client:
        watch = SolveWatch(client, redacted(client.url))
        sink(Step(text="solving", watch=watch.text))
        if ahead is not None:
            ahead.start(client, know, request)
        resolution = solve_request(request, machine, know, client, on_event=watch)
        if ahead is not None:  # on a failure the client closes under it: it stops on its own
            ahead.release_index()
    return Solved(resolution=resolution, machine=machine, knowledge=know)


def check_lock(
    path: str | Path,
    index: IndexOptions,
    *,
    sink: Sink = discard,
    overrides: Overrides | None = None,
    python: str | None = None,
    platform: str | None = None,
) -> LockCheck:
    """The lock at ``path`` is closed (every locked package's requirements in it; else
    NotClosedError), every wheel is still on the index with the same sha256, no pinned release
    has since been listed as bad, and it fits the driver (``overrides``), Python and platform a
    user gave. Every page is asked for again: a check must see today's index. The indexes are
    the lock's own unless ``index.url`` names another."""
    from cudaenv import knowledge as knowledge_base
    from cudaenv import lock
    from cudaenv.net.http import redacted

    info = lock.load(path)
    resolution = info.resolution
    know = knowledge_base.load()
    options = replace(index, settings=_lock_indexes(resolution, index), refresh=True)
    with options.open() as client:
        watch = SolveWatch(client, redacted(client.url))
        sink(Step(text=f"checking {len(resolution.pins)} locked wheels", watch=watch.text))
        problems = lock.check_index(resolution, client, know)
        if not problems:  # the METADATA of files gone from the index cannot tell
            lock.check_requirements(resolution, client, source=str(path))
    problems += _given(resolution, know, overrides, python, platform)
    notes = list(resolution.notes if info.missing else ())
    if info.knowledge_version and info.knowledge_version != know.version:
        notes.append(f"made with recipes {info.knowledge_version}; these are {know.version}")
    return LockCheck(problems=tuple(problems), notes=tuple(notes), pins=len(resolution.pins))


def _lock_indexes(resolution: Resolution, index: IndexOptions) -> IndexSettings | None:
    """The indexes a lock's pins came from (each file is looked for on all of them), with the
    user's find-links locations; None (the user's settings) when ``--index-url`` was given or
    the lock names no index."""
    from cudaenv.net.auth import without_auth
    from cudaenv.settings import BEST_MATCH, IndexSettings, Location

    named = [p.index or resolution.index_url for p in resolution.pins if p.index != ""]
    urls = list(dict.fromkeys(u for u in [resolution.index_url, *named] if u))
    if index.url or not urls:
        return None
    mine = index.read_settings()
    # The lock holds no credentials: the user's own setting for the same index has them.
    configured = {without_auth(x.url): x.url for x in mine.indexes}
    found = [Location(url=configured.get(u, u), origin="the lock", tool="cudaenv") for u in urls]
    return IndexSettings(
        default=found[0],
        extras=tuple(found[1:]),
        find_links=mine.find_links,
        strategy=BEST_MATCH,
        strategy_origin="a lock check looks for each file on every index the lock names",
    )


def _given(
    resolution: Resolution,
    know: Knowledge,
    overrides: Overrides | None,
    python: str | None,
    platform: str | None,
) -> list[str]:
    """``lock --check --driver/--cuda`` (or CONDA_OVERRIDE_CUDA), ``--python``, ``--platform``."""
    from cudaenv import lock
    from cudaenv.request import Target

    given = (overrides.driver, overrides.cuda, overrides.conda_override_cuda) if overrides else ()
    machine = detect(overrides, know) if overrides and any(x is not None for x in given) else None
    target = Target.from_strings(python, platform)  # bad values: UsageError
    return lock.check_given(
        resolution,
        machine=machine,
        python=target.python if python else None,
        platform=target.platform if platform else None,
        knowledge=know,
    )


class SolveWatch:
    """A solve's progress: a sink that counts the solver's events, and the watch of the step
    (:meth:`text`): on each read the index client's pages, METADATA files and the request it
    has waited on longest (first, so that a narrow terminal still shows it)."""

    def __init__(self, index: Index, url: str) -> None:
        self._index = index
        self._url = url
        self.pinned = 0
        self.backtracks = 0
        self.last: str | None = None

    def __call__(self, event: Event, /) -> None:
        if not isinstance(event, SolveEvent):
            return
        if event.kind == "pin":
            self.pinned += 1
            self.last = f"{event.identifier} {event.version}"
        elif event.kind == "backtrack":
            self.backtracks += 1

    def text(self) -> str:
        now = self._index.activity()
        read = f"{_count(now.pages, 'page')}, {now.metadata} METADATA read"
        parts = []
        if now.slowest is not None and now.slowest_seconds >= SLOW_REQUEST:
            parts = [f"waiting {int(now.slowest_seconds)} s for {now.slowest}", read]
        else:
            parts = [f"{read} from {self._url}"]
        if now.waited >= SLOW_REQUEST:
            parts.append(f"{now.waited:.0f} s spent between retries")
        if self.backtracks:
            parts.append(_count(self.backtracks, "backtrack"))
        if self.pinned:
            parts.append(f"{self.pinned} pinned (last: {self.last})")
        return "; ".join(parts)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
