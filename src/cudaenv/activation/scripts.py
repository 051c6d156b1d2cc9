"""Render the activation changes into shell scripts: the templates beside this module, filled
after per-shell quoting.

Templates are real shell files with ``{{ NAME }}`` placeholders. Every value that reaches a
script goes through :func:`sh_quote` (``shlex.quote``), :func:`fish_quote` or :func:`csh_quote`
first, so a prefix with spaces, quotes, ``$(...)``, backticks or ``!`` is only ever data.
Variable names are checked against ``[A-Za-z_][A-Za-z0-9_]*`` before they are written.

Each POSIX and fish script carries the same engine (``engine.sh``, ``engine.fish``): the state
one cudaenv script saves, any other restores, so a venv and a conda environment of cudaenv's can
be activated over each other in any order. A script only adds one ``_cudaenv_set KIND NAME
VALUE`` line per change. csh cannot keep and restore variables solidly, so its scripts change
nothing and print a command that starts bash with the environment active.
"""

from __future__ import annotations

import os
import re
import shlex
from importlib import resources
from typing import TYPE_CHECKING

from cudaenv.envs.venv import safe_prompt

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from cudaenv.activation import Change
    from cudaenv.envs.base import Env

__all__ = [
    "csh_quote",
    "fish_quote",
    "render",
    "sh_quote",
    "template",
    "write_conda",
    "write_venv",
]

_PLACEHOLDER = re.compile(r"\{\{ ([A-Z_]+) \}\}")

sh_quote = shlex.quote


def fish_quote(text: str) -> str:
    """Quote for fish: inside single quotes only backslash and the quote itself are special."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def template(name: str) -> str:
    """The text of template ``name``."""
    # one name per joinpath: Python 3.10's Traversable (a zip import) takes exactly one
    return resources.files(__package__).joinpath("templates").joinpath(name).read_text()


def render(name: str, values: dict[str, str]) -> str:
    """Fill template ``name``; a placeholder without a value is a bug, not a blank."""

    def fill(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return _PLACEHOLDER.sub(fill, template(name))


def csh_quote(text: str) -> str | None:
    """Quote for csh and tcsh: inside single quotes only ``!`` (history) and the quote itself are
    special. None for text with a newline, which csh cannot quote."""
    if "\n" in text or "\r" in text:
        return None
    return "'" + text.replace("'", "'\\''").replace("!", "\\!") + "'"


_QUOTE: dict[str, Callable[[str], str]] = {"sh": sh_quote, "fish": fish_quote}


def _step(shell: str, change: Change) -> str:
    """One line of an apply function: ``_cudaenv_set KIND NAME OURS`` (the engine saves, sets
    and later restores NAME)."""
    ours = change.separator.join(change.values)
    return f"    _cudaenv_set {change.kind} {change.name} {_QUOTE[shell](ours)}"


def _values(shell: str, env: Env, changes: Sequence[Change]) -> dict[str, str]:
    quote = _QUOTE[shell]
    return {
        "ENGINE": template(f"engine.{shell}").rstrip("\n"),
        "STEPS": "\n".join(_step(shell, c) for c in changes),
        "VIRTUAL_ENV": quote(str(env.prefix)),
        "PREFIX": quote(str(env.prefix)),
        "BIN_DIR": quote(str(env.bin_dir)),
        "PROMPT": quote(safe_prompt(env.prefix.name)),
    }


_CSH_VENV = (
    "cudaenv: csh and tcsh cannot activate this environment (its CUDA libraries would be left off"
    " the library path, so TensorFlow would run on the CPU); start bash with it active instead: "
)
_CSH_CONDA = (
    "cudaenv: csh and tcsh cannot apply this environment's CUDA settings (its CUDA libraries are"
    " left off the library path, so TensorFlow would run on the CPU); start bash, zsh or fish and"
    " run this there: "
)


def _csh_print(message: str, command: str | None, fallback: str) -> str:
    """The csh line that prints ``message`` and ``command`` (csh-quoted) on stderr; ``fallback``
    where the command holds a newline."""
    line = csh_quote(message + command) if command is not None else None
    return f"printf '%s\\n' {line or csh_quote(message + fallback)} > /dev/stderr"


def _csh_venv(env: Env) -> str:
    activate = csh_quote(str(env.bin_dir / "activate"))
    command = f"bash --init-file {activate} -i" if activate else None
    fallback = "run bash and source this environment's bin/activate there"
    return render("activate.csh", {"PRINT": _csh_print(_CSH_VENV, command, fallback)})


def _csh_conda(env: Env) -> str:
    command = f"conda activate {sh_quote(str(env.prefix))}"
    fallback = "conda activate with this environment's path"
    return render("conda-activate.d.csh", {"PRINT": _csh_print(_CSH_CONDA, command, fallback)})


def _write(path: Path, text: str) -> Path:
    """Replace ``path`` in one rename, so no shell ever reads half a script."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.cudaenv-tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def write_venv(env: Env, changes: Sequence[Change]) -> list[Path]:
    """Replace the venv's ``bin/activate``, ``activate.fish`` and ``activate.csh`` with cudaenv's
    (csh's says that csh is not supported, and changes nothing)."""
    out = []
    for shell, target in (("sh", "activate"), ("fish", "activate.fish")):
        text = render(f"activate.{shell}", _values(shell, env, changes))
        out.append(_write(env.bin_dir / target, text))
    out.append(_write(env.bin_dir / "activate.csh", _csh_venv(env)))
    return out


def write_conda(env: Env, changes: Sequence[Change]) -> list[Path]:
    """Write conda's ``etc/conda/{activate,deactivate}.d/cudaenv.{sh,fish}`` and an
    ``activate.d/cudaenv.csh`` that says csh is not supported."""
    out = []
    conda = env.prefix / "etc" / "conda"
    for shell in ("sh", "fish"):
        values = _values(shell, env, changes)
        for phase in ("activate", "deactivate"):
            text = render(f"conda-{phase}.d.{shell}", values)
            out.append(_write(conda / f"{phase}.d" / f"cudaenv.{shell}", text))
    out.append(_write(conda / "activate.d" / "cudaenv.csh", _csh_conda(env)))
    return out
