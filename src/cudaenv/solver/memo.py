"""Solves remembered: the same request over the same pages is a lookup, not a search.

A solve is a pure function of the request, the machine (as the solver sees it), the knowledge
base, cudaenv's own code, and the index: the pages it read and the METADATA of files those
pages name (METADATA is stored by the file's sha256, so it cannot change under a name). So a
finished solve is kept with the digest of every page it read, and a later solve with the same
key answers from it once each of those pages, asked for again exactly as a solve would ask
(fresh from the cache, or revalidated with the index), has the same digest. Any changed page,
any other input, or a damaged entry: the search runs again. Failed solves are never kept.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv import __version__
from cudaenv.errors import IndexError_
from cudaenv.request import FrameworkRequest, Target
from cudaenv.resolution import Pin, Relaxation, Resolution, Stack, WheelFile
from cudaenv.solver.store import Store

if TYPE_CHECKING:
    from packaging.utils import NormalizedName

    from cudaenv.index import Index
    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.request import Request

__all__ = ["keep", "key", "recall"]

FORMAT = 8  # bump when the stored shape changes (5: pins carry their dependencies; 6: relaxed;
# 7: a relaxed pin's why; 8: the stack and relaxed pins in the lock's codec)
_PACKAGE = Path(__file__).resolve().parent.parent


def key(request: Request, machine: Machine, knowledge: Knowledge, index: Index) -> str | None:
    """The name of this solve's inputs apart from the pages; None when it cannot be named
    (a knowledge base built in code has no digest)."""
    if not knowledge.digest:
        return None
    inputs = [
        FORMAT,
        __version__,
        _code_stamp(),
        knowledge.digest,
        index.identity,
        index.platform,
        [[f.name, str(f.specifier), f.text] for f in request.frameworks],
        [str(request.target.python), request.target.platform],
        [request.pre, request.allow_sdist, request.gpu],
        [[str(r) for r in request.packages], [str(r) for r in request.fixed]],
        [_text(machine.driver_version), _text(machine.max_cuda)],
    ]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()[:32]


def recall(index: Index, solve_key: str) -> Resolution | None:
    """The kept resolution if every page it read is unchanged, else None."""
    kept = Store(index).remembered(solve_key)
    if not isinstance(kept, dict) or not isinstance(kept.get("pages"), dict):
        return None
    pages = kept["pages"]
    if not index.offline:  # pages to revalidate are asked for together, not one by one
        index.prefetch(pages)
    try:
        if any(index.page_digest(name) != digest for name, digest in pages.items()):
            return None
    except IndexError_:  # a page it read is gone or unreachable: let the search say what now
        return None
    try:
        return _resolution(kept["resolution"])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None  # damaged, or written by another cudaenv: solve again


def keep(index: Index, solve_key: str, resolution: Resolution) -> None:
    """Remember *resolution* with the pages this index read for it (not when any failed)."""
    pages = index.pages_read()
    if pages:
        Store(index).remember(solve_key, {"pages": pages, "resolution": _dump(resolution)})


def _code_stamp() -> list[list[Any]]:
    """Size and mtime of cudaenv's modules: an edited checkout never reads old answers."""
    stamp = []
    for path in sorted(_PACKAGE.rglob("*.py")):
        st = path.stat()
        stamp.append([str(path.relative_to(_PACKAGE)), st.st_size, st.st_mtime_ns])
    return stamp


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)


def _dump(r: Resolution) -> dict[str, Any]:
    return {
        "pins": [
            {
                "name": p.name,
                "version": str(p.version),
                "wheel": [
                    p.wheel.filename,
                    p.wheel.url,
                    p.wheel.sha256,
                    p.wheel.size,
                    p.wheel.upload_time,
                ],
                "why": list(p.why),
                "group": p.group,
                "index": p.index,
                "dependencies": None if p.dependencies is None else list(p.dependencies),
            }
            for p in r.pins
        ],
        "target": [str(r.target.python), r.target.platform],
        "frameworks": [[f.name, str(f.specifier), f.text] for f in r.frameworks],
        "stack": r.stack.to_table(),
        "index_url": r.index_url,
        "notes": list(r.notes),
        "relaxed": [x.to_dict() for x in r.relaxed],
    }


def _resolution(data: dict[str, Any]) -> Resolution:
    """:func:`_dump`'s value read back; ValueError, TypeError or KeyError when it is not one."""
    python, platform = data["target"]
    return Resolution(
        pins=tuple(_pin(p) for p in data["pins"]),
        target=Target(python=Version(python), platform=str(platform)),
        frameworks=tuple(
            FrameworkRequest(name=canonicalize_name(n), specifier=SpecifierSet(s), text=str(t))
            for n, s, t in data["frameworks"]
        ),
        stack=Stack.from_table(data["stack"]),
        index_url=_text(data["index_url"]),
        notes=tuple(str(n) for n in data["notes"]),
        relaxed=tuple(Relaxation.from_dict(x) for x in data["relaxed"]),
    )


def _pin(data: dict[str, Any]) -> Pin:
    filename, url, sha256, size, upload_time = data["wheel"]
    if not all(isinstance(x, str) for x in (filename, url, sha256)):
        raise ValueError("not a wheel")
    return Pin(
        name=canonicalize_name(data["name"]),
        version=Version(data["version"]),
        wheel=WheelFile(
            filename=filename,
            url=url,
            sha256=sha256,
            size=size if isinstance(size, int) else None,
            upload_time=_text(upload_time),
        ),
        why=tuple(str(w) for w in data["why"]),
        group=str(data["group"]),
        index=_text(data.get("index")),
        dependencies=_names(data["dependencies"]),
    )


def _names(value: object) -> tuple[NormalizedName, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError("not a list of names")
    return tuple(canonicalize_name(str(n)) for n in value)
