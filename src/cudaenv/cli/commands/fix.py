"""``cudaenv fix [-p PREFIX | -n NAME | --python PATH]``: repair an environment in place.

Parse, call, render: :mod:`cudaenv.fix` plans (a solve with the environment as the lock) and
applies the plan atomically; this module prints the plan as a table (package, from -> to,
why), then doctor's findings and the smoke test's verdict before and after, side by side.
``--dry-run`` stops after the plan; ``--undo`` puts back what the last fix changed. Exit 0
when no finding about the environment's CUDA packages is left (or nothing was to be done),
2 when one is, or when fix refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.cli import render
from cudaenv.cli.commands import _fix_report as shown
from cudaenv.cli.commands._options import (
    add_env_arguments,
    add_index_arguments,
    env_prefix,
    index_from_args,
    overrides_from_args,
)
from cudaenv.errors import FAILURE, OK, EnvError
from cudaenv.events import Done, Step

if TYPE_CHECKING:
    import argparse

    from cudaenv.envs.base import Env
    from cudaenv.events import Sink
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

    with render.activity() as sink:
        sink(Step(text="finding the environment"))
        env = _env(args)
        with busy.holding(env.prefix):  # one cudaenv at a time changes a prefix
            if args.undo:
                return _undo(env, args, sink)
            return _fix(env, args, sink)


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


def _fix(env: Env, args: argparse.Namespace, sink: Sink) -> int:
    from cudaenv import fix
    from cudaenv.doctor import diagnose

    index = index_from_args(args)
    plan = fix.prepare(
        env,
        overrides=overrides_from_args(args),
        index=index,
        allow_change=args.allow_framework_change,
        changing=not args.dry_run,
        sink=sink,
    )
    sink(Step(text="examining the environment as it is", where=env.prefix))
    before = diagnose(env, machine=plan.machine, knowledge=plan.knowledge)
    idle = not plan.changes and not fix.cuda_findings(before)
    if not args.json:
        shown.show_plan(plan, idle=idle)
    if args.dry_run or idle:
        if args.json:
            render.emit_json(shown.document(plan, before, None, None, None, dry_run=args.dry_run))
        elif args.dry_run:
            now = f"{shown.count(before)}, {fix.cuda_findings(before)} about the CUDA packages"
            render.line(f"doctor finds now: {now}")
            render.line("dry run: nothing was changed")
        return OK
    applied = fix.apply(
        plan,
        installer=args.installer,
        offline=index.offline,
        credentials=index.credentials(),
        sink=sink,
    )
    sink(Step(text="examining the fixed environment", where=env.prefix))
    after = diagnose(env, machine=plan.machine, knowledge=plan.knowledge)
    report = None if args.no_smoke else _smoke(env, sink)
    sink(Done())
    if args.json:
        render.emit_json(shown.document(plan, before, applied, after, report, dry_run=False))
    else:
        shown.show_result(env, applied, before, after, report)
    return FAILURE if fix.cuda_findings(after) else OK


def _smoke(env: Env, sink: Sink) -> SmokeReport:
    from cudaenv import smoke

    return smoke.run(env, quick=True, sink=sink)


def _undo(env: Env, args: argparse.Namespace, sink: Sink) -> int:
    from cudaenv.fix.undo import undo

    index = index_from_args(args)
    done = undo(
        env,
        installer=args.installer,
        offline=index.offline,
        credentials=index.credentials(),
        sink=sink,
    )
    sink(Done())
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
