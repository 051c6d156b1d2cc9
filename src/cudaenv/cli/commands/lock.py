"""``cudaenv lock``: solve and write a PEP 751 lock (or an export), or check an existing lock.

``cudaenv lock --tf 2.15 -o pylock.toml`` is detect -> solve -> lock; ``--format requirements``
or ``--format environment.yml`` writes an export of the same resolution instead.
``cudaenv lock --check pylock.toml`` asks whether a lock still holds: closed (every locked
package's requirements in the lock), every wheel still on the index with the same sha256, no
pinned release since listed as bad by the recipes, and fit for the ``--driver``/``--cuda``,
``--python`` and ``--platform`` given. It exits 0 when the lock is valid and 2 with what is wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cudaenv.cli import render
from cudaenv.cli.commands._options import (
    add_solver_arguments,
    index_from_args,
    overrides_from_args,
    request_from_args,
)
from cudaenv.errors import FAILURE, OK, UsageError

if TYPE_CHECKING:
    import argparse

    from cudaenv.pipeline.steps import LockCheck
    from cudaenv.resolution import Resolution

NAME = "lock"
HELP = "solve and write a pylock.toml (PEP 751) or an export; or --check an existing lock"
ORDER = 30
EXAMPLES = (
    "lock --tf 2.15 --spacy 3.7 -o pylock.toml",
    "lock --tf 2.15 --format requirements -o locks/requirements.txt",
    "lock --check pylock.toml",
)

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "configure", "run"]

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
        if args.tf or args.torch or args.jax or args.spacy or args.output:
            raise UsageError(
                "--check reads an existing lock; it takes no --tf, --torch, --jax, --spacy or -o",
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
    from cudaenv.pipeline import steps

    out = _output(args)  # refuse a bad name before the (slow) solve
    request = request_from_args(args)
    with render.activity() as sink:
        solved = steps.solve(request, overrides_from_args(args), index_from_args(args), sink=sink)
    resolution = solved.resolution
    text = _render(resolution, args.format, solved.knowledge.version)
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
                "notes": list(resolution.notes),
            }
        )
        return
    render.line(f"wrote {out} ({fmt}, {len(resolution.pins)} wheels, hashed)")
    for fact in lock.summary(resolution):
        render.line(f"  {fact}")
    for note in resolution.notes:
        render.line(f"  note: {note}")


def _check(args: argparse.Namespace) -> int:
    from cudaenv.pipeline import steps

    with render.activity() as sink:
        check = steps.check_lock(
            args.check,
            index_from_args(args),
            sink=sink,
            overrides=overrides_from_args(args),
            python=args.python,
            platform=args.platform,
        )
    if args.json:
        render.emit_json(
            {
                "lock": args.check,
                "valid": check.valid,
                "problems": list(check.problems),
                "notes": list(check.notes),
            }
        )
    else:
        _print_check(args.check, check)
    return OK if check.valid else FAILURE


def _print_check(path: str, check: LockCheck) -> None:
    for note in check.notes:
        render.warn(note)
    if check.valid:
        render.line(f"{path}: valid ({check.pins} wheels, same files and hashes on the index)")
        return
    render.line(f"{path}: no longer valid:")
    for problem in check.problems:
        render.line(f"  - {problem}")
    render.line(f"make a new lock with `cudaenv lock … -o {path}`")
