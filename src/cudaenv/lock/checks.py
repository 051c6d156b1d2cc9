"""Is a lock still good? Against this machine (:func:`check_machine`) and the index and recipes
(:func:`check_index`).

A lock is made for a target and a driver floor, maybe on another machine. Before installing, the
driver must reach the floor, the environment's Python must be the target's, and the machine's
glibc must be at least the target manylinux's. No driver at all is allowed (CPU-only use is
legitimate; a lock is often made on a laptop for a GPU server): that comes back as a warning.
``check_index`` re-reads the index pages, so it costs one page request per pinned project.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from packaging.version import Version

from cudaenv.errors import CudaenvError, LockError, Remedy
from cudaenv.request import Target, host_platform

if TYPE_CHECKING:
    from collections.abc import Callable

    from cudaenv.index import Index
    from cudaenv.knowledge import Knowledge
    from cudaenv.machine import Machine
    from cudaenv.resolution import Pin, Resolution

__all__ = ["LockMismatchError", "check_given", "check_index", "check_machine"]

_FLAGS = {"tensorflow": "--tf", "torch": "--torch", "jax": "--jax", "spacy": "--spacy"}


class LockMismatchError(LockError):
    """The lock is valid, but not for this machine or this environment."""

    reference = "lock-machine-mismatch"


def check_machine(
    resolution: Resolution,
    machine: Machine,
    *,
    python: Version | None = None,
    platform: str | None = None,
    knowledge: Knowledge | None = None,
) -> tuple[str, ...]:
    """Raise LockMismatchError if ``machine`` cannot run the lock; return warnings.

    ``python`` is the environment's interpreter version (checked when given); ``platform`` is the
    machine's manylinux tag (default: this host's, from its glibc). ``knowledge`` (loaded only
    on the error path if not given) names the newest TensorFlow line this driver can run.
    """
    _check_platform(resolution, platform or host_platform())
    if python is not None:
        _check_python(resolution.target, python)
    return _check_driver(resolution, machine, knowledge)


def check_given(
    resolution: Resolution,
    *,
    machine: Machine | None = None,
    python: Version | None = None,
    platform: str | None = None,
    knowledge: Knowledge | None = None,
) -> list[str]:
    """What the lock cannot do for the driver (``machine``), Python or platform a user gave
    (``lock --check --driver/--cuda/--python/--platform``), as problem lines."""
    steps: list[Callable[[], object]] = []
    if platform is not None:
        steps.append(lambda: _check_platform(resolution, platform))
    if python is not None:
        steps.append(lambda: _check_python(resolution.target, python))
    if machine is not None:
        steps.append(lambda: _check_driver(resolution, machine, knowledge))
    problems = []
    for step in steps:
        try:
            step()
        except LockMismatchError as e:
            problems.append(e.message)
    return problems


def _check_python(target: Target, python: Version) -> None:
    have = Version(".".join(str(p) for p in python.release[:2]))
    if have != target.python:
        raise LockMismatchError(
            f"this lock is for Python {target.python}; the environment's Python is {have}",
            hint=f"create the environment with --python {target.python}, or make a lock for "
            f"Python {have} with `cudaenv lock --python {have} …`",
        )


def _check_platform(resolution: Resolution, machine_platform: str) -> None:
    target = resolution.target
    here = Target(python=target.python, platform=machine_platform)
    if here.arch == target.arch and here.glibc >= target.glibc:
        return
    need, have = ".".join(map(str, target.glibc)), ".".join(map(str, here.glibc))
    raise LockMismatchError(
        f"this lock needs glibc ≥ {need} on {target.arch} (its wheels are {target.platform}); "
        f"this machine has glibc {have} on {here.arch}",
        hint="make a lock for this machine (on any machine) with "
        f"`{_lock_command(resolution, machine_platform)}`",
    )


def _lock_command(resolution: Resolution, platform: str) -> str:
    """``cudaenv lock`` with the lock's own frameworks, Python and index, for ``platform``."""
    flags = [
        f"{_FLAGS.get(f.name, '--' + f.name)} {shlex.quote(f.text)}" for f in resolution.frameworks
    ]
    if (
        resolution.frameworks
        and resolution.stack.min_cuda is None
        and resolution.stack.driver_floor is None
    ):
        flags.append("--cpu")
    flags += [f"--python {resolution.target.python}", f"--platform {platform}"]
    if resolution.index_url:
        flags.append(f"--index-url {shlex.quote(resolution.index_url)}")
    flags.append("-o pylock.toml")
    return "cudaenv lock " + " ".join(flags)


def _check_driver(
    resolution: Resolution, machine: Machine, knowledge: Knowledge | None
) -> tuple[str, ...]:
    floor, min_cuda = resolution.stack.driver_floor, resolution.stack.min_cuda
    if floor is None and min_cuda is None:
        return ()
    needs = _needs(resolution)
    if machine.driver_version is None and machine.max_cuda is None:
        return (
            f"no NVIDIA driver detected: this lock needs {needs} to use the GPU; "
            "it installs, and runs on the CPU only",
        )
    driver = machine.driver_version
    too_old = (floor is not None and driver is not None and driver < floor) or (
        min_cuda is not None and machine.max_cuda is not None and machine.max_cuda < min_cuda
    )
    if too_old:
        raise LockMismatchError(
            f"this lock needs {needs}; this machine has {_has(machine)}",
            remedies=_remedies(resolution, machine, knowledge),
        )
    return ()


def _needs(resolution: Resolution) -> str:
    out = "NVIDIA driver"
    if resolution.stack.driver_floor is not None:
        out += f" ≥ {resolution.stack.driver_floor}"
    if resolution.stack.min_cuda is not None:
        out += f" (CUDA ≥ {resolution.stack.min_cuda})"
    return out


