"""oserrors: the errno decides the hint; tools' reports of an errno are read as Python's own."""

from __future__ import annotations

import errno
import os

import pytest

from cudaenv.errors import EnvError, FilesystemError, LockError
from cudaenv.system import oserrors


def _error(number: int, filename: str) -> OSError:
    return OSError(number, os.strerror(number), filename)


@pytest.mark.parametrize(
    ("number", "says"),
    [
        (errno.ENOSPC, "is full: free space there (`df -h {folder}` shows it), or choose "
         "another with -p PATH on another disk"),
        (errno.EDQUOT, "is over your quota"),
        (errno.EROFS, "{folder} is on a read-only file system: choose another with -p PATH "
         "on a writable one"),
        (errno.EACCES, "you may not write there (`ls -ld {folder}` shows who may)"),
        (errno.EPERM, "fix its permissions, or choose another with -p PATH in a folder you own"),
        (errno.ENAMETOOLONG, "the path is too long for the file system"),
        (errno.EIO, "reported an I/O error"),
    ],
)  # fmt: skip
def test_each_refusal_gets_its_own_hint(tmp_path, number: int, says: str) -> None:
    prefix = tmp_path / "envs" / "tf"
    err = oserrors.explain(
        _error(number, str(prefix)), prefix, doing="create", flag="-p PATH", cls=EnvError
    )
    assert isinstance(err, EnvError)
    assert err.message == f"cannot create {prefix}: {os.strerror(number)}"
    assert says.format(folder=tmp_path) in (err.hint or "")


def test_a_file_in_the_way_is_named(tmp_path) -> None:
    (tmp_path / "notes").write_text("x")
    path = tmp_path / "notes" / "env"
    err = oserrors.explain(_error(errno.ENOTDIR, str(path)), path, doing="create", cls=LockError)
    assert err.hint == f"{tmp_path / 'notes'} is a file, not a folder: choose another path"


def test_a_missing_folder_that_cannot_be_made_is_named() -> None:
    path = "/proc/cudaenv-test/env"
    err = oserrors.explain(
        _error(errno.ENOENT, "/proc/cudaenv-test"), path, doing="create", cls=FilesystemError
    )
    assert err.message == f"cannot create {path}: No such file or directory (/proc/cudaenv-test)"
    assert (err.hint or "").startswith("/proc/cudaenv-test does not exist and cannot be made")


@pytest.mark.parametrize(
    ("output", "number", "where"),
    [
        ("Error: [Errno 28] No space left on device: '/e/env/bin/python'", 28, "/e/env/bin/python"),
        ("cause: failed to open file `/c/uv/x/.git`: No space left on device (os error 28)", 28,
         "/c/uv/x/.git"),
        ("OSError: [Errno 30] Read-only file system: '/ro/env'", 30, "/ro/env"),
        ("warning: hardlink failed (os error 18)\nerror: network unreachable", None, None),
        ("nothing of the kind", None, None),
    ],
)  # fmt: skip
def test_a_tools_report_of_an_errno(output: str, number: int | None, where: str | None) -> None:
    assert oserrors.errno_in(output) == number
    err = oserrors.from_output(output, "/e/env", doing="create", cls=EnvError)
    if number is None:
        assert err is None
        return
    assert err is not None and os.strerror(number) in err.message
    assert err.context == output
    assert where in err.message or where == "/e/env"


def test_only_refusals_are_the_file_systems() -> None:
    assert oserrors.is_refusal(_error(errno.ENOSPC, "/x"))
    assert oserrors.is_refusal(_error(errno.EROFS, "/x"))
    assert not oserrors.is_refusal(_error(errno.ENOENT, "/x"))  # a bug's missing file, too
    assert not oserrors.is_refusal(_error(errno.EPIPE, "/x"))
