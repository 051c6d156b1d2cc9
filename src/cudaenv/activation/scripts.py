"""Render the activation changes into shell scripts: the templates beside this module, filled
after per-shell quoting.

Templates are real shell files with ``{{ NAME }}`` placeholders. Every value that reaches a
script goes through :func:`sh_quote` (``shlex.quote``) or :func:`fish_quote` first, so a prefix
with spaces, quotes, ``$(...)`` or backticks is only ever data. Variable names are checked
against ``[A-Za-z_][A-Za-z0-9_]*`` before they are written.
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

__all__ = ["fish_quote", "render", "sh_quote", "write_conda", "write_venv"]

_PLACEHOLDER = re.compile(r"\{\{ ([A-Z_]+) \}\}")

sh_quote = shlex.quote


def fish_quote(text: str) -> str:
    """Quote for fish: inside single quotes only backslash and the quote itself are special."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def template(name: str) -> str:
    # one name per joinpath: Python 3.10's Traversable (a zip import) takes exactly one
    return resources.files(__package__).joinpath("templates").joinpath(name).read_text()


def render(name: str, values: dict[str, str]) -> str:
    """Fill template ``name``; a placeholder without a value is a bug, not a blank."""

    def fill(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return _PLACEHOLDER.sub(fill, template(name))


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + ln if ln else ln for ln in text.splitlines())


# --- POSIX shells -------------------------------------------------------------------------


def _sh_apply(c: Change) -> str:
    save = f'if [ -n "${{{c.name}+_}}" ] ; then _CUDAENV_OLD_{c.name}=${c.name} ; fi'
    if c.kind == "set":
        return f"{save}\n{c.name}={sh_quote(c.values[0])}\nexport {c.name}"
    ours = sh_quote(c.separator.join(c.values))
    return (
        f'{save}\n_cudaenv_prepend {sh_quote(c.separator)} {ours} "${{{c.name}-}}"\n'
        f"{c.name}=$_cudaenv_out\nexport {c.name}"
    )


def _sh_restore(c: Change) -> str:
    old = f"_CUDAENV_OLD_{c.name}"
    return (
        f'if [ -n "${{{old}+_}}" ] ; then\n    {c.name}=${old}\n    export {c.name}\n'
        f"    unset {old}\nelse\n    unset {c.name}\nfi"
    )


# --- fish ---------------------------------------------------------------------------------


def _fish_apply(c: Change) -> str:
    save = f"if set -q {c.name}\n    set -g _CUDAENV_OLD_{c.name} ${c.name}\nend"
    if c.kind == "set":
        return f"{save}\nset -gx {c.name} {fish_quote(c.values[0])}"
    ours = fish_quote(c.separator.join(c.values))
    assign = (
        f"set -gx --path {c.name} $_cudaenv_out"
        if c.kind == "path"
        else f'set -gx --unpath {c.name} "$_cudaenv_out"'
    )
    return f'{save}\n_cudaenv_prepend {fish_quote(c.separator)} {ours} "${c.name}"\n{assign}'


def _fish_restore(c: Change) -> str:
    old = f"_CUDAENV_OLD_{c.name}"
    return (
        f"if set -q {old}\n    set -gx {c.name} ${old}\n    set -e {old}\n"
        f"else\n    set -e {c.name}\nend"
    )


_SHELLS: dict[str, tuple[Callable[[str], str], Callable[[Change], str], Callable[[Change], str]]]
_SHELLS = {
    "sh": (sh_quote, _sh_apply, _sh_restore),
    "fish": (fish_quote, _fish_apply, _fish_restore),
}


def _values(shell: str, env: Env, changes: Sequence[Change], indent: int) -> dict[str, str]:
    quote, apply, restore = _SHELLS[shell]
    steps = "\n".join(apply(c) for c in changes)
    undo = "\n".join(restore(c) for c in reversed(changes)) or ":"
    if shell == "fish" and not changes:
        undo = "true"
    return {
        "APPLY": render(f"apply.{shell}", {"STEPS": steps}).rstrip("\n") if changes else "",
        "RESTORE": _indent(undo, indent),
        "VIRTUAL_ENV": quote(str(env.prefix)),
        "PREFIX": quote(str(env.prefix)),
        "BIN_DIR": quote(str(env.bin_dir)),
        "PROMPT": quote(safe_prompt(env.prefix.name)),
    }


def _write(path: Path, text: str) -> Path:
    """Replace ``path`` in one rename, so no shell ever reads half a script."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.cudaenv-tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def write_venv(env: Env, changes: Sequence[Change]) -> list[Path]:
    """Replace the venv's ``bin/activate`` and ``bin/activate.fish`` with cudaenv's."""
    out = []
    for shell, target in (("sh", "activate"), ("fish", "activate.fish")):
        text = render(f"activate.{shell}", _values(shell, env, changes, 8))
        out.append(_write(env.bin_dir / target, text))
    return out


def write_conda(env: Env, changes: Sequence[Change]) -> list[Path]:
    """Write conda's ``etc/conda/{activate,deactivate}.d/cudaenv.{sh,fish}``."""
    out = []
    conda = env.prefix / "etc" / "conda"
    for shell in ("sh", "fish"):
        values = _values(shell, env, changes, 4)
        for phase in ("activate", "deactivate"):
            text = render(f"conda-{phase}.d.{shell}", values)
            out.append(_write(conda / f"{phase}.d" / f"cudaenv.{shell}", text))
    return out
