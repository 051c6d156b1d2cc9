"""The doctor's checks: pure functions from what was found to findings, one cause each.

Each check reads :class:`Facts` (the probe's report, the copies of every library on disk, the
machine, the recipes) and returns findings. A finding names one of the five causes
(``version-mismatch``, ``several-installs``, ``driver``, ``library-path``, ``container``; ``none``
for plain information), a severity, a message and a fix: commands that run as written (``run``),
or an action on the machine (install the driver, start the container with GPUs). Nothing here
runs a process or touches the network, so each check is tested on fixture layouts.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import TYPE_CHECKING

from cudaenv.doctor import hook, sidebyside
from cudaenv.doctor.facts import Facts, Finding

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from cudaenv.doctor.facts import Severity
    from cudaenv.smoke.report import LibraryCheck

__all__ = ["CHECKS", "Facts", "Finding", "findings"]

_ORDER = {"error": 0, "warning": 1, "info": 2}
_GPU_FRAMEWORKS = ("tensorflow", "cupy-cuda11x", "cupy-cuda12x", "cupy-cuda13x", "torch", "jax")


def _library(facts: Facts, lib: LibraryCheck) -> list[Finding]:
    places = facts.places.get(lib.soname, ())
    wheel = [p for where, p in places if where == "wheel"]
    if not lib.loaded:
        return [] if wheel else [_not_loaded(facts, lib)]
    if wheel and lib.path is not None and lib.path.resolve() != wheel[0].resolve():
        where = next((w for w, p in places if p.resolve() == lib.path.resolve()), "the system")
        if facts.hook_loads(lib.soname):
            return [_hook_first(lib.soname, lib.path, where, wheel[0])]
        return [
            Finding.command(
                "several-installs",
                "error",
                f"{lib.soname} loads from {lib.path} (found through {where}), not from "
                f"this environment's own copy {wheel[0]}: the other copy comes first",
                facts.path_fix(wheel[0].parent),
            )
        ]
    if len(places) > 1:
        listed = ", ".join(f"{p} ({w})" for w, p in places)
        return [
            Finding.of(
                "several-installs",
                "info",
                f"{lib.soname} exists {len(places)} times: {listed}; {lib.path} is used",
                "nothing to do while the environment's copy comes first",
            )
        ]
    return []


def _hook_first(soname: str, other: Path, where: str, ours: Path) -> Finding:
    return Finding.of(
        "several-installs",
        "info",
        f"{soname} loads by name from {other} (found through {where}), but the environment's "
        f"start-up hook loads its own copy {ours} first, so its frameworks get that one",
        "nothing to do while the start-up hook is on (programs that are not Python get the "
        "other copy)",
    )


def _not_loaded(facts: Facts, lib: LibraryCheck) -> Finding:
    """A library that is nowhere in the env's wheels: another CUDA major, or just missing."""
    severity: Severity = "error" if lib.soname in facts.required else "warning"
    other = _same_library_other_version(facts, lib.soname)
    wheel = facts.wheel_for(lib.soname)
    fix = facts.install_fix(wheel) if wheel else "install the CUDA library that provides it"
    run = (fix,) if wheel else ()
    if other:
        return Finding.of(
            "version-mismatch",
            "error",
            f"{lib.soname} is needed but this environment has {other} instead: "
            "a CUDA major version other than the one the framework was built for",
            fix,
            run,
        )
    return Finding.of(
        "library-path",
        severity,
        f"{lib.soname} is not installed anywhere the loader looks ({lib.error})",
        fix,
        run,
    )


def _same_library_other_version(facts: Facts, soname: str) -> str | None:
    stem = soname.split(".so")[0] + ".so."
    folders = facts.env.site_packages.glob("nvidia/*/lib")
    found = sorted(p.name for d in folders for p in d.glob(f"{stem}*") if p.name != soname)
    return found[0] if found else None


