"""Resolution <-> ``packaging.pylock.Pylock``: the PEP 751 shape of a cudaenv lock.

packaging owns the format (key names, validation, the TOML mapping); this module only maps our
values onto its dataclasses, as pip's ``utils/pylock.py`` and pdm's ``formats/pylock.py`` do.
What PEP 751 has no key for (the frameworks asked for, the CUDA stack, the driver floor, the
recipes version, each pin's group and why) goes under ``[tool.cudaenv]`` and
``[packages.tool.cudaenv]``, so that :func:`from_pylock` restores the :class:`Resolution` exactly.
A lock that another tool wrote has no such table: it is still read, with the missing facts named.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

from packaging.markers import Marker
from packaging.pylock import (
    Package,
    PackageWheel,
    Pylock,
    PylockSelectError,
    PylockValidationError,
)
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv import __version__
from cudaenv.errors import LockError
from cudaenv.lock.tool import decode_tool, encode_pin_tool, encode_tool, pin_tool
from cudaenv.lock.urls import without_auth
from cudaenv.request import Target, host_platform
from cudaenv.resolution import Pin, Resolution, WheelFile

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.markers import Environment
    from packaging.utils import NormalizedName

__all__ = ["CREATED_BY", "LOCK_VERSION", "LockInfo", "from_pylock", "lock_info", "to_pylock"]

LOCK_VERSION = Version("1.0")
CREATED_BY = "cudaenv"

# What a lock from another tool cannot tell us (named in LockInfo.missing and in a note).
_FOREIGN_MISSING = (
    "the frameworks asked for",
    "the CUDA and cuDNN of the stack",
    "the driver floor",
    "the recipes version",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LockInfo:
    """A lock as read: the resolution, plus the facts about the lock itself."""

    resolution: Resolution
    created_by: str
    knowledge_version: str | None = None  # the recipes version the lock was made with
    cudaenv_version: str | None = None
    missing: tuple[str, ...] = ()  # facts a foreign lock lacks; empty for cudaenv's own locks


def target_marker(target: Target) -> Marker:
    """The ``environments`` marker of a lock made for ``target``."""
    return Marker(
        f"sys_platform == 'linux' and platform_machine == '{target.arch}'"
        f" and python_version == '{target.python}'"
    )


def to_pylock(resolution: Resolution, *, knowledge_version: str) -> Pylock:
    """Build the validated PEP 751 lock of ``resolution``; LockError if packaging rejects it."""
    pylock = Pylock(
        lock_version=LOCK_VERSION,
        environments=[target_marker(resolution.target)],
        requires_python=SpecifierSet(f"=={resolution.target.python}.*"),
        created_by=CREATED_BY,
        packages=[_package(pin, resolution.index_url) for pin in resolution.pins],
        tool={"cudaenv": encode_tool(resolution, knowledge_version, __version__)},
    )
    try:
        pylock.validate()
    except PylockValidationError as e:
        raise LockError(
            "the resolution cannot be written as a PEP 751 lock",
            context=str(e),
            hint="this is a bug in cudaenv or a malformed index entry; please report it",
        ) from e
    return pylock


def _package(pin: Pin, index_url: str | None) -> Package:
    """One ``[[packages]]`` entry, with the index it came from (none for a find-links file);
    its URLs lose any ``user:password@`` (see ``lock.urls``)."""
    wheel = PackageWheel(
        name=pin.wheel.filename,
        url=without_auth(pin.wheel.url),
        size=pin.wheel.size,
        upload_time=parse_upload_time(pin.wheel.upload_time),
        hashes={"sha256": pin.wheel.sha256},
    )
    needs = pin.dependencies
    return Package(
        name=pin.name,
        version=pin.version,
        dependencies=None if needs is None else [{"name": n} for n in needs],
        index=without_auth(index) if (index := _index(pin, index_url)) else None,
        wheels=[wheel],
        tool={"cudaenv": encode_pin_tool(pin)},
    )


def _index(pin: Pin, index_url: str | None) -> str | None:
    return index_url if pin.index is None else pin.index


def parse_upload_time(text: str | None) -> datetime | None:
    """ISO 8601 ``upload-time`` text (``+00:00`` or PEP 700's ``Z``) to a datetime."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None  # an index's odd timestamp is not worth refusing a lock over


def format_upload_time(value: datetime | None) -> str | None:
    """The form the solver records (``datetime.astimezone(timezone.utc).isoformat()``), so that
    a solved Resolution survives the lock unchanged."""
    if value is None:
        return None
    return (value.astimezone(timezone.utc) if value.tzinfo else value).isoformat()


def from_pylock(pylock: Pylock, *, target: Target | None = None) -> Resolution:
    """The Resolution a lock records (``target`` chooses wheels only in a foreign lock)."""
    return lock_info(pylock, target=target).resolution


def lock_info(pylock: Pylock, *, target: Target | None = None) -> LockInfo:
    """Read a validated Pylock: exactly, if cudaenv wrote it; by PEP 751 selection otherwise."""
    table = (pylock.tool or {}).get("cudaenv")
    if pylock.created_by == CREATED_BY and not (isinstance(table, dict) and table):
        raise LockError(
            "it says it was written by cudaenv, but its [tool.cudaenv] table is missing: "
            "the file was cut short or edited",
            hint="restore the whole file, or make a new lock with `cudaenv lock`",
        )
    if isinstance(table, dict) and table:
        facts = decode_tool(table)
        edges = _records_edges(pylock)
        pins = tuple(_pin(pkg, _only_wheel(pkg), i, edges) for i, pkg in enumerate(pylock.packages))
        return LockInfo(
            resolution=_unindexed(facts.resolution(pins, _index_of(pylock))),
            created_by=pylock.created_by,
            knowledge_version=facts.knowledge_version,
            cudaenv_version=facts.cudaenv_version,
        )
    return _foreign(pylock, target or _running())


def _running() -> Target:
    """The running interpreter as a target: its X.Y, and its full version for markers
    (uv writes ``requires-python = ">=3.11.7"`` and ``python_full_version`` markers)."""
    import sys

    version = ".".join(str(n) for n in sys.version_info[:3])
    return Target.from_strings(None, host_platform()).on_interpreter(version)


def _only_wheel(pkg: Package) -> PackageWheel:
    if len(pkg.wheels or ()) != 1 or pkg.sdist or pkg.is_direct:
        raise LockError(
            f"package {pkg.name} in a cudaenv lock must have exactly one wheel",
            context=f"packages.{pkg.name}",
            hint="a cudaenv lock is made for one target; regenerate it with `cudaenv lock`",
        )
    return (pkg.wheels or ())[0]


def _unindexed(resolution: Resolution) -> Resolution:
    """In a lock that names an index, a package without one came from no index (find-links)."""
    if not resolution.index_url:
        return resolution
    pins = tuple(replace(p, index="") if p.index is None else p for p in resolution.pins)
    return replace(resolution, pins=pins)


def _index_of(pylock: Pylock) -> str | None:
    indexes = {p.index for p in pylock.packages if p.index}
    return indexes.pop() if len(indexes) == 1 else None


def _records_edges(pylock: Pylock) -> bool:
    """Whether the lock records PEP 751 ``dependencies``: then a package without the key has
    none (the spec's own example leaves it out for those), else nothing is known."""
    return any(pkg.dependencies is not None for pkg in pylock.packages)


def _pin(pkg: Package, wheel: PackageWheel, i: int, edges: bool) -> Pin:
    sha256 = (wheel.hashes or {}).get("sha256")
    if not sha256 or not wheel.url:
        raise LockError(
            f"package {pkg.name} has no sha256 hash and URL for its wheel",
            context=f"packages[{i}].wheels",
            hint="cudaenv installs wheels by URL and sha256 only; regenerate the lock",
        )
    group, why = pin_tool(pkg.tool, pkg.name)
    needs = pkg.dependencies if pkg.dependencies is not None or not edges else ()
    return Pin(
        name=pkg.name,
        version=pkg.version or Version("0"),  # packaging checked it against the wheel's name
        wheel=WheelFile(
            filename=wheel.filename,
            url=wheel.url,
            sha256=sha256,
            size=wheel.size,
            upload_time=format_upload_time(wheel.upload_time),
        ),
        why=why,
        group=group,
        index=pkg.index,
        dependencies=None if needs is None else _names(needs, i),
    )


def _names(refs: Sequence[Mapping[str, Any]], i: int) -> tuple[NormalizedName, ...]:
    """The names PEP 751 ``dependencies`` entries refer to (check_references matched them)."""
    names = [ref.get("name") for ref in refs]
    if not all(isinstance(n, str) for n in names):
        raise LockError(
            "a dependencies entry has no name",
            context=f"packages[{i}].dependencies",
            hint="regenerate the lock with `cudaenv lock`",
        )
    return tuple(dict.fromkeys(canonicalize_name(str(n)) for n in names))


def _foreign(pylock: Pylock, target: Target) -> LockInfo:
    try:
        chosen = list(pylock.select(environment=_environment(target), tags=target.supported_tags()))
    except PylockSelectError as e:
        raise LockError(
            f"this lock (by {pylock.created_by}) has nothing for Python {target.python} on "
            f"{target.platform}",
            context=str(e),
            hint="make a lock for this target with `cudaenv lock`",
        ) from e
    not_wheels = [pkg.name for pkg, dist in chosen if not isinstance(dist, PackageWheel)]
    if not_wheels:
        raise LockError(
            f"this lock (by {pylock.created_by}) has no wheel for: {', '.join(not_wheels)}",
            hint="cudaenv installs locked wheels only; make a lock with `cudaenv lock`",
        )
    edges = _records_edges(pylock)
    pins = tuple(_pin(pkg, dist, i, edges) for i, (pkg, dist) in enumerate(chosen))  # type: ignore[arg-type]
    note = (
        f"not written by cudaenv (created-by = {pylock.created_by!r}, no [tool.cudaenv]): "
        f"unknown are {', '.join(_FOREIGN_MISSING)}, so the driver is not checked"
    )
    resolution = Resolution(
        pins=pins, target=target, frameworks=(), index_url=_index_of(pylock), notes=(note,)
    )
    resolution = _unindexed(resolution)
    return LockInfo(resolution=resolution, created_by=pylock.created_by, missing=_FOREIGN_MISSING)


def _environment(target: Target) -> Environment:
    return cast("Environment", target.marker_environment())
