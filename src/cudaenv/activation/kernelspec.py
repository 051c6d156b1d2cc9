"""Register an environment as a Jupyter kernel that starts with the environment's activation.

Jupyter starts a kernel by running the ``argv`` of its ``kernel.json`` with the server's
environment plus the spec's ``env``; nobody sources ``bin/activate``, so a kernel spec made by
``ipykernel install`` runs TensorFlow or CuPy without ``LD_LIBRARY_PATH`` to the NVIDIA wheels.
cudaenv writes the spec itself: ``argv`` runs the environment's Python with
``-m ipykernel_launcher -f {connection_file}`` (what ``ipykernel install`` writes), and ``env``
holds what activation sets (:mod:`cudaenv.activation.activated`): the library folders, the recipes'
variables, ``VIRTUAL_ENV`` (``CONDA_PREFIX`` for conda), and ``PATH`` with the environment's
``bin`` (and the recipe's ptxas folder) before ``${PATH}``, which jupyter_client >= 7 fills in
with the server's PATH. The other variables are the environment's own values: a ``${VAR}``
left where the server has no such variable would stay in the value as text.

Where the spec goes follows Jupyter's paths: ``--prefix P`` is ``P/share/jupyter/kernels``;
otherwise (``--user``, the default) the user's data folder, ``$JUPYTER_DATA_DIR``, else
``$XDG_DATA_HOME/jupyter``, else ``~/.local/share/jupyter``, then ``kernels``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cudaenv.envs.prefix import written_by_cudaenv
from cudaenv.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cudaenv.envs.base import Env

__all__ = [
    "check",
    "default_name",
    "has_ipykernel",
    "kernel_env",
    "kernels_dir",
    "register",
    "spec",
]

_NAME = re.compile(r"^[a-z0-9._-]+$")  # jupyter_client's rule for kernel names (lower-cased)


def kernels_dir(prefix: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """Where Jupyter looks for kernel specs: ``prefix/share/jupyter/kernels``, or the user's."""
    if prefix is not None:
        return Path(os.path.abspath(prefix)) / "share" / "jupyter" / "kernels"
    env = os.environ if environ is None else environ
    if env.get("JUPYTER_DATA_DIR"):
        return Path(env["JUPYTER_DATA_DIR"]) / "kernels"
    data = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "jupyter" / "kernels"


def default_name(env: Env) -> str:
    """A kernel name from the environment's folder name (``tf215-spacy37``)."""
    name = re.sub(r"[^a-z0-9._-]+", "-", env.prefix.name.lower()).strip("-.")
    return name or "cudaenv"


def has_ipykernel(env: Env) -> bool:
    """Whether ipykernel is installed in ``env`` (its metadata, not an import)."""
    return any(env.site_packages.glob("ipykernel-*.dist-info"))


def kernel_env(env: Env) -> dict[str, str]:
    """The ``env`` of the kernel spec: activation's variables, on their own (see above)."""
    from cudaenv.activation import activated

    out: dict[str, str] = {}
    for change in activated.changes(env):
        out[change.name] = change.apply(None)
    bins = [*out.get("PATH", "").split(":"), str(env.bin_dir)]
    out["PATH"] = ":".join([b for b in bins if b] + ["${PATH}"])
    out["CONDA_PREFIX" if env.is_conda else "VIRTUAL_ENV"] = str(env.prefix)
    return dict(sorted(out.items()))


def spec(env: Env, display_name: str) -> dict[str, Any]:
    """The kernel.json of ``env``."""
    return {
        "argv": [str(env.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "python",
        "env": kernel_env(env),
        "metadata": {"debugger": True, "cudaenv": {"prefix": str(env.prefix)}},
    }


def check(*, name: str, where: Path, force: bool = False) -> None:
    """Refuse a name Jupyter does not take, or a kernel of that name cudaenv did not write
    (unless ``force``): before anything is installed or written."""
    if not _NAME.match(name):
        raise UsageError(
            f"{name!r} is not a Jupyter kernel name (letters, digits, '.', '-', '_')",
            hint=f"--name {re.sub(r'[^a-z0-9._-]+', '-', name.lower()).strip('-.') or 'myenv'}",
        )
    _check_replaceable(where / name, force)


def register(env: Env, *, name: str, display_name: str, where: Path, force: bool = False) -> Path:
    """Write ``where/name/kernel.json`` (and ipykernel's logos), replacing a spec cudaenv wrote
    before; return the kernel's folder. Written aside and renamed, so Jupyter never reads half."""
    check(name=name, where=where, force=force)
    folder = where / name
    where.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=where))
    try:
        text = json.dumps(spec(env, display_name), indent=1, sort_keys=True) + "\n"
        (staged / "kernel.json").write_text(text)
        for logo in sorted(env.site_packages.glob("ipykernel/resources/logo-*.png")):
            shutil.copyfile(logo, staged / logo.name)
        staged.chmod(0o755)
        if folder.exists():
            shutil.rmtree(folder)
        staged.rename(folder)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return folder


def _check_replaceable(folder: Path, force: bool) -> None:
    if force or not folder.exists():
        return
    if not written_by_cudaenv(folder / "kernel.json"):
        raise UsageError(
            f"a kernel named {folder.name!r} that cudaenv did not write exists at {folder}",
            hint=f"use --name {folder.name}-cudaenv, or --force to replace it",
        )
