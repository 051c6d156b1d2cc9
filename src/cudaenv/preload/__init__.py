"""The start-up hook that makes an environment work without activation: its plan and its files.

Activation puts the NVIDIA wheels' lib folders on ``LD_LIBRARY_PATH``, but most Pythons are not
started from an activated shell (an IDE, cron, Slurm, multiprocessing's workers, a Jupyter
kernel, a subprocess with a cleared environment). The hook (:mod:`.hook`, copied into
site-packages with a ``.pth`` line that installs it) loads the same libraries by absolute path
on the first import of a CUDA-using module, dependencies first, so that every later load by
soname gets the environment's copy whatever ``LD_LIBRARY_PATH`` holds, and sets the recipe's
variables (``XLA_FLAGS``, the ptxas folder on ``PATH``) as activation would.

:func:`plan` decides what the hook does, from what is on disk: the libraries are those of the
folders activation puts on ``LD_LIBRARY_PATH`` (:func:`cudaenv.activation.library_dirs`), each
known by its ELF DT_SONAME and loaded after the libraries its DT_NEEDED names
(:mod:`cudaenv.system.elf`), never from a hand-kept list; the variables are activation's own
changes (:func:`cudaenv.activation.plan`) but ``LD_LIBRARY_PATH``; the modules come from the
recipes' ``[preload]`` tables. :func:`write_hook` writes it into any site-packages (a venv or a
conda environment, one cudaenv made or not); ``create`` calls :func:`write`. The lock records
nothing of it: the hook is part of the environment, like its activation scripts.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from cudaenv.activation import Change
    from cudaenv.envs.base import Env
    from cudaenv.knowledge import Knowledge

__all__ = [
    "FILES",
    "HOOK_MODULE",
    "PTH_FILE",
    "Library",
    "Plan",
    "hook_files",
    "load_order",
    "plan",
    "render",
    "write",
    "write_hook",
    "written_by",
]

HOOK_MODULE = "_cudaenv_preload"
PTH_FILE = f"{HOOK_MODULE}.pth"
FILES = (PTH_FILE, f"{HOOK_MODULE}.py")  # what the hook adds to site-packages
# site.py runs a .pth line that starts with "import"; a missing or broken module must never
# stop or clutter an interpreter's start (doctor's probe imports it and shows the error)
PTH_LINE = (
    f'import sys; exec("try:\\n import {HOOK_MODULE} as h\\nexcept Exception:\\n pass\\n'
    f'else:\\n h.install()")\n'
)
_PLAN = re.compile(r"^# --- the plan:.*?^# --- end of the plan ---$", re.S | re.M)
_WRITTEN_BY = re.compile(r'^WRITTEN_BY = "(.*)"$', re.M)


@dataclass(frozen=True, slots=True, kw_only=True)
class Library:
    """One shared library the hook loads: the soname it answers to, its file, its DT_NEEDED."""

    soname: str
    path: Path
    needed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What the hook does: libraries in load order, variables to set, modules that wake it."""

    libraries: tuple[Library, ...]
    changes: tuple[Change, ...]
    modules: frozenset[str]


def _libraries(folders: Iterable[Path]) -> list[Library]:
    """Each shared library with a soname in ``folders``, the first file of each soname kept
    (folders in the order given, files sorted): the copy ``LD_LIBRARY_PATH`` would find."""
    from cudaenv.activation import is_shared_library
    from cudaenv.system.elf import dynamic

    found: dict[str, Library] = {}
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if not is_shared_library(path):
                continue
            info = dynamic(path)
            if info.soname and info.soname not in found:
                found[info.soname] = Library(soname=info.soname, path=path, needed=info.needed)
    return list(found.values())


def load_order(libraries: Iterable[Library]) -> tuple[Library, ...]:
    """``libraries`` ordered so that each comes after those of them its DT_NEEDED names (a
    depth-first walk from each in the order given; a cycle is broken where it closes)."""
    by_soname = {lib.soname: lib for lib in libraries}
    order: list[Library] = []
    seen: set[str] = set()

    def visit(lib: Library) -> None:
        seen.add(lib.soname)
        for name in lib.needed:
            dep = by_soname.get(name)
            if dep is not None and dep.soname not in seen:
                visit(dep)
        order.append(lib)

    for lib in by_soname.values():
        if lib.soname not in seen:
            visit(lib)
    return tuple(order)


