"""Is a lock closed? Every locked package's requirements must be met by the lock itself.

A lock cut short (a truncated download, a bad merge, a hand edit) is still valid TOML and a valid
PEP 751 document, and installers take it as it is (``--no-deps``): a package whose requirement
was cut off breaks only when it is imported. So a lock is valid only if it is closed, and there
are two ways to know a package's requirements, the cheap one first:

- PEP 751 ``dependencies``: cudaenv writes, for every package, the lock entries it needs (the
  solver's edges for the target, extras in use included), so :func:`check_references` knows
  offline, from the file alone, when the lock is read. Recording the edges costs a few bytes per
  package and makes the check free; reading them needs no index, so it holds offline too.
- A lock from another tool may record no edges. Then :func:`check_requirements` reads each such
  package's METADATA from the index (cache, PEP 658, range read) and evaluates its Requires-Dist
  for the lock's target: the platform, the Python (the full version of the interpreter that will
  run it, where that is this one), and the extras other locked packages ask for. What the user
  asked for at the top (the lock's roots, with their extras) is not recorded in PEP 751, so a
  third-party lock is checked from its packages down.
"""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from cudaenv.errors import LockError

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from packaging.pylock import Package, Pylock
    from packaging.requirements import Requirement
    from packaging.utils import NormalizedName

    from cudaenv.index import CoreMetadata, FileLink, Index
    from cudaenv.resolution import Pin, Resolution

__all__ = ["NotClosedError", "check_references", "check_requirements"]

_SHOWN = 10  # missing requirements listed in the error's context


class NotClosedError(LockError):
    """A locked package needs something the lock does not hold."""

    reference = "lock-not-closed"

    def __init__(self, source: str, missing: list[str]) -> None:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        super().__init__(
            f"{source} is not complete: {missing[0]}{more}",
            context="\n".join(missing[:_SHOWN]) if len(missing) > 1 else None,
            hint="the lock was cut short or edited: restore the whole file, or make a new lock "
            "with `cudaenv lock`",
        )
        self.missing = tuple(missing)


def check_references(pylock: Pylock, source: str, *, beside: Collection[Pin] = ()) -> None:
    """Every PEP 751 ``dependencies`` entry names a package of the lock, or one of ``beside``
    (the packages of the lock a lock of additions was made on top of); else NotClosedError."""
    missing = [
        f"{_label(pkg)} depends on {_ref_text(ref)}, which the lock does not hold"
        for pkg in pylock.packages
        for ref in pkg.dependencies or ()
        if not any(_refers_to(ref, other) for other in pylock.packages)
        and not any(_refers_to(ref, pin) for pin in beside)
    ]
    if missing:
        raise NotClosedError(source, missing)


def _label(pkg: Package) -> str:
    return f"{pkg.name} {pkg.version}" if pkg.version else str(pkg.name)


def _ref_text(ref: Mapping[str, Any]) -> str:
    version = ref.get("version")
    return f"{ref.get('name')} {version}" if version else str(ref.get("name"))


def _refers_to(ref: Mapping[str, Any], pkg: Package | Pin) -> bool:
    """PEP 751's key-by-key match on the keys that identify a package (name, version)."""
    name, version = ref.get("name"), ref.get("version")
    if not isinstance(name, str) or canonicalize_name(name) != pkg.name:
        return False
    if version is None:
        return True
    try:
        return pkg.version == Version(str(version))
    except InvalidVersion:
        return False


def check_requirements(resolution: Resolution, index: Index, *, source: str) -> None:
    """The requirements of every pin without recorded dependencies, from its METADATA, are met
    by the pins; else NotClosedError. Cost: one METADATA per such pin (fetched together)."""
    unknown = [p for p in resolution.pins if p.dependencies is None]
    if not unknown:
        return
    metadata = _metadata(unknown, index)
    missing = _unmet(resolution, metadata)
    if missing:
        raise NotClosedError(source, missing)


def _metadata(pins: list[Pin], index: Index) -> dict[NormalizedName, CoreMetadata]:
    links = {pin.name: _link(pin) for pin in pins}
    index.prefetch_metadata(links.values())
    return {name: index.metadata(link) for name, link in links.items()}


def _link(pin: Pin) -> FileLink:
    """The locked file as the index client reads METADATA: PEP 658's ``URL.metadata`` first,
    else range reads of the wheel itself. Only the lock's URLs are asked, so a lock whose
    files are on another host than the default index needs no page from that index."""
    from cudaenv.index import FileLink

    w = pin.wheel
    return FileLink(
        filename=w.filename, url=w.url, sha256=w.sha256, size=w.size, core_metadata=True
    )


def _unmet(resolution: Resolution, metadata: Mapping[NormalizedName, CoreMetadata]) -> list[str]:
    """What the pins in ``metadata`` require and the lock lacks, extras propagated."""
    target = resolution.target
    here = platform.python_version()  # the venv backend makes the environment with this one
    environment = target.on_interpreter(here).marker_environment()
    pins = {p.name: p for p in resolution.pins}
    extras: dict[NormalizedName, set[str]] = {name: set() for name in metadata}
    todo, missing = list(metadata), dict[str, None]()
    while todo:
        name = todo.pop(0)
        for req, extra in _applying(metadata[name], environment, extras[name]):
            dep = canonicalize_name(req.name)
            have = pins.get(dep)
            if have is None or not req.specifier.contains(have.version, prereleases=True):
                text = _missing(pins[name], req, extra, have)
                missing.setdefault(text, None)
            elif dep in extras and not set(req.extras) <= extras[dep]:
                extras[dep] |= set(req.extras)
                todo.append(dep)
    return list(missing)


def _applying(
    meta: CoreMetadata, environment: Mapping[str, str], extras: set[str]
) -> list[tuple[Requirement, str]]:
    """(requirement, the extra it came with or "") for each Requires-Dist that applies."""
    out = []
    for req in meta.requires_dist:
        for extra in ("", *sorted(extras)):
            if req.marker is None or req.marker.evaluate({**environment, "extra": extra}):
                out.append((req, extra))
                break
    return out


def _missing(pin: Pin, req: Requirement, extra: str, have: Pin | None) -> str:
    wanted = req.name + (f"[{','.join(sorted(req.extras))}]" if req.extras else "")
    wanted += str(req.specifier)
    via = f" (extra {extra})" if extra else ""
    lacks = f"the lock has {have.name} {have.version}" if have else "which the lock lacks"
    return f"{pin.name} {pin.version} requires {wanted}{via}, {lacks}"
