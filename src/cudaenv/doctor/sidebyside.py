"""The doctor's checks of frameworks side by side: their NVIDIA pins, one CUDA stack, one cuDNN.

Each framework states the NVIDIA wheels it was built with in its own METADATA, read here from
the environment's ``*.dist-info`` as installed: PyTorch's requirements, TensorFlow's ``and-cuda``
extra, the ``with-cuda`` extra of JAX's CUDA plugin. :func:`pins` holds each against the wheel
installed: a pin met by a newer release of the same major that an NVIDIA rule allows is
information (cudaenv relaxes pins so, ``constraints/compat_rules.toml``); an older release,
another major or a missing wheel is an error with the command that installs a release that
serves. :func:`stacks` finds two CUDA majors or two cuDNN majors among the wheels: one
environment holds one CUDA stack. :func:`runs` turns what PyTorch and JAX did in the probe into
findings: an import that fails, a problem line they printed, two cuDNNs loaded into one process
when all frameworks ran together (which framework loaded which, by path).
"""

from __future__ import annotations

import platform
import re
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from cudaenv.doctor.facts import Facts, Finding

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from packaging.version import Version

__all__ = ["CHECKS", "declared", "needed_cuda", "pins", "runs", "stacks"]

# framework distribution -> the extra that holds its NVIDIA wheels ("" for none)
_DECLARING = {"torch": "", "tensorflow": "and-cuda"}
_PLUGIN = re.compile(r"^jax-cuda(\d+)-plugin$")
_SUFFIX = re.compile(r"^nvidia-.+-cu(\d+)$")
_LABELS = {"torch": "PyTorch", "tensorflow": "TensorFlow", "jax": "JAX"}


def _dist_info(site: Path, name: str, version: Version) -> Path | None:
    for folder in site.glob("*.dist-info"):
        stem = folder.name[: -len(".dist-info")]
        dist, _, ver = stem.rpartition("-")
        if canonicalize_name(dist) == name and ver == str(version):
            return folder
    return None


def declared(facts: Facts, name: str, extra: str) -> tuple[Requirement, ...]:
    """The NVIDIA wheels installed framework ``name`` declares for this machine and the env's
    Python (with ``extra``), from its installed METADATA; () when it cannot be read."""
    version = facts.dists.get(name)
    folder = _dist_info(facts.env.site_packages, name, version) if version else None
    try:
        text = (folder / "METADATA").read_text(errors="replace") if folder else ""
    except OSError:
        return ()
    python = facts.report.python
    env = {"platform_system": "Linux", "sys_platform": "linux", "os_name": "posix",
           "platform_machine": platform.machine(), "extra": extra,
           "python_version": f"{python.major}.{python.minor}" if python else "3",
           "python_full_version": str(python) if python else "3"}  # fmt: skip
    out = []
    for raw in re.findall(r"^Requires-Dist: (.+)$", text, flags=re.M):
        try:
            req = Requirement(raw.strip())
        except InvalidRequirement:
            continue
        if req.name.startswith("nvidia-") and (req.marker is None or req.marker.evaluate(env)):
            out.append(req)
    return tuple(out)


def _frameworks(facts: Facts) -> Iterator[tuple[str, str, tuple[Requirement, ...]]]:
    """(who, its label, its NVIDIA requirements) for each framework installed."""
    for name, extra in _DECLARING.items():
        if name in facts.dists:
            yield f"{name} {facts.dists[name]}", _LABELS[name], declared(facts, name, extra)
    for name in sorted(facts.dists):
        if _PLUGIN.match(name):
            yield f"{name} {facts.dists[name]}", "JAX", declared(facts, name, "with-cuda")


def needed_cuda(facts: Facts) -> tuple[Version, str] | None:
    """The highest ``__cuda`` floor of the frameworks installed, and whose it is
    (``TensorFlow 2.15``, ``PyTorch 2.11``, ``JAX's jax-cuda13-plugin``)."""
    from packaging.version import Version

    k, found = facts.knowledge, []
    tf = facts.dists.get("tensorflow")
    if tf is not None and (line := k.tf_line(tf)) is not None:
        found.append((line.min_cuda, f"TensorFlow {line.line}"))
    torch = facts.dists.get("torch")
    if torch is not None and (t := k.torch_line(torch)) is not None:
        if platform.machine() in t.gpu_machines:
            found.append((t.min_cuda, f"PyTorch {t.line}"))
    for name in facts.dists:
        if (m := _PLUGIN.match(name)) is not None:
            found.append((Version(f"{m.group(1)}.0"), f"JAX's {name}"))
    return max(found, default=None, key=lambda f: f[0])


def pins(facts: Facts) -> list[Finding]:
    """Each framework's NVIDIA requirements against the wheels installed."""
    out: list[Finding] = []
    for who, _label, reqs in _frameworks(facts):
        relaxed = []
        for req in reqs:
            name = canonicalize_name(req.name)
            have = facts.dists.get(name)
            if have is not None and req.specifier.contains(have, prereleases=True):
                continue
            pin = _exact(req)
            rule = facts.knowledge.relaxing_rule(name, pin, have) if pin and have else None
            if rule is not None:
                relaxed.append(f"{name} {have} for =={pin} ({rule.id})")
                continue
            out.append(_unmet(facts, who, req, name, have, pin))
        if relaxed:
            out.append(
                Finding.of(
                    "none",
                    "info",
                    f"{who}'s pins are met by newer releases of the same major, as NVIDIA's "
                    f"compatibility rules allow: {'; '.join(relaxed)}",
                    "nothing to do",
                )
            )
    return out