def _has(machine: Machine) -> str:
    cuda = f"CUDA {machine.max_cuda}" if machine.max_cuda is not None else "max CUDA unknown"
    return f"{machine.driver_version} ({cuda})" if machine.driver_version else cuda


def _remedies(
    resolution: Resolution, machine: Machine, knowledge: Knowledge | None
) -> tuple[Remedy, ...]:
    """Upgrade the driver (``--driver FLOOR`` checks the lock against it), or make a lock for
    this machine: the same frameworks with the newest TensorFlow line its driver runs."""
    out = []
    if resolution.stack.driver_floor is not None:
        floor = str(resolution.stack.driver_floor)
        out.append(
            Remedy(
                text=f"upgrade the driver to ≥ {floor} (--driver {floor} checks the lock "
                "against it)",
                options=(("--driver", floor),),
            )
        )
    relock = _relock(resolution, machine, knowledge)
    if relock is not None:
        out.append(
            Remedy.run(
                relock,
                text=f"make a lock for this machine: `{shlex.join(relock)}`, then create from it",
            )
        )
    return tuple(out)


def _relock(
    resolution: Resolution, machine: Machine, knowledge: Knowledge | None
) -> tuple[str, ...] | None:
    """``cudaenv lock`` for the lock's frameworks, target and index on this machine."""
    from cudaenv.index import DEFAULT_INDEX_URL

    argv = ["cudaenv", "lock"]
    for f in resolution.frameworks:
        if f.name == "tensorflow":
            line = _newest_tf(resolution, machine, knowledge)
            if line is None:
                return None
            argv += ["--tf", line]
        else:
            argv += [_FLAGS.get(f.name, "--" + f.name), f.text]
    target = resolution.target
    argv += ["--python", str(target.python), "--platform", target.platform]
    if resolution.index_url and resolution.index_url.rstrip("/") != DEFAULT_INDEX_URL.rstrip("/"):
        argv += ["--index-url", resolution.index_url]
    if machine.source == "override":  # resolve for the machine the user named, as they did
        given = ("--driver", str(machine.driver_version)) if machine.driver_version else None
        given = given or (("--cuda", str(machine.max_cuda)) if machine.max_cuda else None)
        argv += list(given or ())
    return (*argv, "-o", "pylock.toml")


def _newest_tf(resolution: Resolution, machine: Machine, knowledge: Knowledge | None) -> str | None:
    """The newest released TensorFlow line this machine's driver and the target Python run,
    beside the lock's other frameworks (none for a driver too old for every CUDA)."""
    if machine.too_old:
        return None
    if knowledge is None:
        try:
            from cudaenv.knowledge import load

            knowledge = load()
        except CudaenvError:
            return None
    from cudaenv.request import Request
    from cudaenv.solver.rules.alternatives import newest_tf

    request = Request(frameworks=resolution.frameworks, target=resolution.target)
    line = newest_tf(knowledge, request, {}, max_cuda=machine.max_cuda)
    return None if line is None else str(line)


def check_index(resolution: Resolution, index: Index, knowledge: Knowledge) -> list[str]:
    """What changed since the lock was made: files gone or re-hashed, releases now known bad.

    Cost: one index page per pinned project (the index client caches them).
    """
    python = resolution.target.python
    problems = [p for pin in resolution.pins for p in _index_problems(pin, index)]
    problems += [p for pin in resolution.pins for p in _recipe_problems(pin, knowledge, python)]
    return problems + _floor_problems(resolution, knowledge)


def _index_problems(pin: Pin, index: Index) -> list[str]:
    from cudaenv.index import ProjectNotFound  # loaded already: ``index`` is an Index

    try:
        links = [link for link in index.project(pin.name) if link.filename == pin.wheel.filename]
    except ProjectNotFound:
        links = []
    if not links:
        return [f"{pin.name} {pin.version}: {pin.wheel.filename} is no longer on the index"]
    link = links[0]
    out = []
    if link.sha256 != pin.wheel.sha256:
        out.append(
            f"{pin.name} {pin.version}: {pin.wheel.filename} changed on the index: sha256 is "
            f"now {link.sha256 or 'not given'}, the lock has {pin.wheel.sha256}"
        )
    if link.yanked is not None:  # None: not yanked; "": yanked without a reason
        reason = f": {link.yanked}" if link.yanked else ""
        out.append(f"{pin.name} {pin.version}: {pin.wheel.filename} was yanked{reason}")
    return out


def _recipe_problems(pin: Pin, knowledge: Knowledge, python: Version) -> list[str]:
    reasons = [knowledge.excluded(pin.name, pin.version)]
    if pin.name == "tensorflow":
        line = knowledge.tf_line(pin.version)
        reasons.append(line.bad_reason(pin.version, python) if line is not None else None)
    unique = dict.fromkeys(r for r in reasons if r)
    return [f"{pin.name} {pin.version} is now listed as bad: {r}" for r in unique]


def _floor_problems(resolution: Resolution, knowledge: Knowledge) -> list[str]:
    """The recipes now ask more of the driver than the lock says (a lower floor is harmless)."""
    if resolution.stack.min_cuda is None or resolution.stack.driver_floor is None:
        return []
    floor = knowledge.min_driver_for(resolution.stack.min_cuda)
    if floor is None or floor <= resolution.stack.driver_floor:
        return []
    return [
        f"the recipes now need driver ≥ {floor} for CUDA {resolution.stack.min_cuda}; "
        f"the lock says ≥ {resolution.stack.driver_floor}"
    ]
