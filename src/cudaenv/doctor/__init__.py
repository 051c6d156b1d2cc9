"""Diagnose any Python environment: why its frameworks do or do not use the GPU.

``diagnose`` runs the smoke probe (the same script, one probe for two users) with the
environment as it is, *not* activated, and reads the file system around it. An environment
cudaenv made (it carries cudaenv's marker) that is not the active one is judged as its
activation sets it up instead (:func:`cudaenv.smoke.activated_environ`, what ``smoke`` and
``cudaenv run`` use), and the diagnosis says so: it is made to be used activated, and "does not
load" of every library, seconds after ``create``'s smoke test loaded them, would be no help.
Around the environment it reads where each CUDA library the frameworks load sits (the env's
NVIDIA wheels, ``LD_LIBRARY_PATH``, the ldconfig cache, ``/usr/local/cuda*``), which copy the
loader picks, the driver against what the stack needs (``cudaenv.machine.detect`` and the
knowledge base's floors), container hints, whether cudaenv's activation is there, and which
folders TensorFlow's own RUNPATH covers (:mod:`.elf`), and whether the start-up hook is
there and what it loads (:mod:`cudaenv.preload.probe`).
Each finding names one of the five causes and a fix that is a command. The checks themselves
are pure functions of those facts (:mod:`.checks`), so they are tested on fixture layouts
without a GPU. ``explain_log`` classifies pasted log text.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cudaenv.doctor.checks import findings
from cudaenv.doctor.facts import Facts, Finding
from cudaenv.errors import EnvError
from cudaenv.preload.probe import HookReport
from cudaenv.preload.probe import probe as preload_probe
from cudaenv.system.elf import search_dirs

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from cudaenv.envs.base import Env
    from cudaenv.knowledge import Knowledge
    from cudaenv.knowledge.loglines import LogLine
    from cudaenv.machine import Machine
    from cudaenv.smoke.report import SmokeReport

__all__ = [
    "Diagnosis",
    "copies",
    "diagnose",
    "env_for_python",
    "explain_log",
    "ldconfig_cache",
]

_VERB = {"doctor": "diagnoses", "smoke": "tests"}
TOOLKIT_GLOBS = ("/usr/local/cuda*/lib64", "/usr/local/cuda*/targets/*/lib")
_TF_LIBRARIES = "tensorflow/libtensorflow_*.so.2"  # framework and cc: the RUNPATH carriers


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnosis:
    """What ``cudaenv doctor`` found in one environment."""

    prefix: Path
    python: Path
    report: SmokeReport
    places: Mapping[str, tuple[tuple[str, Path], ...]]  # soname -> (where, path) copies
    findings: tuple[Finding, ...]
    as_activated: bool = False  # probed under its activation (a cudaenv environment, inactive)
    hook: HookReport | None = None  # the start-up hook, and what it loaded in a probe

    @property
    def worst(self) -> str:
        order = ("error", "warning", "info")
        return next((s for s in order if any(f.severity == s for f in self.findings)), "ok")

    def to_json(self) -> dict[str, Any]:
        report = self.report.to_json()
        return {
            "prefix": str(self.prefix),
            "python": str(self.python),
            "frameworks": report["distributions"],
            "tensorflow": report["tensorflow"],
            "torch": report["torch"],
            "jax": report["jax"],
            "together": report["together"],
            "driver": report["driver"],
            "libraries": [
                {
                    **lib,
                    "copies": [
                        {"where": w, "path": str(p)} for w, p in self.places.get(lib["soname"], ())
                    ],
                }
                for lib in report["libraries"]
            ],
            "preload": self.hook.to_json() if self.hook is not None else None,
            "findings": [f.to_json() for f in self.findings],
            "worst": self.worst,
            "as_activated": self.as_activated,
        }


def env_for_python(python: Path, *, command: str = "doctor") -> Env:
    """The environment a bare interpreter belongs to (its prefix and site-packages);
    ``command`` (``doctor``, ``smoke``) names the hints' command when it is refused."""
    from cudaenv.doctor.elsewhere import MIN_PYTHON, python_version, remedies
    from cudaenv.envs.base import Env

    version = python_version(python)
    if version is None or version < MIN_PYTHON:
        what = (
            "not a Python interpreter" if version is None else f"Python {version[0]}.{version[1]}"
        )
        raise EnvError(
            f"{python} is {what}: cudaenv {_VERB.get(command, 'diagnoses')} an environment by "
            "running its own Python, "
            f"which must be {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer",
            remedies=remedies(command, skip=python),
        )
    code = "import json,site,sys;print(json.dumps([sys.prefix,site.getsitepackages()]))"
    try:
        out = subprocess.run(
            [str(python), "-c", code], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        prefix, sites = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        raise EnvError(
            f"{python} runs but does not say where its environment is",
            remedies=remedies(command, skip=python),
        ) from e
    site = next((Path(s) for s in sites if s.endswith("site-packages")), Path(sites[0]))
    backend = "conda" if (Path(prefix) / "conda-meta").is_dir() else "venv"
    return Env(prefix=Path(prefix), python=python, site_packages=site, backend=backend)


def ldconfig_cache() -> dict[str, tuple[Path, ...]]:
    """soname -> paths in the dynamic loader's cache (``ldconfig -p``); empty when unavailable."""
    found: dict[str, list[Path]] = {}
    for tool in ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            out = subprocess.run(
                [tool, "-p"], capture_output=True, text=True, timeout=30, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for row in out.splitlines()[1:]:
            name, _, path = row.strip().partition(" => ")
            if path:
                found.setdefault(name.split(" (")[0], []).append(Path(path))
        break
    return {k: tuple(v) for k, v in found.items()}


def copies(
    soname: str,
    env: Env,
    environ: Mapping[str, str],
    cache: Mapping[str, Sequence[Path]],
    toolkit_globs: Sequence[str] = TOOLKIT_GLOBS,
) -> tuple[tuple[str, Path], ...]:
    """Every copy of ``soname`` a loader or a user could reach, each with where it was found."""
    candidates: list[tuple[str, Path]] = [
        ("wheel", p) for p in sorted(env.site_packages.glob(f"nvidia/*/lib/{soname}"))
    ]
    for folder in (environ.get("LD_LIBRARY_PATH") or "").split(":"):
        if folder:
            candidates.append(("LD_LIBRARY_PATH", Path(folder) / soname))
    candidates += [("ldconfig", p) for p in cache.get(soname, ())]
    for pattern in toolkit_globs:
        root = Path(pattern.split("*")[0]).parent
        rest = pattern[len(str(root)) + 1 :]
        candidates += [("cuda-toolkit", d / soname) for d in sorted(root.glob(rest))]
    out: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    for where, path in candidates:
        if path.exists() and (real := path.resolve()) not in seen:
            seen.add(real)
            out.append((where, path))
    return tuple(out)


def diagnose(
    env: Env,
    *,
    environ: Mapping[str, str] | None = None,
    machine: Machine | None = None,
    knowledge: Knowledge | None = None,
) -> Diagnosis:
    """Probe ``env`` (as it is, or as its activation sets it up: see the module's docstring)
    and judge what stands between it and the GPU.

    ``machine`` and ``knowledge`` default to ``cudaenv.machine.detect()`` and
    ``cudaenv.knowledge.load()``. Cost: one probe run without benchmarks (imports TensorFlow
    and spaCy once each if installed), one run of the start-up hook in the env's Python (if it
    has one), one ``ldconfig -p``.
    """
    from cudaenv import smoke
    from cudaenv.knowledge import TfLine

    environ = dict(os.environ if environ is None else environ)
    if knowledge is None:
        from cudaenv.knowledge import load

        knowledge = load()
    if machine is None:
        from cudaenv.machine import detect

        machine = detect()
    as_activated = _made_and_inactive(env, environ)
    plain = environ  # the hook is probed as a plain start sees it, not activated
    if as_activated:  # what its activation sets, for the probe and the checks alike
        lines = smoke.recipe_lines(smoke.installed(env), knowledge)
        environ = smoke.activated_environ(env, lines, environ)
    probed = smoke.probe(env, knowledge, environ, activated=False, bench=False)
    report, lines = probed.report, probed.lines
    hook = preload_probe(env, plain)
    cache = ldconfig_cache()
    places = {s: copies(s, env, environ, cache) for s in probed.sonames}
    facts = Facts(
        env=env,
        report=report,
        places=places,
        required=frozenset(s for line in lines for s in line.sonames),
        tf_line=next((x for x in lines if isinstance(x, TfLine)), None),
        dists=probed.dists,
        machine=machine,
        knowledge=knowledge,
        environ=environ,
        sonames=probed.rules.sonames,
        runpath_dirs=search_dirs(env.site_packages.glob(_TF_LIBRARIES)),
        hook=hook,
    )
    return Diagnosis(
        prefix=env.prefix,
        python=env.python,
        report=report,
        places=places,
        findings=findings(facts),
        as_activated=as_activated,
        hook=hook,
    )


def _made_and_inactive(env: Env, environ: Mapping[str, str]) -> bool:
    """Whether cudaenv made ``env`` and it is not the environment active in ``environ``."""
    from cudaenv.envs.prefix import MARKER

    active = environ.get("CONDA_PREFIX" if env.is_conda else "VIRTUAL_ENV")
    return (env.prefix / MARKER).is_file() and active != str(env.prefix)


def explain_log(text: str, *, knowledge: Knowledge | None = None) -> tuple[LogLine, ...]:
    """The known lines of a pasted log, each once, in order; unknown lines are skipped."""
    from cudaenv import smoke
    from cudaenv.knowledge.logschema import load_log_rules

    if knowledge is None:
        from cudaenv.knowledge import load

        knowledge = load()
    rules = load_log_rules()
    tf_lines = smoke.tf_lines_by_soname(knowledge)
    out: list[LogLine] = []
    seen: set[tuple[str, str]] = set()
    for line in dict.fromkeys(text.splitlines()):  # a line repeated says nothing new
        known = rules.classify(line, tf_lines=tf_lines)
        if known is not None and (key := (known.rule, known.explanation)) not in seen:
            seen.add(key)
            out.append(known)
    return tuple(out)
