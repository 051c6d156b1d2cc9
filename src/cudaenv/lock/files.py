"""Lock files on disk: TOML text out (``tomli_w``), TOML text in (``tomllib``), atomically.

Every failure to read is one :class:`LockError` naming the file: bad TOML with its line, a
structurally invalid lock with packaging's dotted context, or a cudaenv table that does not parse.
Writing goes to a temporary file in the same folder and is renamed over the target, so a reader
never sees half a lock and a failed write leaves the old lock as it was. Missing folders on the
way are made (``-o locks/gpu/pylock.toml``), and removed again if the write fails.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import tomli_w
from packaging.pylock import Pylock, PylockValidationError, is_valid_pylock_path

from cudaenv._toml import tomllib
from cudaenv.errors import LockError
from cudaenv.lock.closure import check_references
from cudaenv.lock.convert import LockInfo, lock_info, to_pylock
from cudaenv.system import oserrors

if TYPE_CHECKING:
    from collections.abc import Collection

    from cudaenv.request import Target
    from cudaenv.resolution import Pin, Resolution

__all__ = ["dumps", "is_valid_lock_name", "load", "loads", "read", "write", "write_text"]

_REGENERATE = "make a new lock with `cudaenv lock … -o pylock.toml` rather than editing it by hand"


def dumps(resolution: Resolution, *, knowledge_version: str) -> str:
    """The ``pylock.toml`` text of ``resolution``, validated by packaging before it is returned."""
    return tomli_w.dumps(to_pylock(resolution, knowledge_version=knowledge_version).to_dict())


def write(
    resolution: Resolution, path: Path | str, *, knowledge_version: str, flag: str = "-o PATH"
) -> Path:
    """Write the lock of ``resolution`` to ``path`` atomically; returns the path written."""
    return write_text(dumps(resolution, knowledge_version=knowledge_version), path, flag=flag)


def write_text(text: str, path: Path | str, *, flag: str = "-o PATH") -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename,
    making the folders that lead to it. The file system's refusal is a LockError whose hint
    fits it (``flag`` chooses another path); neither the temporary file nor a folder made for
    it stays."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    made: list[Path] = []
    try:
        _make_folders(path.parent, made)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # honours the umask
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _undo(tmp, made)
        raise oserrors.explain(e, path, doing="write", flag=flag, cls=LockError) from e
    except BaseException:
        _undo(tmp, made)
        raise
    return path


def _make_folders(folder: Path, made: list[Path]) -> None:
    """Make ``folder`` and its missing parents, each put first in ``made`` once made."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for each in reversed(missing):
        each.mkdir()
        made.insert(0, each)


def _undo(tmp: Path, made: list[Path]) -> None:
    with contextlib.suppress(OSError):  # absent, or its folder could not be made
        tmp.unlink()
    for folder in made:  # innermost first; only what this write made, and only if empty
        try:
            folder.rmdir()
        except OSError:
            break


def is_valid_lock_name(path: Path | str) -> bool:
    """PEP 751 names: ``pylock.toml`` or ``pylock.NAME.toml`` (installers look for these)."""
    return is_valid_pylock_path(Path(path))


def read(
    path: Path | str, *, target: Target | None = None, beside: Collection[Pin] = ()
) -> Resolution:
    """The Resolution recorded in the lock at ``path``; LockError if it cannot be used.
    ``beside``: the packages a lock of additions (``pylock.added.toml``) was made on top of,
    which its packages' ``dependencies`` may name."""
    return load(path, target=target, beside=beside).resolution


def load(
    path: Path | str, *, target: Target | None = None, beside: Collection[Pin] = ()
) -> LockInfo:
    """The lock at ``path`` with its own facts (recipes version, what a foreign lock lacks)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise LockError(f"no lock file at {path}", hint="make one with `cudaenv lock`") from e
    except OSError as e:
        raise oserrors.explain(e, path, doing="read", cls=LockError) from e
    except UnicodeDecodeError as e:
        raise LockError(f"cannot read {path}: {e}", hint=_REGENERATE) from e
    return loads(text, source=str(path), target=target, beside=beside)


def loads(
    text: str,
    *,
    source: str = "<lock>",
    target: Target | None = None,
    beside: Collection[Pin] = (),
) -> LockInfo:
    """Parse lock text; ``source`` names it in errors; ``beside``: see :func:`read`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise LockError(f"{source} is not valid TOML: {e}", hint=_REGENERATE) from e
    try:
        pylock = Pylock.from_dict(data)
    except PylockValidationError as e:
        raise LockError(
            f"{source} is not a valid PEP 751 lock: {e.message}",
            context=f"at {e.context}" if e.context else None,
            hint=_REGENERATE,
        ) from e
    check_references(pylock, source, beside=beside)  # a lock cut short is not a lock
    try:
        return lock_info(pylock, target=target)
    except LockError as e:
        raise LockError(f"{source}: {e.message}", context=e.context, hint=e.hint) from e
