"""What activating an environment changes, and the scripts that change it.

:func:`plan` decides the changes once, from what is on disk and what the recipes ask for;
:func:`variables` applies them to a given environ in Python (the smoke test runs its probe this
way), and :func:`write` renders the same changes into shell scripts (:mod:`.scripts`), so the two
cannot disagree. Library folders are found on disk, never guessed: every
``site-packages/nvidia/*/lib`` that holds a shared library, plus folders a recipe names that
exist. They are sorted by path, so the order is the same on every machine. Each soname is
shipped by exactly one NVIDIA wheel, so this order does not decide which library loads; what
does matter is that all of them come *before* the previous LD_LIBRARY_PATH, so that a system
CUDA or cuDNN of the same major version never shadows the wheels (ld.so searches
LD_LIBRARY_PATH before the frameworks' RUNPATH).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from cudaenv.envs.base import Env

__all__ = [
    "Change",
    "is_shared_library",
    "library_dirs",
    "plan",
    "recipe_lines",
    "variables",
    "write",
    "write_conda",
]

_SHARED_LIBRARY = re.compile(r"\.so(\.[0-9]+)*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PATH_LISTS = frozenset({"PATH", "LD_LIBRARY_PATH", "LIBRARY_PATH", "CPATH"})
_RESERVED = frozenset({"VIRTUAL_ENV", "VIRTUAL_ENV_PROMPT", "PS1", "PYTHONHOME"})

Kind = Literal["path", "flags", "set"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One variable activation sets: prepend elements (path, flags) or replace (set)."""

    name: str
    kind: Kind
    values: tuple[str, ...]

    @property
    def separator(self) -> str:
        return ":" if self.kind == "path" else " "

    def apply(self, old: str | None) -> str:
        """The value after activation, given the value before (None: unset)."""
        if self.kind == "set":
            return self.values[0]
        out = list(self.values)
        for element in (old or "").split(self.separator):
            if element and element not in out:
                out.append(element)
        return self.separator.join(out)


def _fill(template: str, env: Env) -> str:
    return template.replace("{site}", str(env.site_packages)).replace("{prefix}", str(env.prefix))


def is_shared_library(path: Path) -> bool:
    """A file named as shared libraries are (``libcudart.so.12``, ``libnvperf_host.so``)."""
    return bool(_SHARED_LIBRARY.search(path.name)) and path.is_file()


def _has_shared_library(folder: Path) -> bool:
    return any(is_shared_library(p) for p in folder.iterdir())


def _recipe_env(lines: Iterable[Any]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for line in lines:
        for name, template in dict(getattr(line, "env", None) or {}).items():
            merged.setdefault(name, template)
    return merged


def _existing(templates: Iterable[str], env: Env) -> list[Path]:
    out: list[Path] = []
    for template in templates:
        for part in _fill(template, env).split(":"):
            folder = Path(part)
            if part and folder.is_absolute() and folder.is_dir() and folder not in out:
                out.append(folder)
    return out


def library_dirs(env: Env, lines: Iterable[Any] = ()) -> tuple[Path, ...]:
    """Folders holding the wheels' shared libraries, found on disk, sorted by path."""
    nvidia = env.site_packages / "nvidia"
    found = [d for d in nvidia.glob("*/lib") if d.is_dir() and _has_shared_library(d)]
    named = _existing([_recipe_env(lines).get("LD_LIBRARY_PATH", "")], env)
    return tuple(sorted(set(found) | set(named)))


def _kind(name: str) -> Kind:
    if name in PATH_LISTS:
        return "path"
    return "flags" if name.endswith("_FLAGS") else "set"


def _split(kind: Kind, value: str) -> tuple[str, ...]:
    if kind == "path":
        return tuple(v for v in value.split(":") if v)
    # flags and plain values stay one element: a filled path may hold spaces
    return (value,) if value else ()


def plan(env: Env, lines: Iterable[Any] = ()) -> tuple[Change, ...]:
    """The changes activation makes for ``env`` and the recipe lines of its frameworks.

    ``lines`` are knowledge recipe lines (e.g. ``TfLine``); their ``env`` templates and ``path``
    templates (``{site}``, ``{prefix}``) are filled in; PATH additions that do not exist are
    left out.
    """
    lines = list(lines)
    changes: list[Change] = []
    dirs = library_dirs(env, lines)
    if dirs:
        changes.append(Change(name="LD_LIBRARY_PATH", kind="path", values=tuple(map(str, dirs))))
    recipe_env = _recipe_env(lines)
    path_templates = [p for line in lines for p in (getattr(line, "path", None) or ())]
    bins = _existing([*path_templates, recipe_env.get("PATH", "")], env)
    if bins:
        changes.append(Change(name="PATH", kind="path", values=tuple(map(str, bins))))
    for name, template in sorted(recipe_env.items()):
        if name in ("PATH", "LD_LIBRARY_PATH"):
            continue
        _check_name(name)
        kind = _kind(name)
        values = _split(kind, _fill(template, env))
        if not values:
            continue
        changes.append(Change(name=name, kind=kind, values=values))
    return tuple(changes)


def _check_name(name: str) -> None:
    from cudaenv.errors import KnowledgeError

    if not _NAME.match(name) or name in _RESERVED or name.startswith("_CUDAENV"):
        raise KnowledgeError(f"a recipe asks activation to set {name!r}, which it may not set")


def variables(
    env: Env, lines: Iterable[Any] | Any = (), base_environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The variables activation sets, with the values they get when ``base_environ`` is the
    environment before activation. Merge with ``{**base, **variables(...)}`` to run a program
    as an activated shell would (VIRTUAL_ENV and the env's bin/ on PATH are the backend's part
    and are not included)."""
    import os

    base = os.environ if base_environ is None else base_environ
    if hasattr(lines, "pins"):
        lines = recipe_lines(lines)
    return {c.name: c.apply(base.get(c.name)) for c in plan(env, lines)}


def recipe_lines(resolution: Any, knowledge: Any = None) -> tuple[Any, ...]:
    """The recipe lines of the frameworks pinned in ``resolution`` (TensorFlow's, today)."""
    if knowledge is None:
        from cudaenv.knowledge import load

        knowledge = load()
    tf = resolution.pin("tensorflow")
    line = knowledge.tf_line(tf.version) if tf is not None else None
    return (line,) if line is not None else ()


def write(env: Env, lines: Sequence[Any] = ()) -> list[Path]:
    """Write the activation scripts for ``env``; return the paths written.

    A venv gets its ``bin/activate``, ``activate.fish`` and ``activate.csh`` replaced by
    cudaenv's (they do the venv's part too, with every path quoted; csh's only says that csh is
    not supported); a conda prefix gets activate.d/deactivate.d.
    """
    from cudaenv.activation import scripts

    if env.is_conda:
        return write_conda(env, lines)
    return scripts.write_venv(env, plan(env, lines))


def write_conda(env: Env | Path, lines: Sequence[Any] = ()) -> list[Path]:
    """Write ``etc/conda/{activate,deactivate}.d/cudaenv.{sh,fish}`` (and csh's notice) into a
    conda prefix."""
    from cudaenv.activation import scripts
    from cudaenv.envs.base import Env

    if not isinstance(env, Env):
        env = Env.from_prefix(env, backend="conda")
    return scripts.write_conda(env, plan(env, lines))
