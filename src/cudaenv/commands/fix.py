"""``cudaenv fix [-p PREFIX | -n NAME | --python PATH]``: repair an environment in place.

Parse, call, render: :mod:`cudaenv.fix` plans (a solve with the environment as the lock) and
applies the plan atomically; this module prints the plan as a table (package, from -> to,
why), then doctor's findings and the smoke test's verdict before and after, side by side.
``--dry-run`` stops after the plan; ``--undo`` puts back what the last fix changed. Exit 0
when no finding about the environment's CUDA packages is left (or nothing was to be done),
2 when one is, or when fix refused.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cudaenv import render
from cudaenv.commands._options import (
    add_env_arguments,
    add_index_arguments,
    env_prefix,
    index_from_args,
    overrides_from_args,
)
from cudaenv.errors import FAILURE, OK, EnvError

if TYPE_CHECKING:
    import argparse

    from cudaenv.doctor import Diagnosis
    from cudaenv.envs.base import Env
    from cudaenv.fix import Applied, Plan
    from cudaenv.progress import Progress
    from cudaenv.smoke.report import SmokeReport

NAME = "fix"
HELP = "repair an environment in place: the CUDA wheels its frameworks need, nothing else"
ORDER = 45
EXAMPLES = (
    "fix --dry-run",
    "fix --python ~/envs/tf/bin/python --driver 535.104.05",
    "fix -p ./venv --undo",
)

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    add_env_arguments(where)
    where.add_argument("--python", metavar="PATH", help="the environment's python interpreter")
    parser.add_argument("--driver", metavar="VERSION", help="plan for this NVIDIA driver")
    parser.add_argument("--cuda", metavar="VERSION", help="plan for this max CUDA (12.4)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument(
        "--undo", action="store_true", help="put back what the last fix changed (its before-lock)"
    )
    parser.add_argument(
        "--allow-framework-change",
        action="store_true",
        help="where the driver cannot run an installed framework, move it to the newest line "
        "the driver runs",
    )
    parser.add_argument(
        "--installer", choices=("auto", "uv", "pip"), default="auto", help="default: uv if found"
    )
    add_index_arguments(parser)
    parser.add_argument("--cache-dir", metavar="DIR", help="HTTP cache folder")
    parser.add_argument("--offline", action="store_true", help="use the cache only, no network")
    parser.add_argument(
        "--refresh", action="store_true", help="ask the index about every cached page"
    )
    parser.add_argument("--no-smoke", action="store_true", help="skip the smoke test afterwards")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from cudaenv.envs import busy

    with render.activity() as progress:
        progress.step("finding the environment")
        env = _env(args)
        with busy.holding(env.prefix):  # one cudaenv at a time changes a prefix
            if args.undo:
                return _undo(env, args, progress)
            return _fix(env, args, progress)


def _env(args: argparse.Namespace) -> Env:
    from cudaenv.doctor import env_for_python
    from cudaenv.smoke import open_env

    if args.python:
        return env_for_python(Path(args.python), command=NAME)
    if args.name and getattr(args, "host", "") == "conda":
        return open_env(_conda_env(args.name))
    return open_env(env_prefix(args, NAME))


def _conda_env(name: str) -> Path:
    """The existing conda environment ``-n NAME``: in one of conda's envs folders."""
    from cudaenv.envs import find_backend
    from cudaenv.envs.conda import CondaBackend

    backend = find_backend("conda")
    assert isinstance(backend, CondaBackend)
    info = backend.info()
    for folder in info.envs_dirs:
        if (folder / name / "conda-meta").is_dir():
            return Path(folder / name)
    listed = ", ".join(str(d) for d in info.envs_dirs) or "none"
    raise EnvError(
        f"no conda environment named {name!r} (looked in conda's envs folders: {listed})",
        hint="`conda env list` lists them; give one's path with -p",
    )


