"""``cudaenv download LOCK -d DIR``: every wheel of a lock into a folder, for offline installs.

Parse, call, render: :mod:`cudaenv.wheelhouse` fetches (hash-checked, parallel, resumable);
this module draws the progress on a terminal and prints what was done, or the JSON of it.
The folder then goes to nodes without network:
``cudaenv create --from DIR/pylock.toml --find-links DIR --offline -p ENV``.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.cli import render
from cudaenv.errors import OK

if TYPE_CHECKING:
    import argparse

    from cudaenv.wheelhouse import Wheelhouse

NAME = "download"
HELP = "fetch every wheel of a lock into a folder (a wheelhouse for offline installs)"
ORDER = 45
EXAMPLES = (
    "download pylock.toml -d wheelhouse",
    "download ./tf215-spacy37/pylock.toml -d /srv/wheels -j 8",
    "download pylock.toml -d wheelhouse --json",
)

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    from cudaenv.wheelhouse import DEFAULT_JOBS

    parser.add_argument("lock", metavar="LOCK", help="the pylock.toml to fetch")
    parser.add_argument("-d", "--dest", required=True, metavar="DIR", help="the wheelhouse folder")
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=DEFAULT_JOBS,
        metavar="N",
        help=f"wheels fetched at once (default {DEFAULT_JOBS})",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from cudaenv import wheelhouse

    try:
        with render.activity() as sink:  # the count drawn in place; none with --json
            house = wheelhouse.download_lock(
                Path(args.lock), Path(args.dest), jobs=args.jobs, sink=sink
            )
    except KeyboardInterrupt:
        render.progress_end()
        render.warn(
            f"stopped: what arrived is kept as {args.dest}/*.part; run this again to resume"
        )
        raise
    finally:
        render.progress_end()
    if args.json:
        render.emit_json(_facts(house, Path(args.lock)))
    else:
        _summary(house, Path(args.lock))
    return OK


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _facts(house: Wheelhouse, lock: Path) -> dict[str, object]:
    return {
        "directory": str(house.directory),
        "lock": str(house.directory / lock.name),
        "wheels": len(house.wheels),
        "downloaded": house.count("downloaded"),
        "resumed": house.count("resumed"),
        "present": house.count("present"),
        "bytes": house.size,
        "received": house.received,
        "seconds": round(house.seconds, 3),
    }


def _summary(house: Wheelhouse, lock: Path) -> None:
    new = house.count("downloaded") + house.count("resumed")
    render.line(
        f"{house.directory}: {len(house.wheels)} wheels, {_mb(house.size)} "
        f"({new} fetched, {house.count('resumed')} of them resumed, {house.count('present')} "
        f"already there; {_mb(house.received)} received in {house.seconds:.1f} s)"
    )
    folder = shlex.quote(str(house.directory))
    locked = shlex.quote(str(house.directory / lock.name))
    render.line(
        f"install it offline with: cudaenv create --from {locked} --find-links {folder} "
        "--offline -p ENV"
    )
