"""Apply a plan to an environment in one transaction: before-lock, files aside, install, scripts.

The order is the design's: the before-lock (``PREFIX/pylock.before-fix.toml``) is written
before anything changes; the files of what goes are set aside (:mod:`cudaenv.fix.files`); the
new pins are installed by cudaenv's installer (uv, else pip), by URL and sha256, with no
resolution of its own and no sdist; then the activation scripts and the start-up hook are
written as ``create`` writes them (a venv's ``bin/activate`` is replaced by cudaenv's, which
does all the venv's does; a conda environment gets ``etc/conda/activate.d``). Any failure,
Ctrl-C or SIGTERM (raised as an exception here, :mod:`cudaenv.system.interrupts`) puts every file
back; a second signal does not stop that. On success what ``fix --undo`` needs is recorded in
``PREFIX/.cudaenv-fix/undo.json``: the files fix created, the copies it keeps of the files it
wrote over and of the packages no index has, and the packages the before-lock could not lock.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from cudaenv import __version__
from cudaenv.errors import CudaenvError, FixError
from cudaenv.events import Step, discard
from cudaenv.fix.before import BEFORE_LOCK
from cudaenv.fix.files import UNDO, Aside, record_files
from cudaenv.system.interrupts import signals_ignored, sigterm_raises

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from cudaenv.envs.base import Env
    from cudaenv.events import Sink
    from cudaenv.fix.installed import Dist
    from cudaenv.fix.plan import Plan
    from cudaenv.knowledge import Knowledge
    from cudaenv.net.auth import Credentials
    from cudaenv.resolution import Resolution

__all__ = ["UNDO_FILE", "Applied", "apply", "changing", "script_paths", "write_scripts"]

UNDO_FILE = "undo.json"
_ABOUT = "what `cudaenv fix --undo` needs besides pylock.before-fix.toml; written by cudaenv fix"


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    """What applying a plan did."""

    before_lock: Path
    installer: str | None  # None: nothing to install (only the scripts)
    seconds: float
    written: tuple[Path, ...]  # activation scripts and the start-up hook
    kept: tuple[str, ...]  # "name version" of packages no index has, kept for --undo


def script_paths(env: Env) -> list[str]:
    """The files activation and the start-up hook write (relative to the prefix), and the
    hook's compiled copies there now."""
    from cudaenv import preload

    if env.is_conda:
        names = [f"etc/conda/activate.d/cudaenv.{s}" for s in ("sh", "fish", "csh")]
        names += [f"etc/conda/deactivate.d/cudaenv.{s}" for s in ("sh", "fish")]
    else:
        names = ["bin/activate", "bin/activate.fish", "bin/activate.csh"]
    site = env.site_packages
    hooks = [*(site / n for n in preload.FILES), *preload.hook_files(site)]
    return [*names, *dict.fromkeys(os.path.relpath(p, env.prefix) for p in hooks)]


def write_scripts(env: Env, resolution: Resolution | None, knowledge: Knowledge) -> list[Path]:
    """Write the activation scripts and the start-up hook for what ``env`` now holds."""
    from cudaenv import activation, preload

    lines = activation.recipe_lines(resolution, knowledge) if resolution is not None else ()
    return [*activation.write(env, lines), *preload.write(env, lines, knowledge)]


def changing(
    env: Env,
    leaving: Iterable[Dist],
    staying: Iterable[Dist],
    body: Callable[[Aside], None],
    *,
    lock: Path,
) -> tuple[Aside, list[str]]:
    """Run ``body(aside)`` with the files of ``leaving`` set aside and copies of the scripts kept;
    on any failure or signal put every file back and raise (a FixError for cudaenv's own
    failures, saying so). Returns the transaction (for its commit) and the scripts copied."""
    aside = Aside(env.prefix)
    try:
        with sigterm_raises():
            aside.set_aside(leaving, staying)
            shared = len(aside.copied)
            aside.copy(script_paths(env))
            scripts = aside.copied[shared:]
            body(aside)
    except BaseException as err:
        raise _rolled_back(aside, err, lock) from err
    return aside, scripts


