"""Verified wheels kept by their sha256, so that an install reads them from disk.

``create`` fetches ahead, while it solves, the wheels the recipes are sure of (:mod:`.ahead`);
those the solve then pins are kept here, one folder per sha256 (``CACHE/wheels/<sha256>/<name>``,
beside the index cache), with a stamp of the file as it was when its sha256 was checked (size,
modification time, inode). :meth:`Store.local` gives the installer those files by path for the
pins that name them, each checked first: a file whose stamp no longer matches is read again, and
removed if its sha256 is not the lock's, so only a file that has the lock's sha256 is ever handed
on (and the installer checks it once more: ``--require-hashes``). A wheel's path never changes,
so uv, which keeps what it unpacked of a local wheel under its path, makes a second environment
of the same wheels with hardlinks. Removing the folder costs only downloads.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from dataclasses import replace
from typing import TYPE_CHECKING

from cudaenv.wheelhouse.fetch import sha256_of

if TYPE_CHECKING:
    from pathlib import Path

    from cudaenv.resolution import Resolution, WheelFile

__all__ = ["STAMP", "Store"]

STAMP = ".verified"  # in each wheel's folder: what the file was when its sha256 was checked
_SHA256 = re.compile(r"[0-9a-f]{64}")
_WHEEL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+!-]*\.whl")


def _stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


class Store:
    """The verified wheels under ``root`` (``CACHE/wheels``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def beside(cls, index_cache: Path | None) -> Store:
        """The store beside an index cache folder (``--cache-dir``, else the default one)."""
        from cudaenv.index.cache import default_cache_dir

        return cls((index_cache if index_cache is not None else default_cache_dir()) / "wheels")

    def path(self, wheel: WheelFile) -> Path | None:
        """Where ``wheel`` is kept; None for a name or digest no file may be kept under."""
        if not _SHA256.fullmatch(wheel.sha256) or not _WHEEL_NAME.fullmatch(wheel.filename):
            return None
        return self.root / wheel.sha256 / wheel.filename

    def find(self, wheel: WheelFile) -> Path | None:
        """The kept file of ``wheel`` if it is the file with its sha256 (read again when its
        stamp changed; removed when it is not that file). Cost: a stat, or a read."""
        path = self.path(wheel)
        if path is None or not path.is_file():
            return None
        stamp = path.with_name(STAMP)
        with contextlib.suppress(OSError, ValueError):
            if json.loads(stamp.read_text()) == _stamp(path):
                return path
        if sha256_of(path).hexdigest() == wheel.sha256:
            self._write_stamp(path)
            return path
        shutil.rmtree(path.parent, ignore_errors=True)  # not the wheel: never handed on
        return None

    def keep(self, source: Path, wheel: WheelFile) -> Path | None:
        """Move ``source``, whose sha256 the caller found to be ``wheel``'s, into the store;
        its path there, or None where it cannot be kept (``source`` is left as it was)."""
        path = self.path(wheel)
        if path is None:
            return None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, path)
            self._write_stamp(path)
        except OSError:
            return None  # a read-only or full cache: the installer downloads the wheel itself
        return path

    def local(self, resolution: Resolution) -> tuple[Resolution, int]:
        """``resolution`` with each pin whose wheel is kept here pointing at its file, and how
        many do."""
        pins, found = [], 0
        for pin in resolution.pins:
            path = self.find(pin.wheel)
            if path is not None:
                pin = replace(pin, wheel=replace(pin.wheel, url=path.as_uri()))
                found += 1
            pins.append(pin)
        return replace(resolution, pins=tuple(pins)), found

    @staticmethod
    def _write_stamp(path: Path) -> None:
        from cudaenv.index.cache import write_atomic

        with contextlib.suppress(OSError):
            write_atomic(path.with_name(STAMP), json.dumps(_stamp(path)).encode())
