"""The default backend: a stdlib ``venv`` made by an interpreter of the target Python.

The interpreter must be of the target's major.minor version and must exist on this machine; it is
looked for as ``python3.X`` on PATH, in pyenv's versions folder (pyenv's shims on PATH fail for
versions not selected, so each candidate is run once to check it), and through ``uv python find``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from shutil import which
from typing import TYPE_CHECKING, ClassVar

from cudaenv.envs.base import Env, EnvBackend
from cudaenv.errors import EnvError
from cudaenv.system import oserrors, process
from cudaenv.system.process import find_uv

if TYPE_CHECKING:
    from collections.abc import Iterator

    from packaging.version import Version

__all__ = ["VenvBackend", "find_python", "safe_prompt"]

_CHECK = "import sys, venv; print('%d.%d' % sys.version_info[:2])"
_SITE = "import sysconfig; print(sysconfig.get_paths()['platlib'])"


def safe_prompt(name: str) -> str:
    """A prompt text no shell expands: prompts are re-read by bash and zsh at every prompt."""
    return re.sub(r"[^A-Za-z0-9._+@=,-]", "_", name) or "env"


def _minor(version: Version) -> str:
    return f"{version.release[0]}.{version.release[1]}"


def _candidates(minor: str) -> Iterator[str]:
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == minor:
        yield sys.executable
    on_path = which(f"python{minor}")
    if on_path:
        yield on_path
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for folder in sorted((root / "versions").glob(f"{minor}.*"), reverse=True):
        yield str(folder / "bin" / f"python{minor}")
    uv = find_uv()
    if uv is not None:
        found = _output([str(uv), "python", "find", "--no-project", minor])
        if found:
            yield found


def _output(cmd: list[str]) -> str | None:
    try:
        done = process.run(cmd, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def find_python(version: Version) -> Path:
    """An interpreter of ``version`` (major.minor) that runs and has ``venv``; else EnvError."""
    minor = _minor(version)
    for candidate in _candidates(minor):
        if Path(candidate).exists() and _output([candidate, "-c", _CHECK]) == minor:
            return Path(candidate)
    raise EnvError(
        f"no Python {minor} interpreter was found on this machine",
        hint=f"install one (`uv python install {minor}`, `pyenv install {minor}`, or your "
        f"system's python{minor} package), or choose another version with --python",
    )


def _has_ensurepip(interpreter: Path) -> bool:
    try:
        done = process.run([str(interpreter), "-c", "import ensurepip"], timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


_BUNDLED = (
    "import ensurepip, pathlib; "
    "print(*pathlib.Path(ensurepip.__file__).parent.glob('_bundled/pip-*.whl'), sep='\\n')"
)


def _bundled_pip(interpreter: Path) -> tuple[Path, Path] | None:
    """(uv, the pip wheel the interpreter ships for ensurepip), when both exist.

    ``venv --with-pip`` runs ensurepip, which installs that same wheel with pip itself: 7-11 s
    here. uv installs it in well under a second. The wheel is part of the interpreter, so it is
    trusted exactly as much as ensurepip's copy would be; distributions that strip it (Debian's
    python3-venv) fall back to ensurepip.
    """
    uv = find_uv()
    found = _output([str(interpreter), "-c", _BUNDLED]) if uv is not None else None
    wheels = [Path(w) for w in (found or "").splitlines() if w]
    return (uv, wheels[0]) if uv is not None and len(wheels) == 1 else None


def _install_bundled_pip(bundled: tuple[Path, Path], python: Path) -> None:
    uv, wheel = bundled
    cmd = [str(uv), "pip", "install", "-q", "--offline", "--no-deps", "--python", str(python)]
    done = process.run([*cmd, str(wheel)], text=True)
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-2000:]
        raise _refused(output, python.parent.parent) or EnvError(
            f"installing pip into the new environment failed (exit {done.returncode})",
            context=output or None,
            hint="retry with --installer pip, or report this with the output above",
        )


def _refused(output: str, prefix: Path) -> EnvError | None:
    """The file system's refusal (disk full, read-only, ...) that a tool's output reports."""
    doing = "create the venv environment at"
    return oserrors.from_output(output, prefix, doing=doing, flag="-p PATH", cls=EnvError)


class VenvBackend(EnvBackend):
    """stdlib ``venv``; cudaenv writes the activation scripts itself afterwards."""

    name: ClassVar[str] = "venv"

    def __init__(self, *, with_pip: bool = True) -> None:
        # pip in the environment lets its users `pip install` more; uv never needs it.
        self.with_pip = with_pip

    def perform_create(self, prefix: Path, python_version: Version) -> Env:
        interpreter = find_python(python_version)
        # A Python whose distribution strips ensurepip (Debian's and Ubuntu's without
        # python3-venv) makes a venv only without pip; the installer then brings its own.
        with_pip = self.with_pip and _has_ensurepip(interpreter)
        bundled = _bundled_pip(interpreter) if with_pip else None
        cmd = [str(interpreter), "-m", "venv", "--prompt", safe_prompt(prefix.name)]
        if not with_pip or bundled is not None:
            cmd.append("--without-pip")
        done = process.run([*cmd, str(prefix)], text=True)
        if done.returncode != 0:
            output = (done.stderr or done.stdout).strip()[-2000:]
            raise _refused(output, prefix) or EnvError(
                f"`{interpreter} -m venv` failed (exit {done.returncode})",
                context=output or None,
                hint="on Debian/Ubuntu install the python3-venv package for this Python",
            )
        python = prefix / "bin" / "python"
        if bundled is not None:
            _install_bundled_pip(bundled, python)
        site = _output([str(python), "-c", _SITE])
        if not site:
            raise EnvError(f"the new environment's Python at {python} does not run")
        return Env(prefix=prefix, python=python, site_packages=Path(site), backend=self.name)
