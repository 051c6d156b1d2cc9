"""Does an environment still match its lock, and can this machine run it? (``cudaenv verify``)

Fleets drift: someone ``pip install``\\ s into a node's environment, a file is edited in place,
a driver is downgraded. :func:`verify` compares an environment with a lock and returns every
:class:`Difference`, never stopping at the first:

- every locked package installed, at its locked version (``missing``, ``version``,
  ``duplicate`` when two metadata folders claim one name);
- nothing installed that the lock lacks (``extra``). Not counted: ``pip``, ``setuptools`` and
  ``wheel`` when the lock does not pin them (the environment tool puts them there: venv's
  ensurepip, conda), and what conda itself installed (``INSTALLER`` is ``conda``); they are
  listed in :attr:`Verdict.ignored`. A pinned one must match like any other;
- every file of a locked package intact where its ``RECORD`` has a hash (``file``; a package
  without a ``RECORD`` is a ``record`` difference, since nothing of it can be checked);
- this machine meets the lock (``machine``): its glibc and architecture, the environment's
  Python, and the driver floor; no NVIDIA driver at all is a ``driver`` difference for a lock
  with a floor.

Packages added on purpose after the lock (``cudaenv kernel --install-ipykernel``) are recorded
in ``PREFIX/pylock.added.toml``, itself a PEP 751 lock: they are checked the same way and
reported as :attr:`Verdict.added`, not as differences.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from cudaenv.envs.prefix import ADDED_LOCK
from cudaenv.events import Count, discard
from cudaenv.verify.installed import Installed, scan
from cudaenv.verify.record import FileProblem, check_record

if TYPE_CHECKING:
    from collections.abc import Collection
    from pathlib import Path

    from cudaenv.envs.base import Env
    from cudaenv.events import Sink
    from cudaenv.machine import Machine, Overrides
    from cudaenv.resolution import Pin, Resolution

__all__ = [
    "ADDED_LOCK",
    "BOOTSTRAP",
    "LOCK_NAME",
    "Difference",
    "Verdict",
    "added_pins",
    "check",
    "verify",
]

LOCK_NAME = "pylock.toml"  # the lock ``create`` writes into every environment
BOOTSTRAP = frozenset({"pip", "setuptools", "wheel"})
_JOBS = 4  # files are hashed by package, this many at once (hashlib releases the GIL)
_CHECKING = "checking installed files"  # what the count of packages checked is of


@dataclass(frozen=True, slots=True, kw_only=True)
class Difference:
    """One way the environment or the machine differs from the lock."""

    kind: str  # missing, version, duplicate, extra, file, record, machine, driver
    package: str | None
    message: str
    hint: str | None = None  # what to do, where remaking the environment would not help

    def to_dict(self) -> dict[str, str | None]:
        return {
            "kind": self.kind,
            "package": self.package,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The comparison: what differs, what was checked, what was added or left aside."""

    differences: tuple[Difference, ...]
    packages: int  # locked (and recorded added) packages checked
    files: int  # files whose hash was checked
    added: tuple[str, ...]  # "name version" of the packages pylock.added.toml records
    ignored: tuple[str, ...]  # "name version" of bootstrap/conda packages not counted as extra
    # Packages with changed files that uv installed: uv hardlinks files from its cache, so a
    # file edited in place is edited in the cache too, and a remake would bring the edit back.
    uv_cached: tuple[str, ...] = ()

    @property
    def matches(self) -> bool:
        return not self.differences


def added_pins(prefix: Path, beside: Collection[Pin] = ()) -> tuple[Pin, ...]:
    """The packages recorded as added after the lock (none when there is no record). They were
    solved on top of the environment's lock, whose packages (``beside``) they may need."""
    from cudaenv import lock

    path = prefix / ADDED_LOCK
    return lock.read(path, beside=beside).pins if path.is_file() else ()


