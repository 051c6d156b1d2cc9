"""The frameworks ``fix`` keeps, and what it does when the driver cannot run one.

Each installed framework (TensorFlow, PyTorch, JAX, spaCy) is held at its release: the solve
asks for exactly it. A driver older than a framework's CUDA build needs (the ``__cuda`` floor
of its recipe line) cannot be fixed by wheels, and changing the framework is not fix's to do
unasked: it refuses, naming the driver to install and, where the recipes know one, the newest
line of the framework this driver runs. ``--allow-framework-change`` takes that line instead;
the packages only the framework needed (its own dependencies, by the installed METADATA, that
nothing else installed requires) are then freed to move with it.

spaCy never blocks: its CuPy build follows the driver (a CUDA 11 CuPy runs on a CUDA 11
driver), and CuPy is one of the packages fix may change anyway.
"""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv.errors import FixError, Remedy

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from packaging.utils import NormalizedName

    from cudaenv.fix.installed import Dist
    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine

__all__ = [
    "ALLOW",
    "FLAGS",
    "LABELS",
    "check_located",
    "closure",
    "exclusive",
    "installed",
    "remake",
    "specifiers",
]

ALLOW = "--allow-framework-change"
LABELS = {"tensorflow": "TensorFlow", "torch": "PyTorch", "jax": "JAX", "spacy": "spaCy"}
FLAGS = {"tensorflow": "--tf", "torch": "--torch", "jax": "--jax", "spacy": "--spacy"}


def remake(prefix: Path, frameworks: Mapping[str, SpecifierSet], python: Version) -> Remedy:
    """``cudaenv create`` of the same frameworks' lines, for this Python, beside ``prefix``:
    the way out where no CUDA stack fits what an environment holds."""
    flags = []
    for name, spec in frameworks.items():
        version = Version(next(iter(spec)).version.removesuffix(".*"))
        flags += [FLAGS[name], f"{version.major}.{version.minor}"]
    where = f"{prefix}-cudaenv"
    create = ("cudaenv", "create", *flags, "--python", f"{python.major}.{python.minor}")
    return Remedy.run((*create, "-p", where))


def installed(dists: Iterable[Dist]) -> dict[str, Version]:
    """The frameworks among ``dists``, name -> release, in the solver's order."""
    found: dict[str, Version] = {d.name: d.version for d in dists if d.name in LABELS}
    return {name: found[name] for name in LABELS if name in found}


def _floor(name: str, version: Version, knowledge: Knowledge) -> Version | None:
    """The lowest max CUDA a driver must report for this release's CUDA build (None: the
    recipes do not say, or the framework follows the driver)."""
    if name == "tensorflow":
        tf = knowledge.tf_line(version)
        return tf.min_cuda if tf is not None else None
    if name == "torch":
        torch = knowledge.torch_line(version)
        ours = torch is not None and platform.machine() in torch.gpu_machines
        return torch.min_cuda if torch is not None and ours else None
    if name == "jax":
        jax = knowledge.jax_line(version)
        return Version(f"{jax.cuda_majors[0]}.0") if jax is not None and jax.extras else None
    return None


def _runs(name: str, max_cuda: Version, python: Version, knowledge: Knowledge) -> Version | None:
    """The newest line of framework ``name`` a driver of ``max_cuda`` runs on ``python``."""
    if name == "tensorflow":
        tf = knowledge.newest_tf_line_for(max_cuda, python)
        return tf.line if tf is not None else None
    if name == "torch":
        lines = [t.line for t in knowledge.torch_lines_for(max_cuda) if t.python.contains(python)]
        return max(lines, default=None)
    if name == "jax":
        found = [j.line for j in knowledge.jax_lines_for(max_cuda) if j.python.contains(python)]
        return max(found, default=None)
    return None


def specifiers(
    frameworks: Mapping[str, Version],
    machine: Machine,
    knowledge: Knowledge,
    python: Version,
    *,
    allow_change: bool,
) -> dict[str, SpecifierSet]:
    """What the solve asks of each framework: its installed release, or with ``allow_change``
    the newest line the driver runs where it cannot run that release; FixError otherwise."""
    floors = {n: f for n, v in frameworks.items() if (f := _floor(n, v, knowledge)) is not None}
    max_cuda = machine.max_cuda
    if max_cuda is None:
        raise _no_driver(machine, frameworks, floors, knowledge)
    out = {name: SpecifierSet(f"=={version}") for name, version in frameworks.items()}
    blocked = {n: f for n, f in floors.items() if f > max_cuda}
    lines = {n: _runs(n, max_cuda, python, knowledge) for n in blocked}
    if blocked and not (allow_change and all(lines.values())):
        raise _too_old(machine, frameworks, blocked, lines, knowledge, allow_change)
    for name, line in lines.items():
        out[name] = SpecifierSet(f"=={line}.*")
    return out


