"""``cudaenv verify -p ENV [--lock FILE] [--json]``: does the environment still match its lock?

Parse, call, render: :func:`cudaenv.verify.check` compares (every locked package at its
version, nothing missing or extra, every file intact where RECORD hashes it, this machine
meets the lock); this module prints each difference, or the JSON fleet tools read, and exits 2
when anything differs.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.cli import render
from cudaenv.cli.commands._options import default_prefix
from cudaenv.errors import FAILURE, OK

if TYPE_CHECKING:
    import argparse

    from cudaenv.verify import Verdict

NAME = "verify"
HELP = "check that an environment matches its lock exactly (packages, files, driver floor)"
ORDER = 65
EXAMPLES = (
    "verify -p ./tf215-spacy37",
    "verify -p ./tf215-spacy37 --lock team/pylock.toml --json",
)

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-p", "--prefix", help="the environment (default: the active one)")
    parser.add_argument(
        "--lock", metavar="FILE", help="the lock to compare with (default: ENV's own)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from cudaenv import verify

    prefix = Path(default_prefix(args.prefix, "verify"))
    lock = Path(args.lock) if args.lock else None
    lock_file = lock or prefix / verify.LOCK_NAME
    try:
        with render.activity() as sink:  # the count drawn in place; none with --json
            verdict = verify.check(prefix, lock, sink=sink)
    finally:
        render.progress_end()
    if args.json:
        render.emit_json(_facts(verdict, prefix, lock_file))
    else:
        _report(verdict, prefix, lock_file)
    return OK if verdict.matches else FAILURE


def _facts(verdict: Verdict, prefix: Path, lock_file: Path) -> dict[str, object]:
    return {
        "prefix": str(prefix),
        "lock": str(lock_file),
        "matches": verdict.matches,
        "differences": [d.to_dict() for d in verdict.differences],
        "packages": verdict.packages,
        "files": verdict.files,
        "added": list(verdict.added),
        "ignored": list(verdict.ignored),
    }


def _report(verdict: Verdict, prefix: Path, lock_file: Path) -> None:
    if verdict.added:
        render.line(f"added after the lock (recorded): {', '.join(verdict.added)}")
    if verdict.matches:
        added = f", {len(verdict.added)} of them recorded additions" if verdict.added else ""
        render.line(
            f"{prefix} matches {lock_file}: {verdict.packages} packages at their locked "
            f"versions{added}, {verdict.files} files intact, and this machine meets the lock"
        )
        return
    render.line(f"{prefix} differs from {lock_file} ({len(verdict.differences)}):")
    for difference in verdict.differences:
        render.line(f"  - {difference.message}")
        if difference.hint:
            render.line(f"    hint: {difference.hint}")
    if any(d.package is not None for d in verdict.differences):
        render.line(f"remake it exactly with: {_remake(verdict, prefix, lock_file)}")
        if verdict.uv_cached:
            render.line(
                "  (uv hardlinks installed files from its cache, so a file edited in place was "
                "edited there too: `uv cache clean` removes those copies first)"
            )


def _remake(verdict: Verdict, prefix: Path, lock_file: Path) -> str:
    create = (
        f"cudaenv create --from {shlex.quote(str(lock_file))} -p {shlex.quote(str(prefix))} --force"
    )
    if not verdict.uv_cached:
        return create
    from cudaenv.system.process import find_uv

    uv = "uv" if shutil.which("uv") else shlex.quote(str(find_uv() or "uv"))
    return f"{uv} cache clean {' '.join(verdict.uv_cached)} && {create}"