def verify(
    env: Env,
    resolution: Resolution,
    *,
    machine: Machine,
    sink: Sink = discard,
) -> Verdict:
    """Compare ``env`` with ``resolution`` and this ``machine``. ``sink`` follows the file
    checks (a :class:`~cudaenv.events.Count` of packages). Cost: one read of every installed
    file that RECORD hashes."""
    added = added_pins(env.prefix, resolution.pins)
    expected = {p.name: p for p in resolution.pins} | {p.name: p for p in added}
    installed: dict[str, list[Installed]] = {}
    for dist in scan(env.site_packages):
        installed.setdefault(dist.name, []).append(dist)
    diffs = [
        d for name, pin in sorted(expected.items()) for d in _package(pin, installed.get(name))
    ]
    ignored = []
    for name, dists in sorted(installed.items()):
        if name in expected:
            continue
        if name in BOOTSTRAP or all(d.installer == "conda" for d in dists):
            ignored += [f"{d.name} {d.version}" for d in dists]
        else:
            diffs += [_extra(d) for d in dists]
    intact = [dists[0] for n, dists in installed.items() if n in expected and len(dists) == 1]
    files, file_diffs = _files([d for d in intact if _at(d, expected[d.name])], sink)
    edited = {d.package for d in file_diffs}
    return Verdict(
        differences=(*diffs, *file_diffs, *_machine(env, resolution, machine)),
        packages=len(expected),
        files=files,
        added=tuple(f"{p.name} {p.version}" for p in added),
        ignored=tuple(ignored),
        uv_cached=tuple(d.name for d in intact if d.name in edited and d.installer == "uv"),
    )


def check(
    prefix: Path,
    lock_file: Path | None = None,
    *,
    overrides: Overrides | None = None,
    sink: Sink = discard,
) -> Verdict:
    """:func:`verify` of the environment at ``prefix`` against ``lock_file`` (default: the
    lock ``create`` wrote into it) on this machine (detected; ``overrides`` as ``detect``)."""
    from cudaenv import knowledge, lock
    from cudaenv.envs.base import Env
    from cudaenv.machine import Overrides, detect

    env = Env.from_prefix(prefix)
    resolution = lock.read(lock_file if lock_file is not None else env.prefix / LOCK_NAME)
    given = overrides or Overrides.from_env_and_args()
    machine = detect(given, driver_to_cuda=knowledge.load().max_cuda_for_driver)
    return verify(env, resolution, machine=machine, sink=sink)


def _at(dist: Installed, pin: Pin) -> bool:
    try:
        return Version(dist.version) == pin.version
    except InvalidVersion:
        return False


def _package(pin: Pin, dists: list[Installed] | None) -> list[Difference]:
    name = str(pin.name)
    if not dists:
        return [Difference(kind="missing", package=name, message=f"{name} {pin.version}: missing")]
    if len(dists) > 1:
        folders = ", ".join(d.path.name for d in dists)
        message = f"{name}: installed twice ({folders})"
        return [Difference(kind="duplicate", package=name, message=message)]
    if not _at(dists[0], pin):
        message = f"{name}: {dists[0].version} installed, the lock has {pin.version}"
        return [Difference(kind="version", package=name, message=message)]
    return []


def _extra(dist: Installed) -> Difference:
    return Difference(
        kind="extra",
        package=str(dist.name),
        message=f"{dist.name} {dist.version}: installed, not in the lock",
    )


def _files(dists: list[Installed], sink: Sink) -> tuple[int, list[Difference]]:
    """Every RECORD hash of ``dists`` checked, a few packages at a time."""
    checked, diffs = 0, []
    with ThreadPoolExecutor(_JOBS, thread_name_prefix="cudaenv-verify") as pool:
        results = pool.map(_record_of, dists)
        for done, (dist, result) in enumerate(zip(dists, results, strict=True), start=1):
            sink(Count(what=_CHECKING, done=done, total=len(dists), unit="packages"))
            if result is None:
                diffs.append(_difference(dist, "record", "no RECORD, its files cannot be checked"))
                continue
            count, problems = result
            checked += count
            diffs += [_difference(dist, "file", f"{p.path} {p.what}") for p in problems]
    return checked, diffs


def _difference(dist: Installed, kind: str, what: str) -> Difference:
    return Difference(
        kind=kind, package=str(dist.name), message=f"{dist.name} {dist.version}: {what}"
    )


def _record_of(dist: Installed) -> tuple[int, list[FileProblem]] | None:
    return check_record(dist.path) if dist.has_record else None


def _machine(env: Env, resolution: Resolution, machine: Machine) -> list[Difference]:
    """The lock's own check of this machine (glibc, arch, Python, driver floor); no driver at
    all, which an install allows (CPU use), is a difference here: the stack cannot run."""
    from cudaenv import lock

    python = Version(env.site_packages.parent.name.removeprefix("python"))
    try:
        warnings = lock.check_machine(resolution, machine, python=python)
    except lock.LockMismatchError as e:
        return [Difference(kind="machine", package=None, message=e.message, hint=e.hint)]
    if not warnings or resolution.stack.driver_floor is None:
        return []
    floor = resolution.stack.driver_floor
    return [
        Difference(
            kind="driver",
            package=None,
            message=f"no NVIDIA driver detected: the lock's CUDA stack needs driver ≥ {floor}",
            hint="install the NVIDIA driver (`nvidia-smi` must work), or verify on a GPU node",
        )
    ]