def plan(env: Env, lines: Iterable[object] = (), modules: Iterable[str] = ()) -> Plan:
    """The hook's plan for ``env`` and the recipe lines of its frameworks (see the module's
    docstring). Cost: a few small reads of each shared library's ELF headers."""
    from cudaenv import activation

    lines = list(lines)
    folders = activation.library_dirs(env, lines)
    changes = tuple(c for c in activation.plan(env, lines) if c.name != "LD_LIBRARY_PATH")
    return Plan(
        libraries=load_order(_libraries(folders)), changes=changes, modules=frozenset(modules)
    )


def _literal(values: Iterable[str]) -> str:
    return "(" + "".join(f"{v!r}, " for v in values).rstrip(" ") + ")"


def _plan_block(site_packages: Path, plan: Plan) -> str:
    from cudaenv import __version__

    site = str(site_packages)
    libraries = "".join(
        f"    ({lib.soname!r}, {os.path.relpath(lib.path, site)!r}),\n" for lib in plan.libraries
    )
    changes = "".join(
        f"    ({c.name!r}, {c.kind!r}, {_literal(v.replace(site, '{site}') for v in c.values)}),\n"
        for c in plan.changes
    )
    return (
        "# --- the plan: filled in by cudaenv (cudaenv.preload.write_hook) ---\n"
        f'WRITTEN_BY = "cudaenv {__version__}"\n'
        f'MODULES: "frozenset[str]" = frozenset({_literal(sorted(plan.modules))})\n'
        f'LIBRARIES: "tuple[tuple[str, str], ...]" = (\n{libraries})\n'
        f'CHANGES: "tuple[tuple[str, str, tuple[str, ...]], ...]" = (\n{changes})\n'
        "# --- end of the plan ---"
    )


def render(site_packages: Path, plan: Plan) -> str:
    """The hook module's text for ``site_packages``: :mod:`.hook` with the plan filled in
    (library paths relative to site-packages, so a moved or packed environment keeps them)."""
    source = resources.files(__package__).joinpath("hook.py").read_text(encoding="utf-8")
    block = _plan_block(site_packages, plan)
    return _PLAN.sub(lambda _: block, source, count=1)


def _replace(path: Path, text: str) -> Path:
    """Write ``path`` in one rename, so no starting Python ever reads half a file."""
    tmp = path.with_name(f".{path.name}.cudaenv-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def _compile(python: Path, module: Path) -> None:
    """Compile ``module`` with the environment's own ``python`` (its bytecode is that
    version's), so that no start compiles it: an environment that cannot write bytecode
    (read-only, ``PYTHONDONTWRITEBYTECODE``) would otherwise do it at every start. Only a
    saving: a failure leaves the source, which works."""
    from cudaenv.system import process

    code = "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        process.run([str(python), "-I", "-S", "-c", code, str(module)], timeout=60)


def write_hook(site_packages: Path, plan: Plan, *, python: Path | None = None) -> list[Path]:
    """Write the hook into ``site_packages`` (any venv's or conda environment's), replacing
    one there; return the files written. The module goes first (compiled by ``python``, the
    environment's interpreter, when given), the ``.pth`` line that installs it last; a stale
    compiled copy of an older module is removed."""
    for stale in (site_packages / "__pycache__").glob(f"{HOOK_MODULE}.*.pyc"):
        stale.unlink(missing_ok=True)
    module = _replace(site_packages / f"{HOOK_MODULE}.py", render(site_packages, plan))
    if python is not None:
        _compile(python, module)
    return [module, _replace(site_packages / PTH_FILE, PTH_LINE)]


def write(env: Env, lines: Iterable[object] = (), knowledge: Knowledge | None = None) -> list[Path]:
    """Write the hook for ``env`` (``create`` calls this after activation's scripts);
    ``knowledge`` (default: the packaged recipes) names the modules that wake it."""
    if knowledge is None:
        from cudaenv.knowledge import load

        knowledge = load()
    hook_plan = plan(env, lines, knowledge.preload_modules)
    return write_hook(env.site_packages, hook_plan, python=env.python)


def hook_files(site_packages: Path) -> tuple[Path, ...]:
    """The hook's files present in ``site_packages`` (its compiled copies included)."""
    found = [site_packages / name for name in FILES if (site_packages / name).is_file()]
    return (*found, *sorted((site_packages / "__pycache__").glob(f"{HOOK_MODULE}.*.pyc")))


def written_by(site_packages: Path) -> str | None:
    """ "cudaenv X" when a complete hook is in ``site_packages``, else None (read, not run)."""
    names: Mapping[str, Path] = {name: site_packages / name for name in FILES}
    if not all(p.is_file() for p in names.values()):
        return None
    match = _WRITTEN_BY.search(names[f"{HOOK_MODULE}.py"].read_text(errors="replace"))
    return match.group(1) if match and match.group(1) else None
