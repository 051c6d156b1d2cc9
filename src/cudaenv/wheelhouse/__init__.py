"""A wheelhouse: every wheel of a lock in one folder, so nodes without network can install it.

``cudaenv download LOCK -d DIR`` is :func:`download`: each wheel fetched in parallel by
:mod:`.fetch` (hash-checked, resumable), telling the caller's sink how far it is (a
:class:`~cudaenv.events.Count` of wheels and bytes).
The lock is copied beside the wheels, so the folder alone is what a node needs.
``cudaenv create --from LOCK --find-links DIR --offline`` calls :func:`local`: every locked
wheel must be in DIR with the lock's sha256 (checked here, before any environment is made),
and the installer is handed those files by path, so no byte comes from the network.
"""

from __future__ import annotations

import shlex
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cudaenv.errors import WheelhouseError
from cudaenv.events import Count, discard
from cudaenv.system import oserrors
from cudaenv.wheelhouse.fetch import Fetched, Stopped, fetch, sha256_of

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from cudaenv.events import Sink
    from cudaenv.net.http import Http
    from cudaenv.resolution import Pin, Resolution

__all__ = [
    "DEFAULT_JOBS",
    "Fetched",
    "Stopped",
    "Wheelhouse",
    "download",
    "download_lock",
    "local",
]

DEFAULT_JOBS = 4  # parallel downloads: enough to fill a link, few enough for a shared mirror
_EVERY = 0.1  # seconds between progress events while bytes arrive


@dataclass(frozen=True, slots=True, kw_only=True)
class Wheelhouse:
    """What :func:`download` did: one :class:`Fetched` per wheel, and its cost."""

    directory: Path
    wheels: tuple[Fetched, ...]
    seconds: float

    @property
    def size(self) -> int:
        return sum(w.size for w in self.wheels)

    @property
    def received(self) -> int:
        return sum(w.received for w in self.wheels)

    def count(self, how: str) -> int:
        return sum(1 for w in self.wheels if w.how == how)


