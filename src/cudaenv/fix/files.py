"""Changing an environment's files so that any failure puts every one of them back.

Before the installer runs, every file of each distribution the plan removes or replaces (its
``RECORD``'s rows, the bytecode Python compiled from them, its whole ``.dist-info``) is moved
into ``PREFIX/.cudaenv-fix/aside-PID``: a rename on the same file system, so it costs nothing
and needs no room, and the installer then finds the old release gone and only adds files. A
file another distribution that stays also lists (``nvidia/__init__.py`` of the NVIDIA wheels)
is copied instead, and so is each file fix will write over (activation scripts, the start-up
hook). Every file's size and mtime are noted first.

On a failure, Ctrl-C or SIGTERM, :meth:`Aside.rollback` deletes every file that was not there
before, moves and copies back what was set aside, removes the folders it left empty, and
checks every noted file: the environment is what it was, byte for byte, with no index and no
network. On success, :meth:`Aside.commit` drops what was set aside except what ``fix --undo``
cannot get again from an index (the packages no index has, the scripts fix replaced), which
it keeps in ``PREFIX/.cudaenv-fix/undo``.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
from typing import TYPE_CHECKING

from cudaenv.envs.prefix import FIX_STATE

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from cudaenv.fix.installed import Dist

__all__ = ["STATE", "UNDO", "Aside", "record_files"]

STATE = FIX_STATE
UNDO = "undo"


def _rel(prefix: Path, path: str | Path) -> str | None:
    """``path`` relative to ``prefix`` (``/``-separated), None if it lies outside."""
    full = os.path.normpath(os.path.join(prefix, path))
    rel = os.path.relpath(full, prefix)
    return None if rel == ".." or rel.startswith("../") or os.path.isabs(rel) else rel


def record_files(prefix: Path, dist: Dist) -> set[str]:
    """The files of ``dist`` inside ``prefix``: its RECORD's rows, their compiled bytecode,
    and everything in its ``.dist-info``."""
    site = dist.folder.parent
    out: set[str] = set()
    with contextlib.suppress(OSError), open(dist.folder / "RECORD", newline="") as f:
        for row in csv.reader(f):
            if row and (rel := _rel(prefix, site / row[0])) is not None:
                out.add(rel)
    for rel in [r for r in out if r.endswith(".py")]:
        source = prefix / rel
        for pyc in source.parent.glob(f"__pycache__/{source.stem}.*.pyc"):
            out.add(os.path.relpath(pyc, prefix))
    for top, _dirs, names in os.walk(dist.folder):
        out.update(os.path.relpath(os.path.join(top, n), prefix) for n in names)
    return {r for r in out if os.path.lexists(prefix / r)}


def _parents(rel: str) -> list[str]:
    out = []
    while (rel := os.path.dirname(rel)) not in ("", "."):
        out.append(rel)
    return out


def _walk(prefix: Path) -> tuple[dict[str, tuple[int, int]], set[str]]:
    """(every file under ``prefix`` but fix's own folder -> (size, mtime), every folder)."""
    files: dict[str, tuple[int, int]] = {}
    dirs: set[str] = set()
    for top, subdirs, names in os.walk(prefix):
        rel = os.path.relpath(top, prefix)
        if rel == STATE or rel.startswith(STATE + os.sep):
            subdirs[:] = []
            continue
        dirs.add(rel)
        for name in [*names, *(d for d in subdirs if os.path.islink(os.path.join(top, d)))]:
            st = os.lstat(os.path.join(top, name))
            files[os.path.normpath(os.path.join(rel, name))] = (st.st_size, st.st_mtime_ns)
    return files, dirs


class Aside:
    """One transaction over a prefix's files (see the module's docstring)."""

    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix
        self.state = prefix / STATE
        self.folder = self.state / f"aside-{os.getpid()}"
        self.moved: list[str] = []
        self.copied: list[str] = []
        self.files, self.dirs = _walk(prefix)

    def _target(self, rel: str) -> Path:
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def set_aside(self, leaving: Iterable[Dist], staying: Iterable[Dist]) -> None:
        """Move the files of ``leaving`` aside (copy those a ``staying`` one lists too)."""
        leaving = list(leaving)
        shared = set().union(*(record_files(self.prefix, d) for d in staying))
        going = set().union(*(record_files(self.prefix, d) for d in leaving))
        self.copy(sorted(going & shared))
        self.remove(sorted(going - shared))
        sites = {os.path.relpath(d.folder.parent, self.prefix) for d in leaving}
        above = {a for s in sites for a in (s, *_parents(s))}  # site-packages and up: kept
        self._prune({os.path.dirname(r) for r in going - shared}, keep=above)

    def remove(self, rels: Iterable[str]) -> None:
        """Move these files aside (they go; a rollback brings them back)."""
        for rel in rels:
            if rel not in self.moved and os.path.lexists(self.prefix / rel):
                shutil.move(self.prefix / rel, self._target(rel))
                self.moved.append(rel)

    def copy(self, rels: Iterable[str]) -> None:
        """Keep a copy of each of these files that exists (fix writes over them)."""
        for rel in rels:
            if rel not in self.copied and os.path.lexists(self.prefix / rel):
                shutil.copy2(self.prefix / rel, self._target(rel), follow_symlinks=False)
                self.copied.append(rel)

    def _prune(self, folders: Iterable[str], keep: Iterable[str] = ()) -> None:
        """Remove folders (and their parents) that were emptied, but none of ``keep``."""
        kept = set(keep)
        for rel in sorted(folders, key=len, reverse=True):
            path = self.prefix / rel
            while rel not in ("", ".") and rel not in kept:
                try:
                    path.rmdir()
                except OSError:
                    break
                path, rel = path.parent, os.path.dirname(rel)

    def rollback(self, keep: Iterable[str] = ()) -> list[str]:
        """Put every file back as it was; return the files that still differ (none, unless
        something outside fix changed them meanwhile). ``keep``: new files to leave."""
        now, dirs = _walk(self.prefix)
        for rel in set(now) - set(self.files) - set(keep):
            (self.prefix / rel).unlink()
        for rel in self.moved:
            (self.prefix / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.folder / rel, self.prefix / rel)
        for rel in self.copied:
            part = self.prefix / f"{rel}.cudaenv-restore"
            shutil.copy2(self.folder / rel, part, follow_symlinks=False)
            os.replace(part, self.prefix / rel)
        self._prune(dirs - self.dirs, keep=self.dirs)
        shutil.rmtree(self.folder, ignore_errors=True)
        self._drop_state()
        after, _ = _walk(self.prefix)
        return sorted(r for r, seen in self.files.items() if after.get(r) != seen)

    def commit(self, kept: Iterable[str]) -> None:
        """Drop what was set aside but the files ``kept`` (relative paths), which go to
        ``.cudaenv-fix/undo`` for ``fix --undo``."""
        undo = self.state / UNDO
        for rel in kept:
            source = self.folder / rel
            if os.path.lexists(source):
                target = undo / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
        shutil.rmtree(self.folder, ignore_errors=True)
        self._drop_state()

    def _drop_state(self) -> None:
        with contextlib.suppress(OSError):
            self.state.rmdir()  # only when nothing else is kept there
