"""Fetch ahead, while the solve runs, the wheels it is sure to pin; hand on those it pins.

uv solves, then downloads; cudaenv knows from its recipes, before its solve ends, most of the
bytes an environment needs (:mod:`.sure`: cuDNN, cuBLAS, NCCL ... about 2 GB of a 2.5 GB
TensorFlow stack). :meth:`Ahead.start` begins fetching those as soon as the solve's index
client exists, largest first, :data:`~cudaenv.wheelhouse.DEFAULT_JOBS` at a time, into a
private temporary folder beside the store (:mod:`.store`), each hash-checked against the
index's sha256 as :mod:`.fetch` does for ``cudaenv download``.

Once the lock is written, :meth:`Ahead.settle` compares: a wheel fetched ahead whose file the
lock pins (same name, same sha256) moves into the store, and the installer reads it from
there; one the lock does not pin is stopped and removed, having cost its bytes; one still
queued is left to the installer. What is still arriving for a pinned wheel is installed in a
second round (:meth:`Ahead.finish`), after the rest, so that the installer unpacks while the
last bytes arrive; a download that stalls for :data:`STALL` seconds is given up and the
installer fetches that wheel itself. The temporary folder goes on every exit, Ctrl-C and
SIGTERM included (:func:`cudaenv.system.tmpfiles.folder`): nothing unconfirmed stays behind.
Where fetching ahead is not :func:`wanted` (too few CPUs), only the store's wheels are handed on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from cudaenv.errors import IndexError_, WheelhouseError
from cudaenv.events import Step, discard, size_text
from cudaenv.resolution import Pin, WheelFile
from cudaenv.system import tmpfiles
from cudaenv.wheelhouse.fetch import Stopped, fetch
from cudaenv.wheelhouse.sure import sure_wheels

if TYPE_CHECKING:
    from pathlib import Path

    from cudaenv.events import Sink
    from cudaenv.index import FileLink, Index
    from cudaenv.knowledge import Knowledge
    from cudaenv.net.http import Http
    from cudaenv.request import Request
    from cudaenv.resolution import Resolution
    from cudaenv.wheelhouse.store import Store

__all__ = ["MIN_CPUS", "STALL", "Ahead", "Settled", "wanted"]

_PREFIX = ".ahead-"  # then the process id: a folder left by a run killed outright goes later
MIN_CPUS = 4  # fetch ahead by default only with a CPU to spare beside the solve and the unpack
STALL = 5.0  # seconds without a byte after which a wheel fetched ahead is left to the installer
_TICK = 0.2
_log = logging.getLogger(__name__)


@dataclass(slots=True, eq=False)
class _Item:
    """One wheel fetched ahead, and where it stands (shared by the worker and the caller)."""

    pin: Pin
    stop: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    received: int = 0
    path: Path | None = None  # the file, its sha256 the index's, once fetched

    def at(self, n: int) -> None:
        self.received = n


@dataclass(frozen=True, slots=True, kw_only=True)
class Settled:
    """What to install now (``now``: local files where the store has them) and the pins whose
    wheels are still arriving (``later``: :meth:`Ahead.finish` them), with how many of the
    lock's wheels the store gave (``kept``)."""

    now: Resolution
    later: Resolution | None
    kept: int


def wanted() -> bool:
    """Whether to fetch ahead: ``CUDAENV_FETCH_AHEAD=1`` or ``0`` says; else where cudaenv may
    use :data:`MIN_CPUS` CPUs or more. Fetching ahead costs CPU the installer then does not
    save (cudaenv hashes each wheel as it arrives, uv hashes it again as it unpacks): on two
    CPUs that already unpack at full load it made ``create`` slower (``benchmarks/run.py``,
    create-cold 1.20x -> 1.25x of uv's time, 35 -> 45 CPU-seconds)."""
    said = os.environ.get("CUDAENV_FETCH_AHEAD", "").strip()
    if said in ("0", "1"):
        return said == "1"
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return cpus >= MIN_CPUS


