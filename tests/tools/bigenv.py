"""The big-environment tests' one wheel cache, and their disk discipline.

TensorFlow environments are several GB each, and the whole suite must stay well under 15 GB on
a fresh machine (``scripts/measure-disk`` measures it). So:

- one cache for every such test (:data:`CACHE`: uv's wheels and cudaenv's index pages, about
  10 GB), kept between runs, in ``$XDG_CACHE_HOME/cudaenv-tests`` (else ``~/.cache``);
  ``CUDAENV_TEST_CACHE`` moves it (``scripts/measure-disk`` starts one empty), and
  ``./scripts/test --clean-cache`` removes it;
- every wheel is installed the way cudaenv installs it, by URL and hash from a cudaenv lock
  (:func:`requirements`), so uv keeps one copy of it: the same wheel asked for by name and by
  URL would be two cache entries of the same gigabytes;
- environments are made on the cache's file system (:func:`big_dir`), so that uv hardlinks
  their files from the cache instead of copying them (``UV_LINK_MODE=hardlink``), and each is
  removed as soon as its test is done.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["CACHE", "UV_CACHE", "big_dir", "cache_root", "environ", "requirements"]


def cache_root(environ: Mapping[str, str] = os.environ) -> Path:
    """``CUDAENV_TEST_CACHE``, else ``cudaenv-tests`` in the user's cache folder:
    ``$XDG_CACHE_HOME`` (an absolute path, as the XDG spec requires), else ``~/.cache``.
    ``./scripts/test --clean-cache`` removes it (the same rule, in shell)."""
    if environ.get("CUDAENV_TEST_CACHE"):
        return Path(environ["CUDAENV_TEST_CACHE"])
    xdg = environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "cudaenv-tests"


CACHE = cache_root()
UV_CACHE = CACHE / "uv"
_ENVS = CACHE / "envs"


def environ() -> dict[str, str]:
    """This process's environment for cudaenv and uv: the shared caches, hardlinks, and no
    activated environment or library path of the caller's."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "VIRTUAL_ENV")}
    env["UV_CACHE_DIR"] = str(UV_CACHE)
    env["UV_LINK_MODE"] = "hardlink"
    env["CUDAENV_CACHE_DIR"] = str(CACHE / "index")
    return env


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep() -> None:
    """Remove folders that test runs which were killed left behind."""
    for folder in _ENVS.glob("run-*") if _ENVS.is_dir() else ():
        pid = folder.name.removeprefix("run-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def big_dir(name: str) -> Iterator[Path]:
    """A new folder ``name`` on the cache's file system, removed with all it holds afterwards."""
    _sweep()
    run = _ENVS / f"run-{os.getpid()}"
    run.mkdir(parents=True, exist_ok=True)
    folder = Path(os.path.realpath(run)) / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            run.rmdir()  # the last one out


def requirements(*lock_args: str) -> str:
    """``cudaenv lock LOCK_ARGS --format requirements -o -``: the hashed ``name @ URL`` lines
    cudaenv itself installs from, so that uv caches each wheel once."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cudaenv",
            "lock",
            *lock_args,
            "--format",
            "requirements",
            "-o",
            "-",
        ],
        capture_output=True,
        text=True,
        env=environ(),
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout
