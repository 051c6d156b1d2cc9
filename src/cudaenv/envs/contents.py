"""What a prefix holds, file by file, and what of it the installers' records account for.

``--force`` may delete an environment only while nothing in it is anyone's but cudaenv's or an
installer's, at any depth: a user's ``bin/mytool`` is as much theirs as a ``notes.txt`` beside
``bin/``. Three records say whose a file is, without reading any file's content:

- a package's ``RECORD`` (the wheel spec: one row per installed file, relative to the folder
  that holds the ``.dist-info``, so ``../../../bin/x`` for a script). Every installed package
  counts, the lock's and one a user installed since (``pip install``): an index holds it, ``cudaenv
  verify`` names it, and remaking the environment from its lock is how such drift is undone;
- conda's records (``conda-meta/*.json``, their ``files`` list, relative to the prefix), for
  what the conda backend's tool linked;
- the list cudaenv writes into its marker when it finishes an environment
  (:mod:`cudaenv.envs.prefix`): every file there then that no record above names (the
  interpreter's links, ``pyvenv.cfg``, the activation scripts, the lock).

Compiled bytecode (``__pycache__/NAME.TAG.pyc``) belongs to its source file: Python writes it
at import time. Empty folders hold nothing and are not counted; a mount point inside the prefix
is, since deleting the prefix would reach into it. Links are never followed. Cost: one
``lstat`` per file and one read of each ``RECORD`` and conda record.
"""

from __future__ import annotations

import csv
import json
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable
    from pathlib import Path

__all__ = ["by_conda", "by_packages", "dist_infos", "files", "shown", "unaccounted"]


def files(prefix: Path) -> set[str]:
    """Every file, link and mount point under ``prefix``, as ``/``-separated relative paths;
    a folder that cannot be read is one too (no record lists it, so it is named, not lost)."""
    found: set[str] = set()

    def unreadable(err: OSError) -> None:
        if isinstance(err.filename, str) and err.filename != str(prefix):
            found.add(os.path.relpath(err.filename, prefix).replace(os.sep, "/"))

    for top, dirs, names in os.walk(prefix, onerror=unreadable):
        rel = os.path.relpath(top, prefix)
        for name in list(dirs):
            path = os.path.join(top, name)
            if os.path.islink(path) or os.path.ismount(path):
                dirs.remove(name)  # a leaf: never entered
                names.append(name)
        found.update(_join(rel, name) for name in names)
    return found


def _join(rel: str, name: str) -> str:
    return name if rel == "." else f"{rel}/{name}".replace(os.sep, "/")


def dist_infos(prefix: Path) -> list[Path]:
    """The ``.dist-info`` folders in the prefix's site-packages."""
    return sorted(prefix.glob("lib/python3*/site-packages/*.dist-info"))


def by_packages(prefix: Path, dist_infos: Iterable[Path]) -> set[str]:
    """The files the ``RECORD`` of each of ``dist_infos`` lists, relative to ``prefix``."""
    found: set[str] = set()
    for folder in dist_infos:
        try:
            with open(folder / "RECORD", newline="", encoding="utf-8", errors="replace") as f:
                rows = list(csv.reader(f))
        except OSError:
            continue
        base = folder.parent
        for row in rows:
            if row and row[0]:
                path = os.path.normpath(os.path.join(base, row[0]))
                found.add(os.path.relpath(path, prefix).replace(os.sep, "/"))
    return found


def by_conda(prefix: Path) -> set[str]:
    """Conda's records (``conda-meta/*.json``) and the files they list."""
    found: set[str] = set()
    for meta in sorted(prefix.glob("conda-meta/*.json")):
        found.add(f"conda-meta/{meta.name}")
        try:
            listed = json.loads(meta.read_text(encoding="utf-8")).get("files", [])
        except (OSError, ValueError, AttributeError):
            continue
        found.update(str(p) for p in listed if isinstance(p, str))
    return found


def unaccounted(present: Iterable[str], accounted: Collection[str]) -> list[str]:
    """The paths of ``present`` none of ``accounted`` covers (bytecode goes with its source)."""
    return sorted(p for p in present if p not in accounted and not _bytecode_of(p, accounted))


def _bytecode_of(path: str, accounted: Collection[str]) -> bool:
    folder, _, name = path.rpartition("/")
    parent, _, cache = folder.rpartition("/")
    if cache != "__pycache__" or not name.endswith(".pyc"):
        return False
    source = name.split(".", 1)[0] + ".py"
    return (f"{parent}/{source}" if parent else source) in accounted


def shown(foreign: Collection[str], present: Collection[str]) -> list[str]:
    """``foreign`` paths (of all those ``present``) as a person would name them: a folder that
    holds nothing but foreign files is named once (``src/``), not file by file."""
    kept = set(present) - set(foreign)
    kept_dirs = {p.rsplit("/", i)[0] for p in kept for i in range(1, p.count("/") + 1)}
    out: dict[str, None] = {}
    for path in sorted(foreign):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in kept_dirs:
                out.setdefault(folder + "/", None)
                break
        else:
            out.setdefault(path, None)
    return list(out)