def _needs(
    frameworks: Mapping[str, Version], floors: Mapping[str, Version], knowledge: Knowledge
) -> tuple[str, str | None]:
    """("TensorFlow 2.15.1 needs CUDA >= 12.0", the lowest driver for all of them)."""
    said = "; ".join(f"{LABELS[n]} {frameworks[n]} needs CUDA >= {f}" for n, f in floors.items())
    top = max(floors.values(), default=None)
    driver = knowledge.min_driver_for(top) if top is not None else None
    return said, str(driver) if driver is not None else None


def _no_driver(
    machine: Machine,
    frameworks: Mapping[str, Version],
    floors: Mapping[str, Version],
    knowledge: Knowledge,
) -> FixError:
    said, driver = _needs(frameworks, floors, knowledge)
    what = (
        f"the NVIDIA driver {machine.driver_version} is older than every CUDA release cudaenv knows"
        if machine.too_old
        else "no NVIDIA driver was found"
    )
    newest = max(knowledge.floors, key=lambda f: f.cuda_major, default=None)
    value = driver or (str(newest.driver) if newest is not None else "")
    return FixError(
        f"{what}, so fix cannot tell which CUDA stack this machine runs"
        + (f" ({said})" if said else ""),
        hint=f"run it on the GPU machine, or name the driver that will run it: --driver {value}",
        remedies=(Remedy.use(("--driver", value)),) if value else (),
    )


def _too_old(
    machine: Machine,
    frameworks: Mapping[str, Version],
    blocked: Mapping[str, Version],
    lines: Mapping[str, Version | None],
    knowledge: Knowledge,
    allowed: bool,
) -> FixError:
    said, driver = _needs(frameworks, blocked, knowledge)
    runs = [f"{LABELS[n]} {line}" for n, line in lines.items() if line is not None]
    remedies = (Remedy.use((ALLOW, None)),) if runs and not allowed else ()
    upgrade = f"install NVIDIA driver >= {driver}" if driver else "upgrade the NVIDIA driver"
    hint = upgrade + (
        f", or let fix move to {', '.join(runs)} (the newest this driver runs): add {ALLOW}"
        if remedies
        else ""
    )
    return FixError(
        f"{said}, and this driver ({machine.driver_version}) supports CUDA <= "
        f"{machine.max_cuda}: no CUDA wheels make it run, and fix changes no framework "
        "unasked; nothing was changed",
        hint=hint,
        remedies=remedies,
    )


def _requires(dists: Iterable[Dist], environment: Mapping[str, str]) -> dict[str, set[str]]:
    return {d.name: {canonicalize_name(r.name) for r in d.needs(environment)} for d in dists}


def closure(
    dists: Iterable[Dist], roots: Iterable[str], environment: Mapping[str, str]
) -> frozenset[NormalizedName]:
    """``roots`` and every installed package they need, by the installed METADATA (markers
    evaluated in ``environment``, no extra)."""
    needs = _requires(dists, environment)
    found: set[NormalizedName] = set()
    todo = [canonicalize_name(r) for r in roots]
    while todo:
        name = todo.pop()
        if name not in found and name in needs:
            found.add(name)
            todo.extend(canonicalize_name(n) for n in needs[name])
    return frozenset(found)


def exclusive(
    dists: Iterable[Dist], roots: Iterable[str], environment: Mapping[str, str]
) -> frozenset[NormalizedName]:
    """``roots`` and what only they need: their installed dependencies that no package
    outside that closure requires."""
    dists = list(dists)
    needs = _requires(dists, environment)
    inside = closure(dists, roots, environment)
    return frozenset(
        n for n in inside if all(n not in deps or who in inside for who, deps in needs.items())
    )


def check_located(
    dists: Iterable[Dist],
    unlocated: Iterable[Dist],
    roots: Iterable[str],
    environment: Mapping[str, str],
) -> None:
    """Refuse, before the solve, a framework that needs an installed release no index has:
    the solve reads every package the frameworks need from an index, at its version."""
    needed = closure(dists, roots, environment)
    missing = [d for d in unlocated if d.name in needed and d.installer != "conda"]
    if missing:
        listed = ", ".join(f"{d.name} {d.version}" for d in missing)
        raise FixError(
            f"the frameworks need {listed}, installed here, but no index fix reads has that "
            "release, so the solve cannot hold it; nothing was changed",
            hint="name the index it came from: --index-url URL or --extra-index-url URL",
        )
