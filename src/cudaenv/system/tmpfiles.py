"""Temporary files being written are removed on every exit, even when a thread is writing one.

Files are written under a temporary name beside their target and renamed over it, so that no
reader sees half of one. A run stopped in between (Ctrl-C, SIGTERM) must not leave the
temporary file behind: the one writing it may be a worker thread that the exit does not wait
for. So each is registered while it exists (:func:`temporary`), and :func:`remove_all`, which
the CLI runs on every exit, removes those still there; with ``close=True`` (the process is
about to end) no new one can be made after it. A temporary folder (:func:`folder`: the wheels
``create`` fetches ahead while it solves) is kept the same way and removed with all it holds.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["folder", "remove_all", "temporary"]

_lock = threading.Lock()
_live: set[Path] = set()
_folders: set[Path] = set()
_closed = threading.Event()  # set once the process is about to end


@contextlib.contextmanager
def temporary(folder: Path, prefix: str) -> Iterator[tuple[int, Path]]:
    """A new file in ``folder`` (its descriptor, open for writing, and path), removed when the
    block ends unless it was renamed away. OSError if it cannot be made, or cudaenv is exiting."""
    with _lock:
        if _closed.is_set():
            raise OSError(errno.ECANCELED, "cudaenv is exiting", str(folder))
        fd, name = tempfile.mkstemp(dir=folder, prefix=prefix)
        path = Path(name)
        _live.add(path)
    try:
        yield fd, path
    finally:
        with _lock:
            _live.discard(path)
            path.unlink(missing_ok=True)  # gone already when it was renamed over its target


@contextlib.contextmanager
def folder(parent: Path, prefix: str) -> Iterator[Path]:
    """A new folder in ``parent``, removed with everything in it when the block ends (or by
    :func:`remove_all`). OSError if it cannot be made, or cudaenv is exiting."""
    with _lock:
        if _closed.is_set():
            raise OSError(errno.ECANCELED, "cudaenv is exiting", str(parent))
        path = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
        _folders.add(path)
    try:
        yield path
    finally:
        with _lock:
            _folders.discard(path)
            shutil.rmtree(path, ignore_errors=True)


def remove_all(*, close: bool = False) -> None:
    """Remove every temporary file still being written and every temporary folder;
    ``close``: and make no new ones."""
    with _lock:
        if close:
            _closed.set()
        for path in _live:
            with contextlib.suppress(OSError):
                os.unlink(path)
        _live.clear()
        for path in _folders:
            shutil.rmtree(path, ignore_errors=True)
        _folders.clear()
