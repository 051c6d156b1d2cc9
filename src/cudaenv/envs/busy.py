"""One cudaenv at a time on a prefix: an exclusive lock, taken before the prefix is checked and
held until the environment is finished.

Two ``create --force`` on one prefix would each move the other's half-made environment aside
and meet inside the installer (uv's raw "failed to hardlink" error); a ``kernel
--install-ipykernel`` during a ``create --force`` would install into an environment being
replaced. So whatever changes a prefix takes :func:`holding` first, and a second cudaenv is
refused at once: "another cudaenv is working on PREFIX".

The lock is an ``flock`` on a file of its own, outside the prefix: ``--force`` renames the old
prefix aside, which would take a lock file inside it along, and uv takes its own ``flock`` on
``PREFIX/.lock`` while it installs, so cudaenv holding that one would stop its own installer.
The file is ``locks/<sha256 of the prefix's path>`` in cudaenv's cache folder
(``CUDAENV_CACHE_DIR``, else the platform's), the path taken with its nearest existing folder
resolved, so two spellings of one prefix share one lock. The kernel drops the lock when the
process ends, however it ends; the file is removed on release (a cudaenv that took the file just
as it went checks that it still is the one at that path, and takes the new one). Where that
folder cannot be written, cudaenv goes on without the lock, as it did before it had one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.errors import EnvError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["holding", "lock_path"]

_log = logging.getLogger(__name__)


def lock_path(prefix: Path) -> Path:
    """The lock file of ``prefix`` (whether or not the prefix exists)."""
    root = os.environ.get("CUDAENV_CACHE_DIR")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("cudaenv", appauthor=False)
    key = hashlib.sha256(os.fsencode(_canonical(prefix))).hexdigest()
    return Path(root) / "locks" / key


def _canonical(prefix: Path) -> str:
    """``prefix`` absolute, its nearest existing folder resolved (links, ``..``)."""
    path = Path(os.path.abspath(prefix))
    rest: list[str] = []
    while not path.exists() and path != path.parent:
        rest.insert(0, path.name)
        path = path.parent
    return str(path.resolve().joinpath(*rest))


@contextlib.contextmanager
def holding(prefix: Path) -> Iterator[None]:
    """Hold the lock of ``prefix`` for the ``with`` body; EnvError at once if another process
    holds it."""
    path = lock_path(prefix)
    fd = _take(path, prefix)
    try:
        yield
    finally:
        if fd is not None:
            with contextlib.suppress(OSError):
                path.unlink()  # before the lock goes: a newcomer then makes a new file
            os.close(fd)


def _take(path: Path, prefix: Path) -> int | None:
    """The open, locked lock file; None where its folder cannot be written."""
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            _log.debug("no lock on %s: %s", prefix, e)
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                _log.debug("no lock on %s: %s", prefix, e)
                return None
            raise EnvError(
                f"another cudaenv is working on {prefix}",
                hint="wait for it to finish, then run the command again",
            ) from e
        if _still_there(fd, path):
            return fd
        os.close(fd)  # the holder removed it as it finished: take the new one


def _still_there(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
