"""An interpreter that runs this checkout's cudaenv, chosen in the first stage.

In order: the Python running ``gpu-check``, when it imports this checkout's cudaenv and its
dependencies (a development venv, the suite's dry run); the same with ``src/`` on
``PYTHONPATH``, when only cudaenv itself is missing; else a venv of that Python (made without
pip, so no ``ensurepip`` is needed) with the carried dependency wheels unpacked into its
site-packages, a ``.pth`` file naming ``src/``, and this Python's own pip made into a wheel and
unpacked there too (:mod:`.repack`): where no uv exists, cudaenv installs with pip, and where
the Python has no ensurepip that pip installs into the new environment (``pip --python``).
The last is what a lent machine gets: its image lacks resolvelib, msgspec, platformdirs and
tomli-w, and a venv keeps them out of the image's own environment, which the check must see as
it is.

Standard library only (first stage).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

__all__ = ["ToolError", "choose"]

_CHECK = (
    "import cudaenv, resolvelib, msgspec, platformdirs, tomli_w, certifi, packaging.pylock; "
    "print(cudaenv.__file__)"
)


class ToolError(Exception):
    """No interpreter can run cudaenv here."""


def _imports(python: str, src: Path, env: dict[str, str]) -> bool:
    try:
        done = subprocess.run(
            [python, "-c", _CHECK], capture_output=True, text=True, timeout=60, env=env, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    where = done.stdout.strip()
    return done.returncode == 0 and Path(where).resolve().is_relative_to(src.resolve())


def _unzip(wheel: Path, site: Path) -> None:
    """A wheel into site-packages, as an installer would for these packages (no scripts)."""
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            parts = name.split("/")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue
                parts = parts[2:]
            if ".." in parts or name.endswith("/"):
                continue
            target = site.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(name))


def _venv(work: Path, wheels: list[Path], src: Path) -> str:
    prefix = work / "tool"
    done = subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(prefix)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise ToolError(f"`{sys.executable} -m venv --without-pip` failed: {done.stderr[-500:]}")
    python = prefix / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                               check=True).stdout.strip())  # fmt: skip
    for wheel in [*wheels, *_own_pip(work)]:
        _unzip(wheel, site)
    (site / "cudaenv-checkout.pth").write_text(f"{src}\n")
    return str(python)


def _own_pip(work: Path) -> list[Path]:
    """This Python's pip as a wheel (none if it has no pip)."""
    import site
    import sysconfig

    from gpucheck import repack

    for folder in dict.fromkeys([sysconfig.get_paths()["purelib"], *site.getsitepackages()]):
        dist = repack.installed(Path(folder)).get("pip")
        if dist is not None:
            # a pip whose files were edited in place (a patched CA bundle) still lends itself
            return [repack.wheel_of(dist, work / "tool-wheels", strict=False)]
    return []


def choose(repo: Path, work: Path, wheels: list[Path]) -> tuple[str, dict[str, str], str]:
    """(python, extra variables, how it was chosen) that run this checkout's cudaenv."""
    src = repo / "src"
    env = dict(os.environ)
    if _imports(sys.executable, src, env):
        return sys.executable, {}, "the Python running gpu-check"
    path = os.pathsep.join(x for x in (str(src), env.get("PYTHONPATH")) if x)
    if _imports(sys.executable, src, {**env, "PYTHONPATH": path}):
        return sys.executable, {"PYTHONPATH": path}, "the Python running gpu-check, src/ added"
    if not wheels:
        raise ToolError(
            "cudaenv's dependencies are not installed here and none were carried: run "
            "`scripts/gpu-check --prepare DIR` where the index is reachable, and carry DIR"
        )
    python = _venv(work, wheels, src)
    if not _imports(python, src, env):
        raise ToolError(f"{python} does not import cudaenv with the carried dependencies")
    return python, {}, "a venv of this Python with the carried dependencies"