def apply(
    plan: Plan,
    *,
    installer: str = "auto",
    offline: bool = False,
    credentials: Credentials | None = None,
    sink: Sink = discard,
) -> Applied:
    """Change ``plan.env`` as the plan says, atomically (see the module's docstring)."""
    from cudaenv.fix.before import write as write_before
    from cudaenv.pipeline.install import install

    env, started = plan.env, time.monotonic()
    lock = write_before(plan.before, env.prefix, plan.target, plan.knowledge, plan.index_url)
    leaving = plan.leaving()
    kept = [d for d in leaving if plan.before.pin(d.name) is None]
    kept_files = set().union(*(record_files(env.prefix, d) for d in kept))
    names = {d.name for d in leaving}
    done: dict[str, Any] = {"installer": None, "written": []}

    def body(aside: Aside) -> None:
        del aside  # the scripts were copied; the installer only adds files
        pins = plan.installs()
        if pins and plan.resolution is not None:
            wanted = replace(plan.resolution, pins=pins)
            done["installer"] = install(
                wanted, env, installer=installer, offline=offline, credentials=credentials,
                sink=sink,
            )  # fmt: skip
        sink(Step(text="writing the activation scripts and the start-up hook"))
        done["written"] = write_scripts(env, plan.resolution, plan.knowledge)

    staying = [d for d in plan.dists if d.name not in names]
    aside, scripts = changing(env, leaving, staying, body, lock=lock)
    unlocated = [f"{d.name}=={d.version}" for d in plan.before.unlocated]
    with signals_ignored():
        commit(env, aside, [*scripts, *sorted(kept_files)], plan=plan, unlocated=unlocated)
    return Applied(
        before_lock=lock,
        installer=done["installer"],
        seconds=time.monotonic() - started,
        written=tuple(done["written"]),
        kept=tuple(f"{d.name} {d.version}" for d in kept),
    )


def commit(
    env: Env, aside: Aside, keep: Iterable[str], *, plan: Plan, unlocated: Iterable[str]
) -> None:
    """Replace an earlier fix's undo record with this one's: the changes, the files kept
    (copies of what was written over, and of packages no index has), the script files
    created, and the packages the before-lock does not lock."""
    state = aside.state
    shutil.rmtree(state / UNDO, ignore_errors=True)
    keep = list(keep)
    mine = [*script_paths(env), ".lock"]  # uv's lock file, made by the install
    created = [r for r in mine if r not in aside.files and (env.prefix / r).exists()]
    state.mkdir(exist_ok=True)
    record = {
        "about": _ABOUT,
        "cudaenv": __version__,
        "changes": [c.to_json() for c in plan.changes],
        "created": created,
        "restore": keep,
        "unlocated": sorted(unlocated),
    }
    part = state / f".{UNDO_FILE}.part"
    part.write_text(json.dumps(record, indent=1) + "\n")
    aside.commit(keep)
    os.replace(part, state / UNDO_FILE)


def _rolled_back(aside: Aside, err: BaseException, lock: Path) -> BaseException:
    """Put everything back after ``err``; the exception to raise in its place."""
    with signals_ignored():
        left = aside.rollback(keep=[BEFORE_LOCK])
    if left:
        return FixError(
            f"fix failed and could not put back {len(left)} files as they were: "
            f"{', '.join(left[:5])}",
            context="\n".join(left),
            hint=f"`cudaenv verify --lock {lock}` names what differs from before",
        )
    if isinstance(err, OSError) and isinstance(err.filename, str):
        from cudaenv.system import oserrors

        err = oserrors.explain(err, err.filename, doing="write", cls=FixError)
    if not isinstance(err, CudaenvError):
        return err  # Ctrl-C, SIGTERM, a bug: raised as it came, after the rollback
    return FixError(
        f"{err.message}; every file of the environment was put back as it was ({lock} "
        "records what it holds)",
        context=err.context,
        hint=_hint(err),
        remedies=err.remedies,
    )


def _hint(err: CudaenvError) -> str | None:
    """The failure's hint, but an installer's "the environment was removed" (create's)."""
    if err.hint and "the environment was removed" in err.hint:
        return "fix the cause above and run `cudaenv fix` again"
    return err.hint
