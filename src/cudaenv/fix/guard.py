"""What ``fix`` refuses to change, checked before anything is read from an index.

- The Python cudaenv itself runs from (its environment, or the interpreter under it): the
  installer would replace files cudaenv is running.
- An externally managed Python (PEP 668): its packages belong to the system's package manager,
  which the marker file ``EXTERNALLY-MANAGED`` in its standard library folder says; a virtual
  environment made from it is not externally managed, the interpreter itself is.

The environment's own interpreter answers what it is (its prefix, base prefix, standard
library folder, full version), so a conda environment, a venv of any tool and a bare system
Python are told apart the same way.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.errors import EnvError, Remedy
from cudaenv.system import process

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.version import Version

    from cudaenv.envs.base import Env

__all__ = ["Interpreter", "check"]

_ASK = (
    "import json, sys, sysconfig; print(json.dumps({'prefix': sys.prefix, 'base': "
    "sys.base_prefix, 'stdlib': sysconfig.get_path('stdlib'), 'version': "
    "'%d.%d.%d' % sys.version_info[:3]}))"
)
_MARKER = "EXTERNALLY-MANAGED"


@dataclass(frozen=True, slots=True, kw_only=True)
class Interpreter:
    """What the environment's Python says of itself."""

    version: str  # 3.11.7
    virtual: bool  # sys.prefix differs from sys.base_prefix (a venv)


def check(env: Env, installed: Mapping[str, Version], *, changing: bool = True) -> Interpreter:
    """The environment's interpreter, once it is one ``fix`` may change (``changing``; a dry
    run only reads it); EnvError otherwise. ``installed``: the frameworks found in it, for the
    way out of a refusal."""
    from cudaenv.envs.prefix import runs_cudaenv

    if changing and runs_cudaenv(env.prefix):
        where = shlex.quote(str(env.prefix))
        raise EnvError(
            f"cudaenv is running from {env.prefix}; fix never changes the Python it runs from",
            hint="run the cudaenv of another environment on it (`pipx install cudaenv`); "
            f"`cudaenv fix -p {where} --dry-run` shows the plan and changes nothing",
            remedies=(Remedy.run(("cudaenv", "fix", "-p", str(env.prefix), "--dry-run")),),
        )
    try:
        done = process.run([str(env.python), "-I", "-c", _ASK], text=True, timeout=60)
        info = json.loads(done.stdout)
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        raise EnvError(
            f"{env.python} does not say what it is: {e}",
            hint="check that the environment's Python starts: "
            f"`{shlex.quote(str(env.python))} -c pass`",
        ) from e
    virtual = Path(info["prefix"]) != Path(info["base"])
    marker = Path(info["stdlib"]) / _MARKER
    if changing and not virtual and not env.is_conda and marker.is_file():
        raise _externally_managed(env, marker, info["version"], installed)
    return Interpreter(version=str(info["version"]), virtual=virtual)


def _externally_managed(
    env: Env, marker: Path, version: str, installed: Mapping[str, Version]
) -> EnvError:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    from cudaenv.fix.frameworks import remake

    specs = {name: SpecifierSet(f"=={v}") for name, v in installed.items()}
    python = Version(".".join(version.split(".")[:2]))
    remedies = (remake(Path.cwd() / "env", specs, python),) if specs else ()
    venv = f"`{shlex.quote(str(env.python))} -m venv ./env`"
    hint = (
        f"make an environment of your own: {venv}, or one with the GPU stack: {remedies[0].text}"
        if remedies
        else f"make an environment of your own ({venv}) and install your packages there"
    )
    return EnvError(
        f"{env.python} is an externally managed Python ({marker} says so, PEP 668): its "
        "packages belong to the system's package manager, so fix does not change them",
        hint=hint,
        remedies=remedies,
    )
