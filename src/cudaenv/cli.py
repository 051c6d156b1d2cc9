"""Command line: parse, call, render. Shared by ``cudaenv`` and the ``conda cudaenv`` plugin.

Subcommands live in :mod:`cudaenv.commands`, one module each, discovered here so that adding a
command never edits this file. Command modules import their heavy dependencies inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from typing import TYPE_CHECKING

from cudaenv import __version__, commands, render
from cudaenv.errors import BUG, FAILURE, INTERRUPTED, OK, CudaenvError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import ModuleType

__all__ = ["configure_parser", "execute", "main"]


def _command_modules() -> list[ModuleType]:
    mods = [
        importlib.import_module(f"{commands.__name__}.{info.name}")
        for info in pkgutil.iter_modules(commands.__path__)
        if not info.name.startswith("_")
    ]
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 100), m.NAME))


def configure_parser(parser: argparse.ArgumentParser, *, host: str = "cudaenv") -> None:
    """Add every subcommand to ``parser`` (the top-level one, or the one conda hands us).

    ``host`` ("cudaenv" or "conda") lands in ``args.host``: under conda, ``-n NAME`` names a
    conda environment and the conda backend is the default.
    """
    parser.add_argument("--version", action="version", version=f"cudaenv {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show tracebacks and debug output"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.configure(p)
        p.set_defaults(_run=mod.run)
    parser.set_defaults(_parser=parser, host=host)


def execute(args: argparse.Namespace) -> int:
    """Run the chosen subcommand; the one place that turns failures into exit codes."""
    run = getattr(args, "_run", None)
    if run is None:
        render.usage(args._parser)
        return FAILURE
    try:
        code = _outcome(run, args)
        render.flush()  # a reader that went away shows here, not in Python's exit
    except BrokenPipeError:  # the reader went away (`cudaenv matrix | head`): not our failure
        render.discard_stdout()
        return OK
    return code


def _outcome(run: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    try:
        return int(run(args) or 0)
    except BrokenPipeError:
        raise
    except CudaenvError as err:
        render.error(err, as_json=bool(getattr(args, "json", False)))
        if getattr(args, "verbose", False):
            render.trace()
        return FAILURE
    except KeyboardInterrupt:
        render.interrupted()
        return INTERRUPTED
    except Exception:  # a bug: say so, with the traceback, and exit 1
        render.crash()
        return BUG


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cudaenv",
        description="Python environments where TensorFlow and spaCy really use the NVIDIA GPU.",
    )
    configure_parser(parser)
    args = parser.parse_args(argv)
    return execute(args)
