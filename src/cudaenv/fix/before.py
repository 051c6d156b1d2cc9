"""The before-lock: what an environment held before ``fix`` changed it, as a PEP 751 lock.

Installers record which index file a package came from only for direct URLs (PEP 610
``direct_url.json``: cudaenv's own installs, ``pip install URL``); for the usual ``pip
install NAME`` nothing says. So each other distribution is looked up on the index: the file of
its name and version whose tags and build are those of its ``WHEEL`` file, and, where the
index gives the sha256 of the file's METADATA (PEP 658), whose METADATA is the very one
installed. That file's URL and sha256 go into ``PREFIX/pylock.before-fix.toml``, so ``fix
--undo`` reinstalls it hash-checked, and ``cudaenv verify --lock`` compares the environment
with it file by file.

What no index has (a local build, an editable install, conda's own packages) cannot be
locked: it is named in the lock's notes. ``fix`` holds such packages where they are; where
its plan would change one, it keeps that package's files for ``--undo`` instead
(:mod:`cudaenv.fix.files`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import parse_wheel_filename

from cudaenv.envs.prefix import BEFORE_FIX
from cudaenv.errors import IndexError_
from cudaenv.resolution import Pin, Resolution, WheelFile

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from cudaenv.fix.installed import Dist
    from cudaenv.index import Index
    from cudaenv.index.links import FileLink
    from cudaenv.knowledge import Knowledge
    from cudaenv.request import Target

__all__ = ["BEFORE_LOCK", "Before", "locate", "write"]

BEFORE_LOCK = BEFORE_FIX
_WHY = ("installed before cudaenv fix",)


@dataclass(frozen=True, slots=True, kw_only=True)
class Before:
    """The environment before the fix: a pin per distribution found on an index (or in its
    ``direct_url.json``), and the distributions found nowhere."""

    pins: tuple[Pin, ...]
    unlocated: tuple[Dist, ...]

    def pin(self, name: str) -> Pin | None:
        return next((p for p in self.pins if p.name == name), None)


def locate(dists: Iterable[Dist], index: Index) -> Before:
    """Find the file each of ``dists`` was installed from. Cost: one index page per
    distribution not installed from a URL (fetched together), no download."""
    dists = list(dists)
    asked = [d for d in dists if d.direct is None and not d.local and d.installer != "conda"]
    index.prefetch([d.name for d in asked], wait=True)
    pins, unlocated = [], []
    for dist in dists:
        pin = _pin(dist, dist.direct, "") if dist.direct else None
        pin = pin or (_on_index(dist, index) if dist in asked else None)
        if pin is None:
            unlocated.append(dist)
        else:
            pins.append(pin)
    return Before(pins=tuple(pins), unlocated=tuple(unlocated))


def _pin(dist: Dist, wheel: WheelFile, index: str | None) -> Pin:
    return Pin(
        name=dist.name,
        version=dist.version,
        wheel=wheel,
        why=_WHY,
        group=_group(dist),
        index=index,
    )


def _group(dist: Dist) -> str:
    from cudaenv.fix.installed import FRAMEWORKS

    if dist.name in FRAMEWORKS:
        return "framework"
    return "cuda" if dist.free else "other"


def _on_index(dist: Dist, index: Index) -> Pin | None:
    """The pin of the index file ``dist`` was installed from, else None."""
    try:
        links = index.project(dist.name)
    except IndexError_:
        return None  # not there (a local package), or the page cannot be read: not lockable
    link = next((x for x in links if _is_it(x, dist)), None)
    if link is None:
        return None
    wheel = WheelFile(
        filename=link.filename,
        url=link.url,
        sha256=str(link.sha256),
        size=link.size,
        upload_time=link.upload_time.isoformat() if link.upload_time else None,
    )
    return _pin(dist, wheel, link.index if link.index is not None else "")


def _is_it(link: FileLink, dist: Dist) -> bool:
    if not link.is_wheel or link.version != dist.version or not link.sha256:
        return False
    _, _, build, tags = parse_wheel_filename(link.filename)
    built = "".join(str(part) for part in build) if build else None
    if tags != dist.tags or built != dist.build:
        return False
    hashed = link.metadata_sha256
    return hashed is None or dist.metadata_sha256 is None or hashed == dist.metadata_sha256


def write(
    before: Before, prefix: Path, target: Target, knowledge: Knowledge, index_url: str | None
) -> Path:
    """Write ``PREFIX/pylock.before-fix.toml`` (atomically) and return its path."""
    from cudaenv import lock

    notes = ["what this environment held before `cudaenv fix` changed it"]
    if before.unlocated:
        found = ", ".join(f"{d.name} {d.version}" for d in before.unlocated)
        notes.append(
            f"not on any index, so not locked here: {found} (where fix changes one, it keeps "
            "its files in .cudaenv-fix for --undo)"
        )
    resolution = Resolution(
        pins=tuple(sorted(before.pins, key=lambda p: p.name)),
        target=target,
        frameworks=(),
        index_url=index_url,
        notes=tuple(notes),
    )
    path = prefix / BEFORE_LOCK
    return lock.write(resolution, path, knowledge_version=knowledge.version, flag="-p PREFIX")