class _Tally:
    """Bytes on disk per wheel, from every worker thread, as throttled counts: wheels finished,
    bytes on disk of all wheels (of a total unless the lock lacks a wheel's size)."""

    def __init__(self, pins: tuple[Pin, ...], sink: Sink) -> None:
        sizes = [p.wheel.size for p in pins]
        self._total = None if any(s is None for s in sizes) else sum(s or 0 for s in sizes)
        self._files = len(pins)
        self._at: dict[str, int] = {}
        self._done = 0
        self._last = 0.0
        self._sink = sink
        self._lock = threading.Lock()

    def at(self, filename: str) -> Callable[[int], None]:
        def update(n: int) -> None:
            with self._lock:
                self._at[filename] = n
                self._emit(force=False)

        return update

    def finished(self) -> None:
        with self._lock:
            self._done += 1
            self._emit(force=True)

    def _emit(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last < _EVERY:
            return
        self._last = now
        done = sum(self._at.values())
        total = None if self._total is None else max(self._total, done)
        self._sink(
            Count(
                what="downloading",
                done=self._done,
                total=self._files,
                unit="wheels",
                size=done,
                size_total=total,
            )
        )


def download(
    resolution: Resolution,
    directory: Path,
    *,
    http: Http,
    lock_file: Path | None = None,
    jobs: int = DEFAULT_JOBS,
    sink: Sink = discard,
) -> Wheelhouse:
    """Fetch every wheel of ``resolution`` into ``directory`` (made if missing), ``jobs`` at a
    time; copy ``lock_file`` beside them. Cost: the bytes of every wheel not already there."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _refused(e, directory) from e
    started = time.monotonic()
    tally = _Tally(resolution.pins, sink)
    stop = threading.Event()

    def one(pin: Pin) -> Fetched:
        fetched = fetch(pin, directory, http, at=tally.at(pin.wheel.filename), stop=stop)
        tally.finished()
        return fetched

    with ThreadPoolExecutor(max(1, jobs), thread_name_prefix="cudaenv-download") as pool:
        futures = [pool.submit(one, pin) for pin in resolution.pins]
        try:
            wheels = tuple(f.result() for f in futures)
        except BaseException as e:  # Ctrl-C or a failed wheel: stop the others, keep their .part
            stop.set()
            for f in futures:
                f.cancel()
            if isinstance(e, OSError) and oserrors.is_refusal(e):  # disk full, read-only, ...
                raise _refused(e, directory) from e
            raise
    if lock_file is not None:
        try:
            _copy_lock(lock_file, directory)
        except OSError as e:
            if not oserrors.is_refusal(e):
                raise
            raise _refused(e, directory) from e
    return Wheelhouse(directory=directory, wheels=wheels, seconds=time.monotonic() - started)


def download_lock(
    lock_file: Path,
    directory: Path,
    *,
    jobs: int = DEFAULT_JOBS,
    sink: Sink = discard,
) -> Wheelhouse:
    """:func:`download` of the lock at ``lock_file`` (read and validated first), through the
    index client's HTTP layer (its retries, its messages)."""
    from cudaenv import lock
    from cudaenv.net.http import Http

    resolution = lock.read(lock_file)
    http = Http(resolution.index_url or _origin(resolution), connections=max(1, jobs))
    try:
        return download(
            resolution,
            directory,
            http=http,
            lock_file=lock_file,
            jobs=jobs,
            sink=sink,
        )
    finally:
        http.close()


def _origin(resolution: Resolution) -> str:
    """Where the wheels come from, for messages, when the lock names no index."""
    urls = [p.wheel.url for p in resolution.pins]
    return urls[0].rsplit("/", 1)[0] if urls else "the index"


def _refused(err: OSError, directory: Path) -> WheelhouseError:
    """The file system refused the wheelhouse folder: its path and a hint for the errno."""
    doing = "download into"
    return oserrors.explain(err, directory, doing=doing, flag="-d DIR", cls=WheelhouseError)


def _copy_lock(lock_file: Path, directory: Path) -> None:
    target = directory / lock_file.name
    if target.exists() and target.samefile(lock_file):
        return
    shutil.copyfile(lock_file, target)


def local(resolution: Resolution, directory: Path, *, lock_file: str = "pylock.toml") -> Resolution:
    """``resolution`` with each wheel's URL the file in ``directory``; WheelhouseError naming
    every wheel that is missing there or has another sha256 than the lock's (``lock_file``
    names the lock in the hint). Cost: one read of every wheel."""
    folder = directory.resolve()
    command = f"cudaenv download {shlex.quote(lock_file)} -d {shlex.quote(str(directory))}"
    if not folder.is_dir():
        raise WheelhouseError(
            f"the wheelhouse {directory} is not a folder",
            hint=f"make it where the index is reachable, `{command}`, and copy it here",
        )
    missing, changed = [], []
    pins = []
    for pin in resolution.pins:
        path = folder / pin.wheel.filename
        if not path.is_file():
            missing.append(pin.wheel.filename)
        elif sha256_of(path).hexdigest() != pin.wheel.sha256:
            changed.append(pin.wheel.filename)
        pins.append(replace(pin, wheel=replace(pin.wheel, url=path.as_uri())))
    if missing or changed:
        raise _incomplete(directory, missing, changed, command)
    return replace(resolution, pins=tuple(pins))


def _incomplete(
    directory: Path, missing: list[str], changed: list[str], command: str
) -> WheelhouseError:
    parts = []
    if changed:
        parts.append(f"{len(changed)} with another sha256 than the lock's: {', '.join(changed)}")
    if missing:
        parts.append(f"{len(missing)} missing: {', '.join(missing)}")
    return WheelhouseError(
        f"the wheelhouse {directory} does not hold the lock's wheels ({'; '.join(parts)})",
        hint=f"fetch them again where the index is reachable, `{command}` (it replaces a wrong "
        "file), and copy the folder here; nothing was installed",
    )