def _off_path(facts: Facts) -> list[Finding]:
    """Libraries in the env's wheels that do not load by name, one finding per severity."""
    groups: dict[Severity, list[tuple[str, Path]]] = {}
    for lib in facts.report.libraries:
        wheel = [p for where, p in facts.places.get(lib.soname, ()) if where == "wheel"]
        if lib.loaded or not wheel:
            continue
        folder = wheel[0].parent
        if facts.hook_loads(lib.soname):
            continue  # loaded by path before any framework asks: see the hook's finding
        if os.path.realpath(folder) in facts.runpath_dirs:
            severity: Severity = "info"
        else:
            severity = "error" if lib.soname in facts.required else "warning"
        groups.setdefault(severity, []).append((lib.soname, folder))
    out = []
    for severity, found in groups.items():
        names = ", ".join(name for name, _ in found)
        folders = list(dict.fromkeys(folder for _, folder in found))
        where = "" if len(folders) > 1 else f" ({folders[0]})"
        why = _OFF_PATH[severity]
        out.append(
            Finding.command(
                "library-path", severity, f"{names}{where}: {why}", facts.path_fix(*folders)
            )
        )
    return out


_OFF_PATH = {
    "error": "installed in this environment but not on the library path, so the framework that "
    "needs it cannot load it by name",
    "warning": "installed in this environment but not on the library path, so loading by name "
    "fails",
    "info": "not on the library path; TensorFlow finds these through its own RUNPATH, other "
    "programs (CuPy <= 13, a second framework) do not",
}


def libraries(facts: Facts) -> list[Finding]:
    found = [f for lib in facts.report.libraries for f in _library(facts, lib)]
    return _off_path(facts) + found


def _needs_gpu(facts: Facts) -> bool:
    return any(name in facts.dists for name in _GPU_FRAMEWORKS)


def driver(facts: Facts) -> list[Finding]:
    drv, line, k = facts.report.driver, facts.tf_line, facts.knowledge
    needed = sidebyside.needed_cuda(facts)  # over every framework installed
    need, who = needed if needed is not None else (None, "")
    floor = k.min_driver_for(need) if need is not None else None
    at_least = f" >= {floor}" if floor else ""
    severity: Severity = "error" if _needs_gpu(facts) else "warning"
    container = facts.machine.container
    if not drv.loaded and container:
        return [
            Finding.of(
                "container",
                severity,
                "; ".join(container),
                "add `--gpus all` to the `docker run` that starts this container (the NVIDIA "
                "Container Toolkit must be installed on the host)",
            )
        ]
    if not drv.loaded:
        return [
            Finding.of(
                "driver",
                severity,
                drv.reason() or "",
                f"install the NVIDIA driver{at_least}; `nvidia-smi` must work",
            )
        ]
    if drv.init:
        return [
            Finding.of(
                "driver",
                "error",
                drv.reason() or "",
                "`nvidia-smi`; reload or reinstall the driver",
            )
        ]
    if need is not None and drv.max_cuda is not None and drv.max_cuda < need:
        older = k.newest_tf_line_for(drv.max_cuda, facts.report.python) if line else None
        create = facts.create_fix(str(older.line)) if older is not None else None
        alt = f", or make an environment this driver runs: `{create}`" if create else ""
        return [
            Finding.of(
                "driver",
                "error",
                f"the driver supports CUDA <= {drv.max_cuda}; {who} needs CUDA >= {need}",
                f"upgrade the NVIDIA driver to{at_least}{alt}",
                (create,) if create else (),
            )
        ]
    return []


def _cuda_major_wheels(dists: Iterable[str]) -> set[int]:
    found = (re.fullmatch(r"nvidia-cuda-runtime-cu(\d+)", name) for name in dists)
    return {int(m.group(1)) for m in found if m}


