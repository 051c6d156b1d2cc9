"""What ``--force`` may replace: only a prefix cudaenv made, holding nothing but what it made.

Every environment cudaenv finishes carries :data:`MARKER` (``PREFIX/.cudaenv``), written last,
which records the packages installed then and every file there that their ``RECORD`` files (or
conda's records) do not list: the interpreter's links, ``pyvenv.cfg``, the activation scripts, the
lock (:mod:`cudaenv.envs.contents`). ``--force`` replaces a prefix only if:

- it is an empty folder, or a half-made environment of cudaenv's (it carries
  ``.cudaenv-incomplete``: cudaenv was stopped while making it, so nothing in it is in use), or
- it carries cudaenv's marker and every file in it, at any depth, is accounted for: by the
  marker, by an installed package's ``RECORD`` (or conda's records), as bytecode of such a
  file, or as one of cudaenv's own files (the marker, ``pylock.added.toml`` where ``cudaenv
  kernel --install-ipykernel`` recorded what it added, the installer's ``.lock``, a kernel spec
  cudaenv wrote). Anything else is a user's, and is named in the refusal instead.

It never replaces the environment cudaenv itself runs from, the home folder, the current folder
or ``/``. Anything else is refused before anything is touched, and so is an existing prefix
without ``--force``; the refusal says whether ``--force`` would replace it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cudaenv import __version__
from cudaenv.envs import contents
from cudaenv.errors import EnvError, UsageError

__all__ = [
    "INCOMPLETE_MARKER",
    "MARKER",
    "OWN_FILES",
    "check_prefix",
    "foreign",
    "runs_cudaenv",
    "write_marker",
    "written_by_cudaenv",
]

MARKER = ".cudaenv"
INCOMPLETE_MARKER = ".cudaenv-incomplete"
ADDED_LOCK = "pylock.added.toml"  # cudaenv.pipeline.add writes it; cudaenv.verify reads it
BEFORE_FIX = "pylock.before-fix.toml"  # cudaenv.fix writes it, with its folder FIX_STATE
FIX_STATE = ".cudaenv-fix"
# cudaenv's own files, wherever they came from: the marker, the record of packages added later,
# what `cudaenv fix` keeps for --undo, and the installer's lock file (uv makes ``.lock`` at its
# first install into a prefix).
OWN_FILES = frozenset({MARKER, INCOMPLETE_MARKER, ADDED_LOCK, BEFORE_FIX, ".lock"})
_ABOUT = (
    "cudaenv made this environment. `cudaenv create --force` replaces it only while it holds "
    "nothing but what cudaenv put there (these files, and those the packages' RECORDs list); "
    "anything else in this folder is kept, and named."
)
_FORMAT = 2  # 1: top-level entries only (cudaenv 0.1 before the file list)
_SHOWN = 8  # foreign paths a refusal names


def write_marker(prefix: Path, backend: str) -> None:
    """Record that cudaenv made ``prefix``, and the files there no installer's record lists."""
    present = contents.files(prefix) - OWN_FILES
    data = {
        "about": _ABOUT,
        "created-by": "cudaenv",
        "format": _FORMAT,
        "version": __version__,
        "backend": backend,
        "files": contents.unaccounted(present, _recorded(prefix)),
    }
    (prefix / MARKER).write_text(json.dumps(data, indent=1) + "\n")


def _marker(prefix: Path) -> dict[str, object] | None:
    """cudaenv's marker in ``prefix``; None if it carries no such marker."""
    try:
        data = json.loads((prefix / MARKER).read_text())
    except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if not isinstance(data, dict) or data.get("created-by") != "cudaenv":
        return None
    return data


def foreign(prefix: Path, marker: dict[str, object]) -> list[str]:
    """The files in ``prefix`` that nothing cudaenv made accounts for, as a refusal names
    them (a folder of only such files once)."""
    made = marker.get("files")
    accounted = {f for f in made if isinstance(f, str)} if isinstance(made, list) else set()
    accounted |= _recorded(prefix) | OWN_FILES | _kernel_specs(prefix)
    present = contents.files(prefix)
    accounted |= {p for p in present if p.startswith(f"{FIX_STATE}/")}
    return contents.shown(contents.unaccounted(present, accounted), present)


