"""The pages a solve will read, asked for at its start: one round trip instead of one per level.

A cold solve reads the page of every project of the dependency tree, and the resolver reaches
them one level after another (TensorFlow, then Keras and TensorBoard, then what those need):
each level waits for the one above. ``recipes/prefetch.toml`` lists the projects a solve of
each framework line reads (made by ``benchmarks/prefetch_lists.py`` from solves on PyPI), so
:func:`start` asks the index client for all of them in the background
(:meth:`~cudaenv.index.Index.hint`), right after the frameworks' own pages. A hint is never an
answer: the solve reads what it reads, a page hinted and never read is not one of its pages,
and a stale or missing list only costs time.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from cudaenv._toml import tomllib
from cudaenv.errors import CudaenvError
from cudaenv.knowledge import data_dirs

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.specifiers import SpecifierSet

    from cudaenv.index import Index
    from cudaenv.request import Request

__all__ = ["names", "start"]

_log = logging.getLogger(__name__)
_PATCHES = range(40)  # the releases of a line a specifier is tried on (2.15.0 ... 2.15.39)

Lines = dict[str, dict[Version, dict[str, tuple[str, ...]]]]  # framework -> line -> key -> names


def start(index: Index, request: Request) -> None:
    """Ask for the frameworks' pages, then hint every page the lists say the solve reads."""
    if index.offline:  # answers come from disk: threads would only contend for the GIL
        return
    first = [fw.name for fw in request.frameworks]
    index.prefetch(first + [canonicalize_name(r.name) for r in request.packages], wait=False)
    index.hint(names(request))


def names(request: Request, table: Lines | None = None) -> list[str]:
    """The projects the lists name for the request: for each framework, those of the newest
    line its specifier admits (the line a solve most likely picks), GPU ones on the GPU."""
    lines = _table() if table is None else table
    out: list[str] = []
    for fw in request.frameworks:
        line = _newest_admitted(lines.get(fw.name, {}), fw.specifier)
        if line is not None:
            out += [*line.get("projects", ()), *(line.get("gpu", ()) if request.gpu else ())]
    return out


def _newest_admitted(
    lines: Mapping[Version, Mapping[str, tuple[str, ...]]], spec: SpecifierSet
) -> Mapping[str, tuple[str, ...]] | None:
    for line in sorted(lines, reverse=True):
        major, minor = (*line.release, 0)[:2]
        if any(spec.contains(Version(f"{major}.{minor}.{p}"), prereleases=True) for p in _PATCHES):
            return lines[line]
    return None


@functools.cache
def _table() -> Lines:
    """``recipes/prefetch.toml`` read leniently: whatever cannot be read is left out."""
    try:
        data = tomllib.loads((data_dirs()[0] / "prefetch.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError, CudaenvError) as e:  # a hint is never an error
        _log.debug("no prefetch lists: %s", e)
        return {}
    return {
        canonicalize_name(fw): _lines(lines)
        for fw, lines in data.items()
        if isinstance(lines, dict)
    }


def _lines(lines: dict[str, object]) -> dict[Version, dict[str, tuple[str, ...]]]:
    out: dict[Version, dict[str, tuple[str, ...]]] = {}
    for key, value in lines.items():
        try:
            line = Version(key)
        except InvalidVersion:
            continue
        if isinstance(value, dict):
            out[line] = {
                k: tuple(canonicalize_name(n) for n in v if isinstance(n, str))
                for k, v in value.items()
                if isinstance(v, list)
            }
    return out