def _remove_stale(root: Path) -> None:
    """Remove the temporary folders of runs no longer running (killed with SIGKILL, or the
    machine went down): ``.ahead-PID-*`` whose process is gone."""
    for folder in root.glob(f"{_PREFIX}*-*"):
        pid = folder.name[len(_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _pin_of(link: FileLink) -> Pin:
    assert link.name is not None and link.version is not None and link.sha256 is not None
    wheel = WheelFile(filename=link.filename, url=link.url, sha256=link.sha256, size=link.size)
    return Pin(name=link.name, version=link.version, wheel=wheel)


def _same(a: WheelFile, b: WheelFile) -> bool:
    return a.sha256 == b.sha256 and a.filename == b.filename


class Ahead:
    """The wheels fetched ahead for one ``create`` (a context manager: leaving it stops every
    download and removes what was not kept). Without :meth:`start` (an offline run, a lock
    installed as it is) it only hands on what the store already has."""

    def __init__(self, store: Store, *, jobs: int = 4) -> None:
        self.store = store
        self.jobs = max(1, jobs)
        self._cond = threading.Condition()
        self._items: list[_Item] = []
        self._queue: list[_Item] = []
        self._planning = False
        self._settled = False
        self._closed = False
        self.fetched_bytes = 0  # of the wheels the lock pins, bytes fetched ahead in this run
        self._planner: threading.Thread | None = None
        self._folder: Path | None = None
        self._stack = contextlib.ExitStack()
        self._http: Http | None = None

    def __enter__(self) -> Ahead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- fetching ------------------------------------------------------------------------------
    def start(self, client: Index, knowledge: Knowledge, request: Request) -> None:
        """Begin fetching what the solve of ``request`` is sure to pin (pages and METADATA
        through ``client``, which must stay open until :meth:`release_index`)."""
        from cudaenv.net.http import Http

        if client.offline or self._closed or self._planner is not None or not wanted():
            return
        try:
            self.store.root.mkdir(parents=True, exist_ok=True)
            _remove_stale(self.store.root)
            prefix = f"{_PREFIX}{os.getpid()}-"
            self._folder = self._stack.enter_context(tmpfiles.folder(self.store.root, prefix))
        except OSError as e:  # a read-only or full cache: install as before
            _log.debug("no fetching ahead: %s", e)
            return
        self._http = Http(client.url, connections=self.jobs, credentials=client.credentials)
        self._stack.callback(self._close_http)
        self._planning = True
        self._planner = threading.Thread(
            target=self._plan, args=(client, knowledge, request), name="cudaenv-ahead", daemon=True
        )
        self._planner.start()
        for n in range(self.jobs):
            threading.Thread(target=self._work, name=f"cudaenv-ahead-{n}", daemon=True).start()

    def release_index(self) -> None:
        """Wait until the planner no longer uses the index client (it reads what the solve
        read: pages and METADATA the client has)."""
        if self._planner is not None:
            self._planner.join()

    def _plan(self, client: Index, knowledge: Knowledge, request: Request) -> None:
        try:
            for link in sure_wheels(request, knowledge, client):
                pin = _pin_of(link)
                if self._closed:
                    break
                if self.store.find(pin.wheel) is None and not self._known(pin):
                    self._add(_Item(pin))
        except (IndexError_, OSError) as e:  # the client closed under it: the solve failed
            _log.debug("fetching ahead stopped planning: %s", e)
        finally:
            with self._cond:
                self._planning = False
                self._cond.notify_all()

    def _known(self, pin: Pin) -> bool:
        with self._cond:
            return any(_same(x.pin.wheel, pin.wheel) for x in self._items)

    def _add(self, item: _Item) -> None:
        with self._cond:
            if self._settled:
                return
            self._items.append(item)
            self._queue.append(item)
            self._cond.notify()

    def _next(self) -> _Item | None:
        """The largest wheel queued, once there is one; None when there will be none."""
        with self._cond:
            while not self._queue and self._planning and not self._closed:
                self._cond.wait()
            if self._closed or not self._queue:
                return None
            item = max(self._queue, key=lambda x: x.pin.wheel.size or 0)
            self._queue.remove(item)
            item.started = True
            return item

    def _work(self) -> None:
        while (item := self._next()) is not None:
            try:
                self._fetch(item)
            finally:
                item.done.set()

    def _fetch(self, item: _Item) -> None:
        assert self._folder is not None and self._http is not None
        folder = self._folder / item.pin.wheel.sha256
        try:
            folder.mkdir()  # not parents: once the temporary folder is gone nothing is made
            fetch(item.pin, folder, self._http, at=item.at, stop=item.stop)
        except (Stopped, WheelhouseError, IndexError_, OSError) as e:
            _log.debug("fetching %s ahead failed: %s", item.pin.wheel.filename, e)
            shutil.rmtree(folder, ignore_errors=True)
            return
        item.path = folder / item.pin.wheel.filename

    # -- handing on ----------------------------------------------------------------------------
    def settle(self, resolution: Resolution) -> Settled:
        """Compare what was fetched ahead with the lock's pins (see the module's docstring)."""
        with self._cond:
            self._settled, self._planning = True, False
            self._queue.clear()  # not started: the installer fetches those
            self._cond.notify_all()
            items = list(self._items)
        later: list[Pin] = []
        for item in items:
            pin = next((p for p in resolution.pins if _same(p.wheel, item.pin.wheel)), None)
            if pin is None or not item.started:
                self._drop(item)
            elif item.done.is_set():
                self._keep(item)
            else:
                later.append(pin)
        rest = tuple(p for p in resolution.pins if not any(_same(p.wheel, x.wheel) for x in later))
        now, kept = self.store.local(replace(resolution, pins=rest))
        if not later:
            self._close_http()
        waiting = replace(resolution, pins=tuple(later)) if later else None
        return Settled(now=now, later=waiting, kept=kept)

    def finish(self, later: Resolution, sink: Sink = discard) -> tuple[Resolution, int]:
        """The pins of ``later``, whose wheels were still arriving, each a local file once it
        has arrived (by its URL, for the installer to fetch, where it failed or stalled); and
        how many are local."""
        items = [x for x in self._items if any(_same(p.wheel, x.pin.wheel) for p in later.pins)]
        total = sum(x.pin.wheel.size or 0 for x in items)

        def text() -> str:
            return f"{size_text(sum(x.received for x in items))} of {size_text(total)}"

        sink(Step(text=f"fetching {len(items)} wheels ahead of the install", watch=text))
        self._wait(items)
        self._close_http()  # its connections' buffers are not held while the installer runs
        for item in items:
            self._keep(item)
        return self.store.local(later)

    def _close_http(self) -> None:
        if self._http is not None:
            self._http.close()

    def _wait(self, items: list[_Item]) -> None:
        """Until every item is done or has received nothing for :data:`STALL` seconds."""
        last = {id(x): (x.received, time.monotonic()) for x in items}
        while not all(x.done.is_set() for x in items):
            time.sleep(_TICK)
            now = time.monotonic()
            for item in items:
                seen, since = last[id(item)]
                if item.received != seen:
                    last[id(item)] = (item.received, now)
                elif not item.done.is_set() and now - since > STALL:
                    item.stop.set()
                    item.done.set()  # left to the installer; its thread ends on its own

    def _keep(self, item: _Item) -> None:
        """Move a wheel the lock pins into the store, if it arrived whole and right."""
        if item.path is not None and not item.stop.is_set():
            if self.store.keep(item.path, item.pin.wheel) is not None:
                self.fetched_bytes += item.pin.wheel.size or 0

    def _drop(self, item: _Item) -> None:
        """Stop ``item`` and remove what it fetched."""
        item.stop.set()
        if self._folder is not None:
            shutil.rmtree(self._folder / item.pin.wheel.sha256, ignore_errors=True)

    def close(self) -> None:
        """Stop every download; remove the temporary folder with what was not kept."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()
            items = list(self._items)
        for item in items:
            item.stop.set()
        self._stack.close()
