"""A file system that says no, on a path the user gave, is an expected failure and not a bug.

One place turns an ``OSError`` (or a tool's report of one: ``[Errno 28]``, ``(os error 28)``)
and the path it concerns into a :class:`~cudaenv.errors.CudaenvError`: one sentence with the
path, and a hint chosen by the errno (a full disk is not a permissions problem, and neither is
a missing ``python3-venv``), ending with the option that chooses another path. Stages raise it
as their own error class (``EnvError`` for a prefix, ``LockError`` for ``-o``, else
:class:`~cudaenv.errors.FilesystemError`), and the CLI
turns an OSError that escaped them into :class:`~cudaenv.errors.FilesystemError` when its errno
is one of the file system's refusals (:func:`is_refusal`), so none prints a traceback.
"""

from __future__ import annotations

import errno
import logging
import os
import re
from pathlib import Path
from typing import TypeVar

from cudaenv.errors import CudaenvError

__all__ = ["errno_in", "explain", "from_output", "is_refusal", "reported_line"]

_E = TypeVar("_E", bound=CudaenvError)
_log = logging.getLogger(__name__)
_FULL = (errno.ENOSPC, errno.EDQUOT)
_DENIED = (errno.EACCES, errno.EPERM)
# errno values that mean "the file system refused", whatever the code was doing
_REFUSALS = frozenset(
    {*_FULL, *_DENIED, errno.EROFS, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EIO}
)
_REPORTED = re.compile(r"\[Errno (\d+)\]|\(os error (\d+)\)")
_ABSOLUTE = re.compile(r"(?<![\w.~])(/[^\s`'\":]+)")  # a path as tools quote it


def is_refusal(err: OSError) -> bool:
    """Whether ``err`` is the file system refusing (full, read-only, denied, ...)."""
    return err.errno in _REFUSALS


def errno_in(text: str) -> int | None:
    """The first errno a tool's output names (Python's ``[Errno N]``, Rust's ``(os error N)``)
    among the file system's refusals; None if it names none."""
    found = _reported(text)
    return found[0] if found else None


def reported_line(text: str) -> str | None:
    """The line of a tool's output that reports the first refusal (see :func:`errno_in`)."""
    for line in text.splitlines():
        if errno_in(line) is not None:
            return line.strip()
    return None


def _reported(text: str) -> tuple[int, str | None] | None:
    """(errno, the absolute path the report names: the nearest before the errno, as in uv's
    wrapped lines, else the first after it, as in Python's) of the first refusal in ``text``."""
    for match in _REPORTED.finditer(text):
        number = int(match.group(1) or match.group(2))
        if number not in _REFUSALS:
            continue
        paths = [(m.start(), m.group(1)) for m in _ABSOLUTE.finditer(text)]
        before = [p for at, p in paths if at < match.start()]
        after = [p for at, p in paths if at > match.start()]
        return number, (before[-1:] or after[:1] or [None])[0]
    return None


def explain(
    err: OSError,
    path: Path | str,
    *,
    doing: str,
    flag: str | None = None,
    cls: type[_E],
    context: str | None = None,
) -> _E:
    """``cannot DOING PATH: <why>`` with a hint for ``err.errno``; ``flag`` (``-p PATH``,
    ``-o PATH``, ``--cache-dir DIR``) is how the user chooses another path."""
    where = Path(err.filename) if isinstance(err.filename, str) and err.filename else Path(path)
    reason = err.strerror or str(err)
    return cls(
        f"cannot {doing} {path}: {reason}" + (f" ({where})" if where != Path(path) else ""),
        context=context,
        hint=_hint(err.errno, where, _folder(where, Path(path)), _other(where, Path(path), flag)),
    )


def from_output(
    text: str,
    path: Path | str,
    *,
    doing: str,
    flag: str | None = None,
    cls: type[_E],
    shown: bool = False,
) -> _E | None:
    """:func:`explain` for the refusal a tool's output reports (with the file it names, if
    it names one), or None if it reports none. The error quotes the one line that reports it;
    the whole output goes to the debug log (``-v``) unless ``shown`` (``-v`` showed it as it
    came)."""
    found = _reported(text)
    if found is None:
        return None
    number, filename = found
    if not shown:
        _log.debug("the output that reports it:\n%s", text.strip()[-4000:])
    err = OSError(number, os.strerror(number), filename)
    context = reported_line(text)
    return explain(err, path, doing=doing, flag=flag, cls=cls, context=context)


def _nearest(path: Path) -> Path:
    """The deepest folder of ``path`` (or ``path``) that exists."""
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return candidate
    return Path("/")


def _blocker(path: Path) -> Path | None:
    """The first part of ``path`` that exists and is not a folder."""
    for candidate in reversed((path, *path.parents)):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None


def _inside(where: Path, path: Path) -> bool:
    return where == path or path in where.parents or where in path.parents


def _folder(where: Path, path: Path) -> Path:
    """The folder to look at (``df``, ``ls -ld``): the one the user's path is made in, or the
    one holding the file the error names when that is elsewhere (a download cache)."""
    return _nearest(path.parent if _inside(where, path) else where.parent)


def _other(where: Path, path: Path, flag: str | None) -> str | None:
    """How to choose another path, when the refusal concerns the user's path at all."""
    if not _inside(where, path):
        return None
    return f"choose another with {flag}" if flag else "choose another path"


def _hint(number: int | None, path: Path, folder: Path, other: str | None) -> str:
    alternative = f", or {other}" if other else ""
    if number in _FULL:
        what = "full" if number == errno.ENOSPC else "over your quota"
        return (
            f"the disk holding {folder} is {what}: free space there (`df -h {folder}` shows "
            f"it){alternative + ' on another disk' if other else ''}"
        )
    if number == errno.EROFS:
        choose = other or "choose a folder"
        return f"{folder} is on a read-only file system: {choose} on a writable one"
    if number in _DENIED:
        return (
            f"you may not write there (`ls -ld {folder}` shows who may): fix its permissions"
            f"{alternative + ' in a folder you own' if other else ''}"
        )
    if number == errno.ENOTDIR:
        blocker = _blocker(path)
        what = f"{blocker} is a file, not a folder" if blocker else "a part of it is not a folder"
        return f"{what}: {other or 'choose another path'}"
    if number == errno.ENAMETOOLONG:
        return f"the path is too long for the file system: {other or 'choose'} a shorter one"
    if number == errno.ENOENT:
        return f"{_missing(path)} does not exist and cannot be made there{alternative}"
    if number == errno.ELOOP:
        return f"the path goes round a loop of symbolic links: {other or 'choose another'}"
    if number == errno.EIO:
        return f"the disk holding {folder} reported an I/O error (see `dmesg`){alternative}"
    return f"check the path{alternative}"


def _missing(path: Path) -> Path:
    """The topmost part of ``path`` that does not exist."""
    for candidate in reversed((path, *path.parents)):
        if not candidate.exists():
            return candidate
    return path