def _recorded(prefix: Path) -> set[str]:
    """The files the installers' records list: every package's ``RECORD``, conda's records."""
    return contents.by_packages(prefix, contents.dist_infos(prefix)) | contents.by_conda(prefix)


def _kernel_specs(prefix: Path) -> set[str]:
    """The files of the Jupyter kernel specs cudaenv wrote into the prefix (``cudaenv kernel
    --prefix PREFIX``): a folder whose kernel.json carries cudaenv's metadata."""
    found: set[str] = set()
    for spec in prefix.glob("share/jupyter/kernels/*/kernel.json"):
        if written_by_cudaenv(spec):
            found |= {str(p.relative_to(prefix)) for p in spec.parent.iterdir() if p.is_file()}
    return found


def written_by_cudaenv(spec_file: Path) -> bool:
    """Whether the kernel.json at ``spec_file`` is one cudaenv wrote (its metadata says so):
    ``--force`` may replace it here, ``cudaenv kernel`` may write over it."""
    try:
        return "cudaenv" in json.loads(spec_file.read_text()).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return False


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
    _check_replaceable(prefix)  # without --force too: its hint must not offer what refuses
    if not force:
        raise EnvError(
            f"{prefix} already exists; an existing environment is never changed without --force",
            hint="choose another prefix or name, or add --force to replace it",
        )


_ANOTHER = "choose another prefix with -p (or a name with -n)"


def _check_replaceable(prefix: Path) -> None:
    if _special(prefix):
        raise EnvError(
            f"{prefix} is {_special(prefix)}, not an environment; it is kept", hint=_ANOTHER
        )
    if runs_cudaenv(prefix):
        raise EnvError(
            f"cudaenv is running from {prefix}; it cannot replace the environment it runs in",
            hint=f"run cudaenv from another environment, or {_ANOTHER}",
        )
    if not prefix.is_dir() or prefix.is_symlink():
        raise EnvError(f"{prefix} is not an environment cudaenv made; it is kept", hint=_ANOTHER)
    if not any(prefix.iterdir()) or (prefix / INCOMPLETE_MARKER).is_file():
        return  # empty, or half-made by cudaenv
    marker = _marker(prefix)
    if marker is None:
        raise EnvError(
            f"{prefix} was not made by cudaenv (it has no {MARKER} marker); "
            "--force replaces only environments cudaenv made, so it is kept",
            hint=_ANOTHER,
        )
    if marker.get("format") != _FORMAT:
        raise EnvError(
            f"{prefix} was made by an earlier cudaenv, whose marker does not list its files, "
            "so --force cannot tell them from yours; it is kept",
            hint=f"remove it yourself if nothing in it is yours (`rm -rf {_quoted(prefix)}`), "
            f"or {_ANOTHER}",
        )
    _refuse_foreign(prefix, foreign(prefix, marker))


def _refuse_foreign(prefix: Path, found: list[str]) -> None:
    if not found:
        return
    more = f" (and {len(found) - _SHOWN} more)" if len(found) > _SHOWN else ""
    raise EnvError(
        f"{prefix} holds files cudaenv did not put there: {', '.join(found[:_SHOWN])}{more}; "
        "--force never deletes them, so nothing was changed",
        context="\n".join(found) if more else None,
        hint=f"move them out of {prefix} (or delete them), then run the command again; "
        f"or {_ANOTHER}",
    )


def _quoted(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))


def _special(prefix: Path) -> str | None:
    """What ``prefix`` is when it is a folder no environment may replace."""
    places = {Path(prefix.anchor): "the root folder", Path.home(): "your home folder"}
    places.setdefault(Path.cwd(), "the current folder")
    resolved = prefix.resolve()
    return next((what for place, what in places.items() if place.resolve() == resolved), None)


def runs_cudaenv(prefix: Path) -> bool:
    """Whether the running interpreter or cudaenv's own code lives in ``prefix``."""
    import cudaenv

    target = prefix.resolve()
    homes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths = [Path(p).resolve() for p in homes] + [Path(cudaenv.__file__).resolve()]
    return any(p == target or target in p.parents for p in paths)