def _exact(req: Requirement) -> Version | None:
    from packaging.version import InvalidVersion, Version

    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
        return None
    try:
        return Version(specs[0].version)
    except InvalidVersion:
        return None


def _unmet(
    facts: Facts, who: str, req: Requirement, name: str, have: Version | None, pin: Version | None
) -> Finding:
    wanted = f"{name}>={pin},<{pin.major + 1}" if pin is not None else f"{name}{req.specifier}"
    said = f"{who} needs {name}{req.specifier}"
    if pin is not None:
        said += f" (or a newer {pin.major}.x)"
    where = "it is not installed" if have is None else f"the environment has {have}"
    return Finding.command(
        "library-path" if have is None else "version-mismatch",
        "error",
        f"{said}; {where}",
        facts.install_fix(wanted),
    )


def _cuda_majors(facts: Facts) -> dict[int, list[str]]:
    """CUDA major -> the NVIDIA wheels of it installed (-cuNN suffix; CUDA 13's unsuffixed
    toolkit wheels by the CUDA runtime's version)."""
    out: dict[int, list[str]] = {}
    for name, version in sorted(facts.dists.items()):
        m = _SUFFIX.match(name)
        if m:
            out.setdefault(int(m.group(1)), []).append(f"{name} {version}")
        elif name == "nvidia-cuda-runtime":
            out.setdefault(version.major, []).append(f"{name} {version}")
    return out


def _remake(facts: Facts, major: int) -> str | None:
    """``cudaenv create`` of the frameworks installed, each on a line of CUDA ``major`` (its
    own line where that is one), beside this environment; None when one has no such line."""
    import shlex

    from cudaenv.solver.rules.majors import FLAGS, known_lines, majors

    python = facts.report.python
    flags = []
    for name, flag in FLAGS.items():
        version = facts.dists.get(name)
        if version is None:
            continue
        lines = known_lines(facts.knowledge, name)
        own = next((x for x in lines if x.contains(version)), None)
        fits = [
            x.line
            for x in lines
            if major in majors(x) and (python is None or x.python.contains(python))
        ]
        if own is not None and (name == "spacy" or major in majors(own)):
            flags += [flag, str(own.line)]
        elif fits:
            flags += [flag, str(max(fits))]
        else:
            return None
    py = f" --python {python.major}.{python.minor}" if python is not None else ""
    where = shlex.quote(f"{facts.env.prefix}-cudaenv")
    return f"cudaenv create {' '.join(flags)}{py} -p {where}" if flags else None


def stacks(facts: Facts) -> list[Finding]:
    """Two CUDA majors, or two cuDNN majors, in one environment."""
    out = []
    majors = _cuda_majors(facts)
    if len(majors) > 1:
        listed = "; ".join(f"CUDA {m}: {', '.join(w[:3])}" for m, w in sorted(majors.items()))
        remake = _remake(facts, min(majors))
        out.append(
            Finding.command(
                "several-installs",
                "error",
                f"this environment holds the NVIDIA wheels of {len(majors)} CUDA majors "
                f"({listed}): frameworks built for different CUDA majors cannot share one "
                f"environment{'' if remake else '; `cudaenv matrix` shows which lines share one'}",
                remake or "cudaenv matrix",
            )
        )
    cudnn = {f"{n} {v}" for n, v in facts.dists.items() if n.startswith("nvidia-cudnn-")}
    if len({v.split()[1].split(".")[0] for v in cudnn}) > 1:
        out.append(
            Finding.command(
                "several-installs",
                "error",
                f"this environment holds cuDNNs of different majors ({', '.join(sorted(cudnn))}): "
                "a process loads one libcudnn, and a framework built for the other major fails",
                "cudaenv matrix",
            )
        )
    return out


def runs(facts: Facts) -> list[Finding]:
    """What PyTorch and JAX did in the probe, and two cuDNNs in one process."""
    report, out = facts.report, []
    for label, run in (("PyTorch", report.torch), ("JAX", report.jax)):
        if run is None:
            continue
        seen: set[str] = set()
        for line in run.log:
            if line.verdict == "problem" and line.explanation not in seen:
                seen.add(line.explanation)
                out.append(
                    Finding.of(
                        line.cause,
                        "error",
                        f"{label} printed: {line.line.strip()[:200]} — {line.explanation}",
                        line.fix,
                        line.run,
                    )
                )
        if run.error:
            name = "torch" if label == "PyTorch" else "jax"
            reinstall = facts.install_fix("--force-reinstall", f"{name}=={facts.dists.get(name)}")
            out.append(
                Finding.of(
                    "version-mismatch",
                    "error",
                    f"{label} does not import: {run.error}",
                    f"`cudaenv explain -` explains the error pasted into it; or reinstall: "
                    f"{reinstall}",
                    (reinstall,),
                )
            )
    out += [
        Finding.command("several-installs", "error", problem, "cudaenv matrix")
        for problem in report.problems
        if problem.startswith("two cuDNN libraries")
    ]
    return out


CHECKS = (pins, stacks, runs)
