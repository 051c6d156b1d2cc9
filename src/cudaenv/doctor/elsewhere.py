"""When ``doctor`` or ``smoke`` has no environment it can look at: the ones to offer instead.

A hint must be a command that works as written, and ``cudaenv doctor -p PREFIX`` is not one.
So the way out names real environments: those cudaenv made in the current folder (a
``pylock.toml`` beside ``bin/python``) and, for ``doctor``, the environment of the ``python3``
on PATH when it can run the probe (Python 3.8 or newer); ``cudaenv detect`` needs none.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from cudaenv.errors import Remedy

__all__ = ["MIN_PYTHON", "python_version", "remedies"]

# The probe runs inside the environment's own Python (smoke/probe.py is written for 3.8).
MIN_PYTHON = (3, 8)
DETECT = Remedy.run(("cudaenv", "detect"), text="`cudaenv detect` checks the driver without one")


def python_version(python: Path | str) -> tuple[int, int] | None:
    """``python``'s major.minor, from any Python (2.7 too); None if it does not run."""
    code = "import sys; print('%d.%d' % sys.version_info[:2])"
    try:
        out = subprocess.run(
            [str(python), "-c", code], capture_output=True, text=True, timeout=60, check=True
        ).stdout.strip()
        major, minor = out.split(".")
        return int(major), int(minor)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _made_here(folder: Path) -> list[Path]:
    """Environments cudaenv made directly in ``folder``, by name."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [d for d in entries if (d / "pylock.toml").is_file() and (d / "bin" / "python").exists()]


def remedies(
    command: str, *, here: Path | None = None, skip: Path | None = None
) -> tuple[Remedy, ...]:
    """Ways out for ``cudaenv COMMAND`` with no usable environment (``skip``: the one that
    was refused)."""
    out = [
        Remedy.run(("cudaenv", command, "-p", str(env)))
        for env in _made_here(here or Path.cwd())[:1]
    ]
    python3 = shutil.which("python3")
    if command == "doctor" and python3 and Path(python3) != skip:
        version = python_version(python3)
        if version is not None and version >= MIN_PYTHON:
            out.append(Remedy.run(("cudaenv", "doctor", "--python", python3)))
    return (*out, DETECT)
