"""Command line: parse, call, render. Shared by ``cudaenv`` and the ``conda cudaenv`` plugin.

Subcommands live in :mod:`cudaenv.cli.commands`, one module each, discovered here so that adding a
command never edits this file. Command modules import their heavy dependencies inside ``run``;
each ends its ``--help`` with its ``EXAMPLES``. ``-v`` and ``-q`` are taken before the command
and after it, as pip and uv take them.

Under conda (``conda cudaenv``), conda reads the parsed arguments itself before it calls
:func:`execute`: every argument whose name is one of conda's settings (``prefix``, ``name``,
``json``, ``verbosity``, ``quiet``, ``offline``, ``channel``, ``force``...) is read by conda as
that setting, so each holds a plain string, number or flag of the type conda's setting has, and
``-v`` counts into conda's own ``verbosity``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from cudaenv import __version__
from cudaenv.cli import commands, render
from cudaenv.errors import (
    BUG,
    FAILURE,
    INTERRUPTED,
    OK,
    TERMINATED,
    CudaenvError,
    FilesystemError,
    Terminated,
    UsageError,
)
from cudaenv.system import interrupts, oserrors

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import ModuleType

__all__ = ["Parser", "configure_parser", "execute", "main", "usage_error"]


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
    _output_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    prog = "conda cudaenv" if host == "conda" else "cudaenv"
    for mod in _command_modules():
        p = sub.add_parser(
            mod.NAME,
            help=mod.HELP,
            description=mod.HELP,
            epilog=_examples(getattr(mod, "EXAMPLES", ()), prog),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.configure(p)
        _output_options(p, top=False)  # after the command too
        p.set_defaults(_run=mod.run, _prog=p.prog)
    parser.set_defaults(_parser=parser, host=host)


class Parser(argparse.ArgumentParser):
    """argparse's parser with cudaenv's usage errors: one sentence and the command's ``--help``
    as the hint, exit 2, and under ``--json`` the error as JSON on stdout (argparse prints its
    usage and a line of its own). An option given an empty value (``-p ''``) is such an error
    too: no option of cudaenv takes one, and an empty path would mean the current folder."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._given = list(sys.argv[1:] if args is None else args)
        parsed, extras = super().parse_known_args(self._given, namespace)
        empty = next((a for a in self._actions if _empty(a, parsed)), None)
        if empty is not None:
            self.error(f"argument {'/'.join(empty.option_strings)}: an empty value")
        return parsed, extras

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:  # the hint is the command's --help, where the options it takes are
            self._fail(
                f"unrecognized arguments: {' '.join(extras)}", getattr(parsed, "_prog", None)
            )
        return parsed

    def error(self, message: str) -> NoReturn:
        self._fail(message, None)

    def _fail(self, message: str, prog: str | None) -> NoReturn:
        as_json = "--json" in getattr(self, "_given", sys.argv[1:])
        render.error(usage_error(message, prog or self.prog), as_json=as_json)
        raise SystemExit(FAILURE)


def _empty(action: argparse.Action, parsed: argparse.Namespace) -> bool:
    """Whether an option that takes a value was given an empty one."""
    if not action.option_strings or action.nargs not in (None, "?"):
        return False
    value = getattr(parsed, action.dest, None)
    return value == "" or (isinstance(value, list) and "" in value)


def usage_error(message: str, prog: str) -> UsageError:
    """argparse's ``argument -n/--name: not allowed with argument -p/--prefix`` as one
    sentence, ``-n/--name cannot be given with -p/--prefix``, and the hint ``PROG --help``."""
    text = re.sub(r"^argument ([^:]+): ", r"\1: ", message)
    text = re.sub(r": not allowed with argument (\S+)$", r" cannot be given with \1", text)
    return UsageError(text, hint=f"see `{prog} --help`")


def _output_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``-v`` (repeatable; conda's ``verbosity``) and ``-q``. Not given after a command, they
    set nothing (argparse would otherwise overwrite the top's ``cudaenv -v solve``)."""
    unset: Any = None if top else argparse.SUPPRESS
    parser.add_argument(
        "-v",
        "--verbose",
        dest="verbosity",
        action="count",
        default=0 if unset is None else unset,
        help="debug output (requests, solver decisions, the installer's own lines) and "
        "tracebacks; -vv adds the HTTP client's",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=False if unset is None else unset,
        help="no progress and no step lines: results, warnings and errors only",
    )


def _examples(examples: Sequence[str], prog: str) -> str | None:
    """The ``examples:`` block that ends a command's ``--help``."""
    if not examples:
        return None
    return "examples:\n" + "\n".join(f"  {prog} {e}" for e in examples)


def execute(args: argparse.Namespace) -> int:
    """Run the chosen subcommand; the one place that turns failures into exit codes. SIGTERM
    unwinds like Ctrl-C, and on every exit the children cudaenv started are stopped and its
    temporary files removed."""
    run = getattr(args, "_run", None)
    if run is None:
        render.usage(args._parser)
        return FAILURE
    render.configure(
        verbosity=int(getattr(args, "verbosity", 0) or 0),
        quiet=bool(getattr(args, "quiet", False)),
        as_json=bool(getattr(args, "json", False)),
    )
    with interrupts.sigterm_raises():
        try:
            code = _outcome(run, args)
            render.flush()  # a reader that went away shows here, not in Python's exit
        except BrokenPipeError:  # the reader went away (`cudaenv matrix | head`): not our failure
            render.discard_stdout()
            return OK
        finally:
            interrupts.clean_up()
    return code


def _outcome(run: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    try:
        return int(run(args) or 0)
    except BrokenPipeError:
        raise
    except CudaenvError as err:
        return _failed(err, args)
    except OSError as err:  # the file system refused where no stage expected it: not a bug
        if not (oserrors.is_refusal(err) and isinstance(err.filename, str)):
            render.crash()
            return BUG
        return _failed(oserrors.explain(err, err.filename, doing="use", cls=FilesystemError), args)
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (Terminated)
        terminated = isinstance(stop, Terminated)
        render.interrupted(terminated=terminated)
        return TERMINATED if terminated else INTERRUPTED
    except Exception:  # a bug: say so, with the traceback, and exit 1
        render.crash()
        return BUG


def _failed(err: CudaenvError, args: argparse.Namespace) -> int:
    render.error(err, as_json=bool(getattr(args, "json", False)))
    if getattr(args, "verbosity", 0):
        render.trace()
    return FAILURE


def main(argv: Sequence[str] | None = None) -> int:
    """The ``cudaenv`` command; ``argv`` None: this process's own arguments, and then a run
    stopped by a signal ends the process at once after cleaning up (in-process callers, who
    pass ``argv``, get the exit code back)."""
    from cudaenv.system import memory

    memory.one_arena()  # before any thread starts: a solve's pages stay out of idle arenas
    parser = Parser(
        prog="cudaenv",
        description="Python environments where TensorFlow and spaCy really use the NVIDIA GPU.",
    )
    configure_parser(parser)
    args = parser.parse_args(argv)
    code = execute(args)
    if argv is None and code in (INTERRUPTED, TERMINATED):
        interrupts.leave(code, flush=render.flush_all)  # no waiting for threads a server holds
    return code