def versions(facts: Facts) -> list[Finding]:
    """TensorFlow's CUDA/cuDNN against the NVIDIA wheels, and the recipe's constraints."""
    tf, line = facts.report.tensorflow, facts.tf_line
    out: list[Finding] = []
    if line is None:
        return out
    cuda = (tf.cuda if tf else None) or line.cuda
    majors = _cuda_major_wheels(facts.dists)
    if majors and cuda.major not in majors:
        repair, create = facts.repair_fix(), facts.create_fix(str(line.line))
        out.append(
            Finding.of(
                "version-mismatch",
                "error",
                f"TensorFlow {line.line} was built for CUDA {cuda} but the "
                f"environment's CUDA runtime wheels are for CUDA "
                f"{', '.join(map(str, sorted(majors)))}",
                f"repair this environment in place: `{repair}` (`--dry-run` shows the plan "
                f"first), or make a new one beside it: `{create}`",
                (repair,),  # one shell runs all of `run`: the new env is the alternative
            )
        )
    cudnn = (tf.cudnn if tf else None) or line.cudnn
    for name, have in facts.dists.items():
        if name.startswith("nvidia-cudnn-cu") and (
            have.major != cudnn.major or have.release[:2] < cudnn.release[:2]
        ):
            out.append(
                Finding.command(
                    "version-mismatch",
                    "error",
                    f"TensorFlow {line.line} was built with cuDNN {cudnn}; "
                    f"{name} {have} needs the same major and an equal or newer minor",
                    facts.install_fix(f"{name}>={cudnn},<{cudnn.major + 1}"),
                )
            )
    for req in line.constraints:
        installed = facts.dists.get(req.name)
        if installed is not None and not req.specifier.contains(installed, prereleases=True):
            out.append(
                Finding.command(
                    "version-mismatch",
                    "error",
                    f"TensorFlow {line.line} needs {req}; "
                    f"the environment has {req.name} {installed}",
                    facts.install_fix(str(req)),
                )
            )
    return out


def activation(facts: Facts) -> list[Finding]:
    lock = facts.env.prefix / "pylock.toml"
    made = f"; locked in {lock}" if lock.is_file() else ""
    activate = facts.activate_command()
    if activate is not None:
        return [
            Finding.of(
                "none",
                "info",
                f"cudaenv's activation is installed ({facts.activation}){made}",
                f"activate the environment before use: `{activate}`",
                (activate,),
            )
        ]
    folders = sorted(facts.env.site_packages.glob("nvidia/*/lib"))
    if not folders:
        return []
    fix = facts.path_fix(*folders)
    if lock.is_file():  # cudaenv's own lock: a new environment from it gets the activation
        where = shlex.quote(f"{facts.env.prefix}-cudaenv")
        fix = f"cudaenv create --from {shlex.quote(str(lock))} -p {where}"
    return [
        Finding.command(
            "library-path",
            "info",
            "this environment has NVIDIA wheels but not cudaenv's activation:"
            " nothing puts their lib folders on LD_LIBRARY_PATH",
            fix,
        )
    ]


def framework_log(facts: Facts) -> list[Finding]:
    """Problems TensorFlow itself printed while the probe imported it, each once."""
    tf, out, seen = facts.report.tensorflow, [], set()
    for line in tf.log if tf else ():
        covered = line.cause in ("driver", "container") and not facts.report.driver.loaded
        if line.verdict == "problem" and line.explanation not in seen and not covered:
            seen.add(line.explanation)
            out.append(
                Finding.of(
                    line.cause,
                    "error",
                    f"TensorFlow printed: {line.line.strip()[:200]} — {line.explanation}",
                    line.fix,
                    line.run,
                )
            )
    if tf and tf.error:
        reinstall = facts.install_fix("--force-reinstall", "tensorflow")
        out.append(
            Finding.of(
                "version-mismatch",
                "error",
                f"TensorFlow does not import: {tf.error}",
                f"`cudaenv explain -` explains the error pasted into it; or reinstall: {reinstall}",
                (reinstall,),
            )
        )
    return out


CHECKS: tuple[Callable[[Facts], list[Finding]], ...] = (
    driver,
    libraries,
    versions,
    framework_log,
    *sidebyside.CHECKS,  # PyTorch, JAX and TensorFlow beside each other
    hook.preload,  # the start-up hook: present, what it loaded, what came first
    activation,
)


def findings(facts: Facts) -> tuple[Finding, ...]:
    """All findings, errors first (stable within a severity)."""
    found = [f for check in CHECKS for f in check(facts)]
    return tuple(sorted(found, key=lambda f: _ORDER[f.severity]))