def _fix(env: Env, args: argparse.Namespace, progress: Progress) -> int:
    from cudaenv import fix
    from cudaenv.doctor import diagnose

    index = index_from_args(args)
    plan = fix.prepare(
        env,
        overrides=overrides_from_args(args),
        index=index,
        allow_change=args.allow_framework_change,
        changing=not args.dry_run,
        progress=progress,
    )
    progress.step("examining the environment as it is", where=env.prefix)
    before = diagnose(env, machine=plan.machine, knowledge=plan.knowledge)
    idle = not plan.changes and not fix.cuda_findings(before)
    if not args.json:
        _show_plan(plan, idle=idle)
    if args.dry_run or idle:
        if args.json:
            render.emit_json(_document(plan, before, None, None, None, dry_run=args.dry_run))
        elif args.dry_run:
            now = f"{_count(before)}, {fix.cuda_findings(before)} about the CUDA packages"
            render.line(f"doctor finds now: {now}")
            render.line("dry run: nothing was changed")
        return OK
    applied = fix.apply(
        plan,
        installer=args.installer,
        offline=index.offline,
        credentials=index.credentials(),
        progress=progress,
    )
    progress.step("examining the fixed environment", where=env.prefix)
    after = diagnose(env, machine=plan.machine, knowledge=plan.knowledge)
    report = None if args.no_smoke else _smoke(env, progress)
    progress.done()
    if args.json:
        render.emit_json(_document(plan, before, applied, after, report, dry_run=False))
    else:
        _show_result(env, applied, before, after, report)
    return FAILURE if fix.cuda_findings(after) else OK


def _smoke(env: Env, progress: Progress) -> SmokeReport:
    from cudaenv import smoke

    return smoke.run(env, quick=True, progress=progress)


def _undo(env: Env, args: argparse.Namespace, progress: Progress) -> int:
    from cudaenv.fix.undo import undo

    index = index_from_args(args)
    done = undo(
        env,
        installer=args.installer,
        offline=index.offline,
        credentials=index.credentials(),
        progress=progress,
    )
    progress.done()
    if args.json:
        render.emit_json(
            {
                "prefix": str(env.prefix),
                "installed": list(done.installed),
                "removed": list(done.removed),
                "restored_files": done.restored,
                "installer": done.installer,
                "seconds": round(done.seconds, 2),
            }
        )
        return OK
    render.line(f"undone in {done.seconds:.1f} s: {env.prefix} is as it was before the fix")
    for what, names in (("installed again", done.installed), ("removed", done.removed)):
        if names:
            render.line(f"  {what}: {', '.join(names)}")
    if done.restored:
        render.line(f"  files put back: {done.restored} (scripts fix wrote over, kept packages)")
    return OK


_KINDS = {"add": "added", "replace": "replaced", "remove": "removed"}
_LABELS = ("tensorflow", "torch", "jax", "spacy")
_SHOWN = 12  # findings listed as gone, then a count


def _show_plan(plan: Plan, *, idle: bool) -> None:
    env, machine = plan.env, plan.machine
    driver = machine.driver_version or "none"
    render.line(
        f"environment: {env.prefix} ({env.backend}, Python {plan.target.full_version}); "
        f"driver {driver} (CUDA {machine.max_cuda or '-'}, {machine.source})"
    )
    held = [d for d in plan.dists if not d.free]
    kept = ", ".join(f"{d.name} {d.version}" for d in held if d.name in _LABELS)
    render.line(
        f"held at their versions: {len(held)} packages ({kept or 'no framework'} among them); "
        "free to change: the NVIDIA wheels, CuPy, CUDA plugins"
    )
    if plan.resolution is None:
        render.line("nothing to fix: no TensorFlow, PyTorch, JAX or spaCy is installed")
        return
    if idle:
        render.line("nothing to fix: the packages are right and doctor finds nothing to change")
        return
    render.line()
    counts = {w: sum(1 for c in plan.changes if c.kind == k) for k, w in _KINDS.items()}
    said = ", ".join(f"{n} {w}" for w, n in counts.items() if n) or "no package changes"
    render.line(
        f"plan: {_n(len(plan.changes), 'package')} ({said}), then the activation scripts and "
        "the start-up hook"
    )
    if plan.changes:
        render.table(
            [(c.name, c.before or "-", c.after or "-", c.why) for c in plan.changes],
            ["package", "from", "to", "why"],
        )
    for note in plan.resolution.notes[:1]:
        render.line(f"  note: {note}")
    for dist in plan.before.unlocated:
        render.line(f"  not on any index (held, kept for --undo if changed): {dist.name}")


