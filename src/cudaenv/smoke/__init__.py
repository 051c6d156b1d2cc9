"""The smoke benchmark: run the probe inside an environment, under its activation, and judge it.

:func:`run` is the last stage of ``create`` and the body of ``cudaenv smoke``; :func:`probe` is
the sequence both it and ``cudaenv doctor`` run (one probe, two users). The probe is a standalone
script (``probe.py``) executed by the environment's own Python; ``smoke`` runs it with the
variables activation would set (:func:`cudaenv.activation.variables`), so what it finds is what a
user's activated shell gets, and ``doctor`` with the environment as it is.
The libraries it dlopens, each by soname: those the recipes say the installed frameworks load
(``TfLine.sonames``, ``CupyLine.sonames``: what they dlopen), every CUDA library the frameworks'
own shared objects link against (their DT_NEEDED, :mod:`.needed`: a recipe that forgets one
cannot hide it), and every known CUDA library the environment's NVIDIA wheels ship. Under the
activation each must load, or the smoke test fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from cudaenv.errors import SmokeError
from cudaenv.events import Detail, Step, discard
from cudaenv.system import process

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from cudaenv.envs.base import Env
    from cudaenv.events import Sink
    from cudaenv.knowledge import CupyLine, Knowledge, TfLine
    from cudaenv.knowledge.loglines import LogRules
    from cudaenv.smoke.report import SmokeReport

__all__ = [
    "PROBE",
    "Probed",
    "installed",
    "open_env",
    "probe",
    "probe_sonames",
    "recipe_lines",
    "run",
    "run_probe",
    "tf_lines_by_soname",
]

PROBE = Path(__file__).with_name("probe.py")
_DIST_INFO = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)\.dist-info$")


def open_env(env_or_prefix: Env | str | os.PathLike[str]) -> Env:
    from cudaenv.envs.base import Env

    if isinstance(env_or_prefix, Env):
        return env_or_prefix
    return Env.from_prefix(Path(env_or_prefix))


def installed(env: Env) -> dict[str, Version]:
    """Distributions in the env's site-packages, from ``*.dist-info`` folder names (no import)."""
    found: dict[str, Version] = {}
    for entry in env.site_packages.glob("*.dist-info"):
        m = _DIST_INFO.match(entry.name)
        if m:
            try:
                found[canonicalize_name(m["name"])] = Version(m["version"])
            except InvalidVersion:
                continue
    return found


def recipe_lines(
    dists: Mapping[str, Version], knowledge: Knowledge | None
) -> tuple[TfLine | CupyLine, ...]:
    """Recipe lines (TfLine, CupyLine) of the frameworks installed, as far as recipes know them."""
    if knowledge is None:
        return ()
    lines: list[TfLine | CupyLine] = []
    tf = dists.get("tensorflow") or dists.get("tensorflow-cpu")
    if tf is not None and (line := knowledge.tf_line(tf)) is not None:
        lines.append(line)
    lines += [c for c in knowledge.cupy if c.name in dists]
    return tuple(lines)


def tf_lines_by_soname(knowledge: Knowledge | None) -> dict[str, list[str]]:
    """soname -> the final TensorFlow release lines whose recipes load it, oldest first."""
    out: dict[str, list[str]] = {}
    final = [x for x in (knowledge.tensorflow if knowledge else ()) if not x.pre_release_only]
    for line in sorted(final, key=lambda x: x.line):
        for soname in line.sonames:
            out.setdefault(soname, []).append(str(line.line))
    return out


def probe_sonames(
    env: Env,
    lines: Sequence[TfLine | CupyLine],
    known: Mapping[str, object],
    dists: Iterable[str] = (),
) -> list[str]:
    """What to dlopen: the recipes' sonames, then the CUDA libraries the frameworks among
    ``dists`` link against (less what a CuPy line loads only when used), then known CUDA
    libraries the wheels ship."""
    from cudaenv.knowledge import CupyLine
    from cudaenv.smoke.needed import framework_needs

    wanted = [s for line in lines for s in line.sonames]
    cupy: dict[str, CupyLine] = {ln.name: ln for ln in lines if isinstance(ln, CupyLine)}
    for soname, by in framework_needs(env.site_packages, dists).items():
        if not all(d in cupy and cupy[d].is_optional(soname) for d in by):
            wanted.append(soname)
    for folder in sorted(env.site_packages.glob("nvidia/*/lib")):
        wanted += sorted(p.name for p in folder.iterdir() if p.name in known)
    return list(dict.fromkeys(wanted))


