"""Values loaded once though many threads ask, and a thread pool that loads them ahead.

The index client's API is synchronous, but the solver asks for pages and METADATA from several
threads (its lookahead) and prefetches in batches. Each value is loaded by the first thread that
asks; the others wait for that load. A failure is kept and raised to every later asker, so a
missing project is asked for once, and a prefetch that failed says why when the value is needed.
A load whose failure is not kept (a hint's) still fails the askers that were waiting for it: a
broken index is not asked the same question again at once.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, TypeVar

from cudaenv.errors import IndexError_

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterable

__all__ = ["Once"]

_log = logging.getLogger(__name__)
K = TypeVar("K")
V = TypeVar("V")


class Once:
    """Loads into dicts the caller owns (one per kind of value), at most once per slot."""

    def __init__(self, workers: int, name: str):
        self.workers = max(1, workers)
        self.name = name
        self._errors: dict[tuple[int, Hashable], IndexError_] = {}
        self._recent: dict[tuple[int, Hashable], IndexError_] = {}  # for those who waited
        self._locks: defaultdict[tuple[int, Hashable], threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[None]] = []

    def get(
        self, store: dict[K, V], slot: K, load: Callable[[], V], *, keep_failure: bool = True
    ) -> V:
        """``store[slot]``, loaded once; an IndexError_ of the load is kept and raised again
        (``keep_failure=False``: raised to those waiting for this load, not kept: the next
        asker loads again)."""
        if slot in store:
            return store[slot]
        key = (id(store), slot)
        with self._guard:
            lock = self._locks[key]
        waited = lock.locked()
        with lock:
            if slot in store:
                return store[slot]
            if key in self._errors:
                raise self._errors[key]
            if waited and key in self._recent:
                raise self._recent[key]
            self._recent.pop(key, None)
            try:
                store[slot] = load()
            except IndexError_ as e:
                if keep_failure:
                    self._errors[key] = e
                else:
                    self._recent[key] = e
                raise
            return store[slot]

    def failed(self, *stores: dict[Any, Any]) -> bool:
        """Whether any load into these stores failed."""
        ids = {id(s) for s in stores}
        return any(store_id in ids for store_id, _slot in self._errors)

    def spawn(self, jobs: Iterable[Callable[[], object]], *, block: bool) -> None:
        """Run *jobs* on the pool; their IndexError_ are kept by :meth:`get`, not raised here."""
        todo = list(jobs)
        if not todo:
            return
        with self._guard:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, self.name)
            futures = [self._pool.submit(_quietly, job) for job in todo]
            self._futures = [f for f in self._futures if not f.done()] + futures
        if block:
            wait(futures)

    def drain(self) -> None:
        """Wait for every job spawned so far, the ones still queued included (:meth:`close`
        cancels those: a hint nobody waited for is not worth a request)."""
        with self._guard:
            futures = list(self._futures)
        wait(futures)

    def close(self, *, wait: bool = True) -> None:
        """Stop the pool; ``wait=False`` (the caller is failing or interrupted) does not wait
        for loads in progress, which may be held by a server that never answers."""
        with self._guard:
            pool, self._pool = self._pool, None
            self._futures = []
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)


def _quietly(job: Callable[[], object]) -> None:
    try:
        job()
    except IndexError_ as e:  # kept by Once.get and raised to the caller that asks
        _log.debug("prefetch failed: %s", e.message)
