"""``cudaenv lock``: solve and write a PEP 751 lock (or an export), or check an existing lock.

``cudaenv lock --tf 2.15 -o pylock.toml`` is detect -> solve -> lock; ``--format requirements``
or ``--format environment.yml`` writes an export of the same resolution instead.
``cudaenv lock --check pylock.toml`` asks whether a lock still holds: every wheel still on the
index with the same sha256, no pinned release since listed as bad by the recipes. It exits 0 when
the lock is valid and 2 with what changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cudaenv import render
from cudaenv.commands.solve import add_solver_arguments
from cudaenv.errors import FAILURE, OK, UsageError

if TYPE_CHECKING:
    import argparse

    from cudaenv.resolution import Resolution

NAME = "lock"
HELP = "solve and write a pylock.toml (PEP 751) or an export; or --check an existing lock"
ORDER = 30

__all__ = ["HELP", "NAME", "ORDER", "configure", "run"]

FORMATS = {"pylock": "pylock.toml", "requirements": "requirements.txt", "environment.yml": None}


def configure(parser: argparse.ArgumentParser) -> None:
    add_solver_arguments(parser)  # the same options as ``cudaenv solve`` and ``create``
    parser.add_argument(
        "-o", "--output", metavar="PATH", help="where to write (default: by format; - for stdout)"
    )
    parser.add_argument(
        "--format",
        choices=list(FORMATS),
        default="pylock",
        help="pylock (PEP 751, default), requirements (hashed, for pip --require-hashes), "
        "environment.yml (conda, hashed pip section)",
    )
    parser.add_argument(
        "--check",
        metavar="LOCK",
        help="check that LOCK still holds: same files and hashes on the index, "
        "no release since listed as bad; exit 2 with what changed",
    )


def run(args: argparse.Namespace) -> int:
    if args.check:
        if args.tf or args.spacy or args.output:
            raise UsageError(
                "--check reads an existing lock; it takes no --tf, --spacy or -o",
                hint=f"run `cudaenv lock --check {args.check}` alone, or make a new lock "
                "without --check",
            )
        return _check(args)
    return _lock(args)


def _output(args: argparse.Namespace) -> str:
    from cudaenv import lock

    out = args.output or FORMATS[args.format] or "environment.yml"
    if args.format == "pylock" and out != "-" and not lock.is_valid_lock_name(out):
        raise UsageError(
            f"{out!r} is not a PEP 751 lock file name",
            hint="name it pylock.toml or pylock.NAME.toml, as installers look for "
            "(or choose --format requirements / environment.yml)",
        )
    return out


def _lock(args: argparse.Namespace) -> int:
    from cudaenv import lock
    from cudaenv.commands.solve import request_machine_index_from_args
    from cudaenv.solver import solve

    out = _output(args)  # refuse a bad name before the (slow) solve
    request, machine, know, index = request_machine_index_from_args(args)
    with index:
        resolution = solve(request, machine, know, index)
    text = _render(resolution, args.format, know.version)
    if out == "-":
        render.line(text.rstrip("\n"))
        return OK
    lock.write_text(text, out)
    _report(resolution, out, args.format, as_json=args.json)
    return OK


def _render(resolution: Resolution, fmt: str, knowledge_version: str) -> str:
    from cudaenv import lock

    if fmt == "requirements":
        return lock.requirements_txt(resolution)
    if fmt == "environment.yml":
        return lock.environment_yml(resolution)
    return lock.dumps(resolution, knowledge_version=knowledge_version)


def _report(resolution: Resolution, out: str, fmt: str, *, as_json: bool) -> None:
    from cudaenv import lock

    if as_json:
        render.emit_json(
            {
                "written": out,
                "format": fmt,
                "pins": len(resolution.pins),
                "facts": lock.summary(resolution),
            }
        )
        return
    render.line(f"wrote {out} ({fmt}, {len(resolution.pins)} wheels, hashed)")
    for fact in lock.summary(resolution):
        render.line(f"  {fact}")


def _check(args: argparse.Namespace) -> int:
    from cudaenv import knowledge, lock
    from cudaenv.index import Index

    info = lock.load(args.check)
    resolution = info.resolution
    know = knowledge.load()
    index = Index(  # revalidate every page: a check must see today's index
        args.index_url or resolution.index_url,
        cache_dir=args.cache_dir,
        offline=args.offline,
        revalidate=True,
    )
    with index:
        problems = lock.check_index(resolution, index, know)
    notes = list(resolution.notes if info.missing else ())
    if info.knowledge_version and info.knowledge_version != know.version:
        notes.append(f"made with recipes {info.knowledge_version}; these are {know.version}")
    if args.json:
        render.emit_json(
            {"lock": args.check, "valid": not problems, "problems": problems, "notes": notes}
        )
    else:
        _print_check(args.check, problems, notes, len(resolution.pins))
    return FAILURE if problems else OK


def _print_check(path: str, problems: list[str], notes: list[str], pins: int) -> None:
    for note in notes:
        render.warn(note)
    if not problems:
        render.line(f"{path}: valid ({pins} wheels, same files and hashes on the index)")
        return
    render.line(f"{path}: no longer valid:")
    for problem in problems:
        render.line(f"  - {problem}")
    render.line(f"make a new lock with `cudaenv lock … -o {path}`")
