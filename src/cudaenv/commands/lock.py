"""``cudaenv lock``: solve and write a PEP 751 lock (or an export), or check an existing lock.

``cudaenv lock --tf 2.15 -o pylock.toml`` is detect -> solve -> lock; ``--format requirements``
or ``--format environment.yml`` writes an export of the same resolution instead.
``cudaenv lock --check pylock.toml`` asks whether a lock still holds: every wheel still on the
index with the same sha256, no pinned release since listed as bad by the recipes. It exits 0 when
the lock is valid and 2 with what changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv import render
from cudaenv.errors import FAILURE, OK, UsageError

if TYPE_CHECKING:
    import argparse

    from cudaenv.knowledge import Knowledge
    from cudaenv.request import Request
    from cudaenv.resolution import Resolution

NAME = "lock"
HELP = "solve and write a pylock.toml (PEP 751) or an export; or --check an existing lock"
ORDER = 30

__all__ = ["HELP", "NAME", "ORDER", "configure", "run"]

FORMATS = {"pylock": "pylock.toml", "requirements": "requirements.txt", "environment.yml": None}


def configure(parser: argparse.ArgumentParser) -> None:
    _solver_arguments(parser)
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


def _solver_arguments(parser: argparse.ArgumentParser) -> None:
    """The solver options, shared with ``cudaenv solve``."""
    try:
        from cudaenv.commands.solve import add_solver_arguments
    except ImportError:
        add_solver_arguments = None
    if add_solver_arguments is not None:
        add_solver_arguments(parser)
        return
    parser.add_argument("--tf", metavar="VERSION", help="TensorFlow: 2.15, 2.15.1 or a specifier")
    parser.add_argument("--spacy", metavar="VERSION", help="spaCy: 3.7, 3.7.5 or a specifier")
    parser.add_argument("--driver", metavar="VERSION", help="resolve for this NVIDIA driver")
    parser.add_argument("--cuda", metavar="VERSION", help="resolve for this max CUDA")
    parser.add_argument("--python", metavar="X.Y", help="target Python (default: this one)")
    parser.add_argument("--platform", metavar="TAG", help="target manylinux tag")
    parser.add_argument("--index-url", metavar="URL", help="PEP 691/503 index (default: PyPI)")
    parser.add_argument("--cache-dir", metavar="DIR", type=Path, help="HTTP cache folder")
    parser.add_argument("--offline", action="store_true", help="use the cache only")
    parser.add_argument("--pre", action="store_true", help="allow pre-releases")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    if args.check:
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
    from cudaenv import knowledge, lock
    from cudaenv.request import Request

    out = _output(args)  # refuse bad input before the (slow) solve
    request = Request.from_args(
        tf=args.tf, spacy=args.spacy, python=args.python, platform=args.platform, pre=args.pre
    )
    know = knowledge.load()
    resolution = _solve(args, request, know)
    text = _render(resolution, args.format, know.version)
    if out == "-":
        render.line(text.rstrip("\n"))
        return OK
    lock.write_text(text, out)
    _report(resolution, out, args.format, as_json=args.json)
    return OK


def _solve(args: argparse.Namespace, request: Request, know: Knowledge) -> Resolution:
    from cudaenv.machine import Overrides, detect
    from cudaenv.solver import solve
    from cudaenv.solver.index import Index

    overrides = Overrides.from_env_and_args(driver=args.driver, cuda=args.cuda)
    machine = detect(overrides, driver_to_cuda=know.max_cuda_for_driver)
    with Index(args.index_url, cache_dir=args.cache_dir, offline=args.offline) as index:
        return solve(request, machine, know, index)


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
    from cudaenv.solver.index import Index

    info = lock.load(args.check)
    resolution = info.resolution
    know = knowledge.load()
    index = Index(  # page_ttl=0: revalidate every page, a check must see today's index
        args.index_url or resolution.index_url,
        cache_dir=args.cache_dir,
        offline=args.offline,
        page_ttl=0,
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
    render.line("make a new lock with `cudaenv lock …` (or use --check in CI to catch this)")
