"""Environment backends: a template method that makes creation atomic, whatever the backend.

:meth:`EnvBackend.create` refuses an existing prefix unless ``force`` is given, calls the
backend's :meth:`~EnvBackend.perform_create`, and removes everything it made if anything fails,
including Ctrl-C (``KeyboardInterrupt``) and SIGTERM. pdm's backends stop at "refuse a non-empty
location"; cudaenv also rolls back, because a half-made CUDA environment is worse than none.

A venv cannot be built elsewhere and renamed into place (its scripts embed absolute paths), so it
is built at the final path behind a marker file, ``.cudaenv-incomplete``, removed only when the
whole environment is ready. :meth:`EnvBackend.creating` keeps the transaction open while the caller
installs and writes activation, so a failure in those steps rolls back the environment too;
it holds the prefix's lock (:mod:`cudaenv.envs.busy`) all along, so a second cudaenv on the
same prefix is refused, not let in to race.
When it is finished, cudaenv's own marker ``.cudaenv`` is written into it: ``--force`` replaces
only prefixes that carry it (:mod:`cudaenv.envs.prefix` says exactly which). ``--force`` moves the
old environment aside (a rename in the same folder) and puts it back if the new one fails, so an
existing environment is never lost to a failed replacement.
"""

from __future__ import annotations

import abc
import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from cudaenv.envs import busy
from cudaenv.envs.prefix import INCOMPLETE_MARKER, MARKER, check_prefix, write_marker
from cudaenv.errors import EnvError, Terminated, UsageError
from cudaenv.system import oserrors
from cudaenv.system.interrupts import signals_ignored, sigterm_raises

if TYPE_CHECKING:
    from collections.abc import Iterator

    from packaging.version import Version

__all__ = ["INCOMPLETE_MARKER", "MARKER", "Env", "EnvBackend", "Terminated", "check_prefix"]

_MARKER_TEXT = (
    "cudaenv is still creating this environment, or was stopped before it finished.\n"
    "It is not usable: remove this folder, or run `cudaenv create --force` again.\n"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Env:
    """A Python environment on disk: where it is, its interpreter and its site-packages."""

    prefix: Path
    python: Path
    site_packages: Path
    backend: str  # a key of cudaenv.envs.BACKENDS: "venv", "conda", ...

    @property
    def bin_dir(self) -> Path:
        return self.prefix / "bin"

    @property
    def is_conda(self) -> bool:
        """True for conda-like prefixes (they carry ``conda-meta/``), found on disk."""
        return (self.prefix / "conda-meta").is_dir()

    @classmethod
    def from_prefix(cls, prefix: Path, backend: str | None = None) -> Env:
        """Open an existing environment: its interpreter and site-packages are found on disk."""
        prefix = Path(os.path.abspath(prefix))
        python = next(
            (p for p in (prefix / "bin/python", prefix / "bin/python3") if p.exists()), None
        )
        sites = sorted(prefix.glob("lib/python3.*/site-packages"))
        if python is None or not sites:
            raise EnvError(
                f"{prefix} is not a Python environment (no bin/python or site-packages)",
                hint="give the prefix of an environment made by `cudaenv create`",
            )
        if backend is None:
            backend = "conda" if (prefix / "conda-meta").is_dir() else "venv"
        return cls(prefix=prefix, python=python, site_packages=sites[-1], backend=backend)


class EnvBackend(abc.ABC):
    """Base class of environment backends; subclasses implement :meth:`perform_create` only."""

    name: ClassVar[str]
    # True when the backend's tool insists on making the prefix folder itself (it refuses an
    # existing one); the marker is then written right after perform_create returns.
    makes_own_directory: ClassVar[bool] = False

    def prefix_for_name(self, name: str) -> Path:
        """Where ``-n NAME`` puts the environment: ``./NAME`` unless the backend knows better."""
        if not name or "/" in name or name in (".", ".."):
            raise UsageError(
                f"{name!r} is not an environment name", hint="give a path with --prefix instead"
            )
        return Path.cwd() / name

    def create(self, prefix: Path, python_version: Version, *, force: bool = False) -> Env:
        """Make an empty environment at ``prefix`` for ``python_version``, atomically."""
        with self.creating(prefix, python_version, force=force) as env:
            return env

    @contextlib.contextmanager
    def creating(
        self, prefix: Path, python_version: Version, *, force: bool = False
    ) -> Iterator[Env]:
        """Create the environment and keep the transaction open for the ``with`` body.

        If the body (install, activation, smoke) raises, or Ctrl-C/SIGTERM arrives, everything
        made is removed and a replaced environment is put back; on success cudaenv's marker is
        written and the in-progress marker goes.
        """
        prefix = Path(os.path.abspath(prefix))
        try:
            with busy.holding(prefix):  # one cudaenv at a time on a prefix
                check_prefix(prefix, force=force)
                with _Transaction(prefix) as tx, sigterm_raises():
                    env = self._make(tx, prefix, python_version)
                    yield env
                    write_marker(prefix, self.name)  # last: cudaenv made it, it is finished
        except OSError as e:  # the file system refused, in the body (install, activation) too
            if not oserrors.is_refusal(e):
                raise
            raise self._refused(e, prefix) from e

    def _make(self, tx: _Transaction, prefix: Path, python_version: Version) -> Env:
        """The prefix, the environment in it, the marker; any OSError is the file system's."""
        try:
            if not self.makes_own_directory:
                tx.make_prefix()
            env = self.perform_create(prefix, python_version)
            tx.mark()
        except OSError as e:
            raise self._refused(e, prefix) from e
        return env

    def _refused(self, err: OSError, prefix: Path) -> EnvError:
        doing = f"create the {self.name} environment at"
        return oserrors.explain(err, prefix, doing=doing, flag="-p PATH", cls=EnvError)

    @abc.abstractmethod
    def perform_create(self, prefix: Path, python_version: Version) -> Env:
        """Build an empty environment at ``prefix`` (which may already exist, empty but for
        the marker, unless ``makes_own_directory``). Raise :class:`EnvError` on failure."""


class _Transaction:
    """Remembers what creation made and undoes it unless the ``with`` body succeeds."""

    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix
        self.backup: Path | None = None
        self.made_parent: Path | None = None  # topmost parent folder we had to create

    def __enter__(self) -> _Transaction:
        missing = [p for p in self.prefix.parents if not p.exists()]
        self.made_parent = missing[-1] if missing else None
        if self.prefix.exists():  # --force, checked by check_prefix
            self.backup = self.prefix.with_name(f".{self.prefix.name}.cudaenv-old-{os.getpid()}")
            self.prefix.rename(self.backup)
        return self

    def make_prefix(self) -> None:
        self.prefix.mkdir(parents=True)
        self.mark()

    def mark(self) -> None:
        (self.prefix / INCOMPLETE_MARKER).write_text(_MARKER_TEXT)

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        with signals_ignored():
            if exc is None:
                (self.prefix / INCOMPLETE_MARKER).unlink(missing_ok=True)
                if self.backup is not None:
                    shutil.rmtree(self.backup, ignore_errors=True)
                return
            self.rollback()

    def rollback(self) -> None:
        for path in (self.made_parent, self.prefix):
            if path is not None and (path.exists() or path.is_symlink()):
                _remove(path)
                break
        if self.backup is not None:
            self.backup.rename(self.prefix)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