def _findings(diagnosis: Diagnosis) -> dict[str, Any]:
    from cudaenv import fix

    return {
        "worst": diagnosis.worst,
        "verdict": diagnosis.report.verdict,
        "cuda_findings": fix.cuda_findings(diagnosis),
        "findings": [f.to_json() for f in diagnosis.findings],
    }


def _document(
    plan: Plan,
    before: Diagnosis,
    applied: Applied | None,
    after: Diagnosis | None,
    report: SmokeReport | None,
    *,
    dry_run: bool,
) -> dict[str, Any]:
    resolution = plan.resolution
    return {
        "prefix": str(plan.env.prefix),
        "python": str(plan.env.python),
        "driver": plan.machine.to_dict(),
        "dry_run": dry_run,
        "changed": applied is not None,
        "plan": [c.to_json() for c in plan.changes],
        "relaxed": [r.text() for r in resolution.relaxed] if resolution else [],
        "notes": list(resolution.notes) if resolution else [],
        "unlocated": [f"{d.name} {d.version}" for d in plan.before.unlocated],
        "applied": None
        if applied is None
        else {
            "before_lock": str(applied.before_lock),
            "installer": applied.installer,
            "seconds": round(applied.seconds, 2),
            "written": [str(p) for p in applied.written],
            "kept": list(applied.kept),
            "undo": _undo_command(plan.env),
        },
        "doctor": {
            "before": _findings(before),
            "after": _findings(after) if after is not None else None,
        },
        "smoke": report.to_json() if report is not None else None,
    }


def _undo_command(env: Env) -> str:
    return f"cudaenv fix -p {shlex.quote(str(env.prefix))} --undo"


def _show_result(
    env: Env,
    applied: Applied,
    before: Diagnosis,
    after: Diagnosis,
    report: SmokeReport | None,
) -> None:
    from cudaenv import fix

    how = f" with {applied.installer}" if applied.installer else ""
    render.line()
    render.line(f"fixed in {applied.seconds:.1f} s{how}; before-lock: {applied.before_lock}")
    render.line()
    render.table(
        [
            ("doctor", _count(before), _count(after)),
            ("  CUDA findings", fix.cuda_findings(before), fix.cuda_findings(after)),
            ("probe verdict", before.report.verdict, after.report.verdict),
            ("smoke verdict", "-", report.verdict if report is not None else "not run"),
        ],
        ["", "before", "after"],
    )
    left = {(f.cause, f.message) for f in after.findings}
    gone = [f for f in before.findings if f.severity != "info" and (f.cause, f.message) not in left]
    for f in gone[:_SHOWN]:
        render.line(f"  gone: {f.severity} [{f.cause}]: {f.message}")
    if len(gone) > _SHOWN:
        render.line(f"  gone: {len(gone) - _SHOWN} more (`--json` lists every finding)")
    for f in after.findings:
        if f.severity != "info":
            render.line(f"  left: {f.severity} [{f.cause}]: {f.message}")
    if report is not None:
        mine = [
            x for x in report.libraries if x.loaded and env.prefix in (x.path or Path()).parents
        ]
        render.line(
            f"  smoke: {len(mine)} of {len(report.libraries)} CUDA libraries load from {env.prefix}"
        )
    render.line(f"  undo with: {_undo_command(env)}")


def _count(diagnosis: Diagnosis) -> str:
    errors = sum(1 for f in diagnosis.findings if f.severity == "error")
    warnings = sum(1 for f in diagnosis.findings if f.severity == "warning")
    return f"{_n(errors, 'error')}, {_n(warnings, 'warning')}"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