def run_probe(
    python: Path,
    sonames: Sequence[str],
    environ: Mapping[str, str],
    *,
    quick: bool = False,
    bench: bool = True,
    timeout: int = 900,
    sink: Sink = discard,
) -> dict[str, Any]:
    """Run the probe with ``python`` under ``environ``; return its JSON document.
    ``sink`` gets each of its steps as it starts, a :class:`~cudaenv.events.Detail`
    ("TensorFlow: importing")."""
    from cudaenv.smoke.phases import PROGRESS_FD, PhasePipe

    cmd = [str(python), str(PROBE), *(f"--soname={s}" for s in sonames)]
    cmd += ["--quick"] if quick else []
    cmd += [] if bench else ["--no-bench"]
    cmd += ["--timeout", str(max(timeout - 30, 30))]
    env = {k: v for k, v in environ.items() if k != PROGRESS_FD}
    try:
        with contextlib.ExitStack() as stack:
            fds: tuple[int, ...] = ()
            if sink is not discard:  # a pipe and a reader thread only for someone who watches
                pipe = PhasePipe(lambda phase: sink(Detail(phase)))
                fds = (stack.enter_context(pipe).fd,)
                env[PROGRESS_FD] = str(fds[0])
            done = process.run(cmd, env=env, text=True, timeout=timeout, pass_fds=fds)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SmokeError(f"the probe could not run with {python}: {e}") from e
    try:
        data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError) as e:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise SmokeError(
            f"the probe failed in {python} (exit status {done.returncode})",
            context="\n".join(tail) or None,
            hint="run `cudaenv doctor` on this environment",
        ) from e
    return data


def activated_environ(
    env: Env, lines: Sequence[TfLine | CupyLine], base: Mapping[str, str]
) -> dict[str, str]:
    """``base`` with what activating ``env`` changes (venv part included)."""
    from cudaenv.activation import variables

    environ = {**base, **variables(env, lines, base)}
    environ["PATH"] = os.pathsep.join(x for x in (str(env.bin_dir), environ.get("PATH")) if x)
    environ["VIRTUAL_ENV" if not env.is_conda else "CONDA_PREFIX"] = str(env.prefix)
    environ.pop("PYTHONHOME", None)
    return environ


@dataclass(frozen=True, slots=True, kw_only=True)
class Probed:
    """One probe run and what it was run with (``doctor`` looks at the same sonames)."""

    report: SmokeReport
    dists: Mapping[str, Version]  # installed distributions (canonical names)
    lines: tuple[TfLine | CupyLine, ...]  # their recipe lines
    sonames: tuple[str, ...]  # what the probe dlopened
    rules: LogRules


def probe(
    env: Env,
    knowledge: Knowledge,
    environ: Mapping[str, str],
    *,
    activated: bool,
    quick: bool = False,
    bench: bool = True,
    timeout: int = 900,
    sink: Sink = discard,
) -> Probed:
    """Installed frameworks -> their recipe lines -> sonames -> the probe -> the judged report.

    ``activated``: under the variables cudaenv's activation sets on top of ``environ`` (smoke),
    or under ``environ`` as it is (doctor). ``sink``: see :func:`run_probe`.
    """
    from cudaenv.knowledge.logschema import load_log_rules
    from cudaenv.smoke.report import SmokeReport

    rules = load_log_rules()
    dists = installed(env)
    lines = recipe_lines(dists, knowledge)
    if activated:
        environ = activated_environ(env, lines, environ)
    sonames = probe_sonames(env, lines, rules.sonames, dists)
    data = run_probe(
        env.python, sonames, environ, quick=quick, bench=bench, timeout=timeout, sink=sink
    )
    report = SmokeReport.from_json(data, rules=rules, tf_lines=tf_lines_by_soname(knowledge))
    return Probed(report=report, dists=dists, lines=lines, sonames=tuple(sonames), rules=rules)


def run(
    env_or_prefix: Env | str | os.PathLike[str],
    *,
    quick: bool = False,
    require_gpu: bool = False,
    timeout: int = 900,
    sink: Sink = discard,
) -> SmokeReport:
    """Probe the environment under its activation and return the judged report.

    ``require_gpu`` does not change the report, only what callers do with it
    (:meth:`SmokeReport.exit_code`). Cost: starts the env's Python three to five times (TF and
    spaCy each in a child process); minutes for a full benchmark, seconds with ``quick``.
    ``sink`` is told the smoke test's step and each part of the probe as it starts.
    """
    from cudaenv.knowledge import load as load_knowledge

    del require_gpu  # the verdict is the same; exit_code(require_gpu=...) decides
    env = open_env(env_or_prefix)
    sink(Step(text="smoke test", where=env.prefix))
    done = probe(
        env,
        load_knowledge(),
        os.environ,
        activated=True,
        quick=quick,
        timeout=timeout,
        sink=sink,
    )
    return done.report
