"""``cudaenv fix``: repair an environment someone else made, in place, with nothing lost.

A solve with the environment as the lock (:mod:`.plan`): every installed package is held at
its version except the NVIDIA wheels, CuPy and the frameworks' CUDA plugins; cudaenv's solver
finds the smallest set of those that makes every installed framework use the GPU on this
driver, and the plan is its difference from what is installed. A framework the driver cannot
run is refused unless ``--allow-framework-change`` (:mod:`.frameworks`); an externally managed
Python and the one cudaenv runs from are never changed (:mod:`.guard`).

Applying (:mod:`.apply`) writes ``PREFIX/pylock.before-fix.toml`` first (:mod:`.before`: every
installed package with the index file it came from), sets the files of what goes aside, installs
with cudaenv's installer and writes the activation scripts and the start-up hook; any failure
or signal puts every file back (:mod:`.files`). ``fix --undo`` (:mod:`.undo`) goes back to the
before-lock the same way. One cudaenv at a time changes a prefix (:mod:`cudaenv.envs.busy`).

    plan = prepare(env, overrides=..., index=...)
    applied = apply(plan)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cudaenv.errors import FixError
from cudaenv.events import Step, discard
from cudaenv.fix.apply import Applied, apply
from cudaenv.fix.before import BEFORE_LOCK
from cudaenv.fix.plan import Change, Plan

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from cudaenv.doctor import Diagnosis
    from cudaenv.envs.base import Env
    from cudaenv.events import Sink
    from cudaenv.fix.installed import Dist
    from cudaenv.machine import Overrides
    from cudaenv.pipeline.steps import IndexOptions

__all__ = [
    "BEFORE_LOCK",
    "CUDA_CAUSES",
    "Applied",
    "Change",
    "Plan",
    "apply",
    "cuda_findings",
    "prepare",
]

# The causes of doctor's findings that the environment's packages and scripts decide (the
# driver's and the container's are the machine's: fix cannot change them).
CUDA_CAUSES = frozenset({"version-mismatch", "several-installs", "library-path"})


def cuda_findings(diagnosis: Diagnosis) -> int:
    """How many errors and warnings of ``diagnosis`` are the environment's to fix."""
    return sum(
        1
        for f in diagnosis.findings
        if f.severity in ("error", "warning") and f.cause in CUDA_CAUSES
    )


def _releases(
    dists: Iterable[Dist], moved: Sequence[str], environment: Mapping[str, str]
) -> list[frozenset[str]]:
    """The packages a solve frees besides the free ones, smallest first: none; and where a
    framework moves to another line, then also what only that framework needs."""
    from cudaenv.fix.frameworks import exclusive

    if not moved:
        return [frozenset()]
    return [frozenset(), frozenset(exclusive(dists, moved, environment))]


def prepare(
    env: Env,
    *,
    overrides: Overrides,
    index: IndexOptions,
    allow_change: bool = False,
    changing: bool = True,
    sink: Sink = discard,
) -> Plan:
    """Read ``env``, the driver and the index, solve, and return the plan (nothing changes).
    ``changing``: the plan is to be applied (False for a dry run, which also reads an
    environment fix would refuse to change). Cost: one index page per installed package
    and the solve (cached on disk)."""
    from cudaenv import knowledge as knowledge_base
    from cudaenv.fix import frameworks, guard, installed
    from cudaenv.fix import plan as planning
    from cudaenv.fix.before import locate
    from cudaenv.pipeline import steps
    from cudaenv.request import Target, host_platform

    sink(Step(text="reading what is installed", where=env.prefix))
    know = knowledge_base.load()
    dists = installed.read(env.site_packages)
    found = frameworks.installed(dists)
    interpreter = guard.check(env, found, changing=changing)
    machine = steps.detect(overrides, know, sink=sink)
    python = ".".join(interpreter.version.split(".")[:2])
    target = Target.from_strings(python, host_platform()).on_interpreter(interpreter.version)
    specs = frameworks.specifiers(found, machine, know, target.python, allow_change=allow_change)
    moved = [n for n, s in specs.items() if not s.contains(found[n], prereleases=True)]
    environment = target.marker_environment()
    with index.open(target.platform, target.supported_tags(), sdists=False) as client:
        sink(Step(text="finding the file each installed package came from"))
        before = locate(dists, client)
        frameworks.check_located(dists, before.unlocated, list(specs), environment)
        resolution = None
        solved: list[str] = []
        for released in _releases(dists, moved, environment) if specs else ():
            req = planning.request(dists, before, specs, target, released)
            try:
                resolution = planning.solve(req, machine, know, client, env, sink)
            except FixError:
                if released or not moved:
                    raise
                continue  # the framework's own dependencies must move with it
            solved = [*specs, *(str(r.name) for r in req.packages)]
            break
        url = client.url
    remedy = frameworks.remake(env.prefix, specs, target.python) if specs else None
    changes = planning.diff(dists, resolution, environment, solved, remedy) if resolution else ()
    return Plan(
        env=env,
        target=target,
        dists=dists,
        before=before,
        resolution=resolution,
        changes=changes,
        machine=machine,
        knowledge=know,
        index_url=url,
    )
