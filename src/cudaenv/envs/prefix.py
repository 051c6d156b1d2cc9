"""What ``--force`` may replace: only a prefix cudaenv made, holding nothing but what it made.

Every environment cudaenv finishes carries :data:`MARKER` (``PREFIX/.cudaenv``), written last,
which records the top-level entries the environment had when cudaenv finished it. ``--force``
replaces a prefix only if:

- it is an empty folder, or a half-made environment of cudaenv's (it carries
  ``.cudaenv-incomplete``: cudaenv was stopped while making it, so nothing in it is in use), or
- it carries cudaenv's marker and holds no top-level entry the marker does not list: files a
  user put beside ``bin/`` and ``lib/`` are theirs, and are named in the refusal instead.

It never replaces the environment cudaenv itself runs from, the home folder, the current folder
or ``/``. Anything else is refused before anything is touched.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cudaenv import __version__
from cudaenv.errors import EnvError, UsageError

__all__ = ["INCOMPLETE_MARKER", "MARKER", "check_prefix", "made_entries", "write_marker"]

MARKER = ".cudaenv"
INCOMPLETE_MARKER = ".cudaenv-incomplete"
_ABOUT = (
    "cudaenv made this environment. `cudaenv create --force` replaces it only while it holds "
    "nothing but these entries; anything else in this folder is kept, and named."
)


def write_marker(prefix: Path, backend: str) -> None:
    """Record that cudaenv made ``prefix`` and which top-level entries it holds now."""
    entries = sorted(p.name for p in prefix.iterdir() if p.name != INCOMPLETE_MARKER)
    data = {
        "about": _ABOUT,
        "created-by": "cudaenv",
        "version": __version__,
        "backend": backend,
        "entries": sorted({*entries, MARKER}),
    }
    (prefix / MARKER).write_text(json.dumps(data, indent=2) + "\n")


def made_entries(prefix: Path) -> frozenset[str] | None:
    """The entries cudaenv's marker in ``prefix`` lists; None if it carries no such marker."""
    try:
        data = json.loads((prefix / MARKER).read_text())
    except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    entries = data.get("entries") if isinstance(data, dict) else None
    if data.get("created-by") != "cudaenv" or not isinstance(entries, list):
        return None
    return frozenset(str(e) for e in entries)


def check_prefix(prefix: Path, *, force: bool) -> None:
    """Refuse what must not be touched, before anything is touched."""
    for bad in (":", "\n"):
        if bad in str(prefix):
            raise UsageError(
                f"the prefix {str(prefix)!r} contains {bad!r}",
                hint="LD_LIBRARY_PATH cannot hold such a folder; choose another prefix",
            )
    if not (prefix.exists() or prefix.is_symlink()):
        return
    if not force:
        raise EnvError(
            f"{prefix} already exists; an existing environment is never changed without --force",
            hint="choose another prefix or name, or add --force to replace it",
        )
    _check_replaceable(prefix)


_ANOTHER = "choose another prefix with -p (or a name with -n)"


def _check_replaceable(prefix: Path) -> None:
    if _runs_cudaenv(prefix):
        raise EnvError(
            f"cudaenv is running from {prefix}; it cannot replace the environment it runs in",
            hint=f"run cudaenv from another environment, or {_ANOTHER}",
        )
    if not prefix.is_dir() or prefix.is_symlink() or _special(prefix):
        raise EnvError(f"{prefix} is not an environment cudaenv made; it is kept", hint=_ANOTHER)
    if not any(prefix.iterdir()) or (prefix / INCOMPLETE_MARKER).is_file():
        return  # empty, or half-made by cudaenv
    made = made_entries(prefix)
    if made is None:
        raise EnvError(
            f"{prefix} was not made by cudaenv (it has no {MARKER} marker); "
            "--force replaces only environments cudaenv made, so it is kept",
            hint=_ANOTHER,
        )
    foreign = sorted(p.name for p in prefix.iterdir() if p.name not in made)
    if foreign:
        raise EnvError(
            f"{prefix} holds files cudaenv did not put there: {', '.join(foreign)}; "
            "--force never deletes them, so nothing was changed",
            hint=f"move them out of {prefix} (or delete them), then run the command again; "
            f"or {_ANOTHER}",
        )


def _special(prefix: Path) -> bool:
    return prefix in (Path.home(), Path.cwd(), Path(prefix.anchor))


def _runs_cudaenv(prefix: Path) -> bool:
    """Whether the running interpreter or cudaenv's own code lives in ``prefix``."""
    import cudaenv

    target = prefix.resolve()
    homes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths = [Path(p).resolve() for p in homes] + [Path(cudaenv.__file__).resolve()]
    return any(p == target or target in p.parents for p in paths)
