"""The variables of an activated environment, for programs started without a shell.

``cudaenv run`` (scripts, cron, Slurm) and ``cudaenv kernel`` (Jupyter) start the environment's
programs directly, so nobody sources ``bin/activate`` for them. They get the same variables the
activate script exports, computed by the same plan (:func:`cudaenv.activation.plan`): the
environment's ``bin`` on ``PATH``, ``VIRTUAL_ENV`` (``CONDA_PREFIX`` for a conda prefix),
``VIRTUAL_ENV_PROMPT``, no ``PYTHONHOME``, and what the recipes of the installed TensorFlow
line add (``LD_LIBRARY_PATH`` to every ``nvidia/*/lib``, ptxas on ``PATH``, ``XLA_FLAGS``),
in the script's order: the recipe's ``PATH`` entries come before ``bin``.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cudaenv.activation import Change
    from cudaenv.envs.base import Env
    from cudaenv.knowledge import Knowledge, TfLine

__all__ = ["changes", "environ", "recipe_lines"]

_TF_DIST = re.compile(r"^tensorflow-([^-]+)\.dist-info$")


def recipe_lines(env: Env, knowledge: Knowledge | None = None) -> tuple[TfLine, ...]:
    """The recipe line of the TensorFlow installed in ``env`` (the one ``create`` wrote the
    activate script for), or none."""
    versions = []
    for entry in env.site_packages.glob("tensorflow-*.dist-info"):
        match = _TF_DIST.match(entry.name)
        if match:
            try:
                versions.append(Version(match.group(1)))
            except InvalidVersion:
                continue
    if not versions:
        return ()
    if knowledge is None:
        from cudaenv.knowledge import load

        knowledge = load()
    line = knowledge.tf_line(max(versions))
    return (line,) if line is not None else ()


def changes(env: Env, knowledge: Knowledge | None = None) -> tuple[Change, ...]:
    """What activating ``env`` changes beyond the environment's own part (PATH to bin,
    VIRTUAL_ENV): the plan the activate script was written from."""
    from cudaenv.activation import plan

    return plan(env, recipe_lines(env, knowledge))


def environ(
    env: Env, base: Mapping[str, str] | None = None, knowledge: Knowledge | None = None
) -> dict[str, str]:
    """``base`` (default: this process's environment) as ``. ENV/bin/activate`` leaves it."""
    out = dict(os.environ if base is None else base)
    out.pop("PYTHONHOME", None)
    old_path = out.get("PATH")
    out["PATH"] = f"{env.bin_dir}:{old_path}" if old_path else str(env.bin_dir)
    if env.is_conda:
        out["CONDA_PREFIX"] = str(env.prefix)
    else:
        out["VIRTUAL_ENV"] = str(env.prefix)
        out["VIRTUAL_ENV_PROMPT"] = _prompt(env)
    for change in changes(env, knowledge):
        out[change.name] = change.apply(out.get(change.name))
    return out


def _prompt(env: Env) -> str:
    from cudaenv.envs.venv import safe_prompt

    return safe_prompt(env.prefix.name)
