"""The temporary folders a stopped uv leaves in its cache, removed after the install.

uv unpacks each wheel it downloads into a temporary folder in its cache (``CACHE/.tmpXXXXXX``)
and renames it into place when the wheel is whole. cudaenv stops its installer on Ctrl-C and
SIGTERM (:mod:`cudaenv.system.process`: SIGTERM to its process group, SIGKILL after a grace), and a
uv stopped so ends before it removes that folder: hundreds of MB for one CUDA wheel, and nothing
ever uses it again. :func:`removed_after` notes the cache's temporary folders before uv runs and
removes those that appeared while it ran, however the install ended, unless another uv is using the
cache then: every uv holds ``CACHE/.lock`` (shared) while it runs, and one of the new folders may be
its work in progress. ``uv cache prune`` removes what is left in that case.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.system import process

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["cache_dir", "removed_after"]

_log = logging.getLogger(__name__)


def cache_dir(uv: Path) -> Path | None:
    """uv's cache folder as uv itself finds it (``UV_CACHE_DIR``, its settings, the default)."""
    try:
        done = process.run([str(uv), "cache", "dir"], text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    found = done.stdout.strip() if done.returncode == 0 else ""
    return Path(found) if found else None


@contextlib.contextmanager
def removed_after(uv: Path) -> Iterator[None]:
    """Remove the temporary folders uv leaves in its cache during the ``with`` body."""
    cache = cache_dir(uv)
    before = _temporaries(cache) if cache is not None else set()
    try:
        yield
    finally:
        if cache is not None:
            _remove_new(cache, before)


def _temporaries(cache: Path) -> set[str]:
    try:
        return {e.name for e in os.scandir(cache) if e.name.startswith(".tmp")}
    except OSError:
        return set()


def _remove_new(cache: Path, before: set[str]) -> None:
    new = _temporaries(cache) - before
    if not new:
        return
    with _alone_in(cache) as alone:
        if not alone:
            _log.debug("uv's cache %s is in use; its temporary folders stay", cache)
            return
        for name in sorted(new):
            path = cache / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()


@contextlib.contextmanager
def _alone_in(cache: Path) -> Iterator[bool]:
    """Whether no uv uses ``cache`` (its ``.lock`` taken exclusively), held for the block."""
    try:
        fd = os.open(cache / ".lock", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        yield False
        return
    try:
        yield True
    finally:
        os.close(fd)
