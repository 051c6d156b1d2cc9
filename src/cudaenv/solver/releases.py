"""Releases of a project for one target, and their form in the solver's store of derived values.

The factory picks the best file of each version once per page (:func:`best_files`, by the
target's :class:`FileRank`); a warm
solve reads that answer back (:func:`load`) instead of re-reading pages that list thousands of
files. The store (:mod:`.store`) keys it by the page's digest and by :func:`kind`, which names
every other input (Python, tags in order, sdists allowed), so a stale answer is unreachable.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from cudaenv.index import FileLink

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from packaging.tags import Tag

    from cudaenv.request import Target

__all__ = [
    "FileRank",
    "Release",
    "best_files",
    "dump",
    "kind",
    "load",
    "load_versions",
    "versions_kind",
]

FORMAT = 2  # bump when Release or FileLink.to_json changes shape
_LINK_FIELDS = frozenset(
    "filename url sha256 size requires_python yanked upload_time core_metadata index".split()
)


class Release:
    """One version of a project and the best file of it for the target.

    A release read back from the cache keeps its file as JSON until ``link`` is first asked
    for: a solve looks at a handful of the thousands of releases its pages list.
    """

    __slots__ = ("_link", "_raw", "version", "yanked")

    def __init__(
        self,
        *,
        version: Version,
        yanked: bool,
        link: FileLink | None = None,
        raw: dict[str, Any] | None = None,
    ):
        if link is None and raw is None:
            raise TypeError("a Release needs its link or the link's JSON")
        self.version, self.yanked, self._link, self._raw = version, yanked, link, raw

    @property
    def link(self) -> FileLink:
        if self._link is None:
            assert self._raw is not None
            self._link = FileLink.from_json(self._raw)
        return self._link

    def __repr__(self) -> str:
        return f"Release({self.version}, yanked={self.yanked})"


class FileRank:
    """How well a file serves the target: lower is better, None when it cannot (a wheel by its
    best tag in the target's order, an sdist after every wheel and only when allowed).

    Pages share one ``SpecifierSet`` per Requires-Python text and one tag set per tag text,
    so both answers are memoised by object (a TF solve checks ~50,000 files)."""

    def __init__(self, target: Target, *, allow_sdist: bool):
        self.python = target.python
        self.order = {tag: n for n, tag in enumerate(target.supported_tags())}
        self.allow_sdist = allow_sdist
        self._by_object: dict[int, tuple[object, Any]] = {}

    def kind(self) -> str:
        """The derived-value name of :func:`best_files` by this rank (:func:`kind`)."""
        return kind(self.python, self.order, self.allow_sdist)

    def __call__(self, link: FileLink) -> int | None:
        spec = link.requires_python
        if spec is not None and not self._memo(spec, lambda: spec.contains(self.python, True)):
            return None
        if link.is_wheel:
            tags, order = link.tags, self.order
            best: int | None = self._memo(
                tags, lambda: min((order[t] for t in tags if t in order), default=None)
            )
            return best
        return len(self.order) if self.allow_sdist and link.version else None

    def _memo(self, key: object, compute: Callable[[], Any]) -> Any:
        hit = self._by_object.get(id(key))
        if hit is None:  # the key is kept alive with its answer, so its id stays unique
            hit = self._by_object[id(key)] = (key, compute())
        return hit[1]


def best_files(
    links: Iterable[FileLink], rank: Callable[[FileLink], int | None]
) -> tuple[Release, ...]:
    """Newest first, the best-ranked file of each version (lower rank is better; ``None``:
    the file cannot serve the target); a yanked file only when the version has nothing else."""
    best: dict[Version, tuple[tuple[bool, int], FileLink]] = {}
    for link in links:
        file_rank = rank(link)
        if file_rank is None or link.version is None:
            continue
        key = (link.yanked is not None, file_rank)
        if link.version not in best or key < best[link.version][0]:
            best[link.version] = (key, link)
    ordered = sorted(best.items(), key=lambda kv: kv[0], reverse=True)
    return tuple(Release(version=v, link=lk, yanked=k[0]) for v, (k, lk) in ordered)


def kind(python: Version, tags: Iterable[Tag], allow_sdist: bool) -> str:
    """The derived-value name of :func:`best_files` for this target."""
    inputs = json.dumps([FORMAT, str(python), [str(t) for t in tags], allow_sdist])
    return "releases-" + hashlib.sha256(inputs.encode()).hexdigest()[:24]


def versions_kind(platform: str | None) -> str:
    """The derived-value name of every version a page lists (pages are cut to *platform*)."""
    return f"versions-{FORMAT}-{platform or 'any'}"


def dump(releases: Iterable[Release]) -> list[list[Any]]:
    return [[str(r.version), r.yanked, r.link.to_json()] for r in releases]


def load(value: object) -> tuple[Release, ...] | None:
    """:func:`dump`'s value read back, or None when it is not one (a damaged file, another
    cudaenv). What ``FileLink.from_json`` needs is checked here, so the lazy link cannot
    fail later."""
    if not isinstance(value, list):
        return None
    try:
        return tuple(_release(entry) for entry in value)
    except (ValueError, TypeError):
        return None


def load_versions(value: object) -> tuple[Version, ...] | None:
    """A list of version strings read back, or None when it is not one."""
    if not isinstance(value, list):
        return None
    try:
        return tuple(Version(v) for v in value)
    except (ValueError, TypeError):
        return None


def _release(entry: object) -> Release:
    if not (isinstance(entry, list) and len(entry) == 3):
        raise ValueError("not a release")
    version, yanked, raw = entry
    if not (isinstance(raw, dict) and _LINK_FIELDS <= raw.keys()):
        raise ValueError("not a file link")
    if not (isinstance(raw["filename"], str) and isinstance(raw["url"], str)):
        raise ValueError("not a file link")
    return Release(version=Version(version), yanked=bool(yanked), raw=raw)
