"""The only cudaenv module that writes to the terminal: lines, tables, JSON, warnings, errors,
crashes, and the output of the tools cudaenv runs (the installer's progress bars). argparse
prints ``--help``, ``--version`` and usage errors itself; every other child's output is
captured.

Keeping output here lets ``cli.py`` stay "parse, call, render", makes both hosts (the
``cudaenv`` command and ``conda cudaenv``) print identical text, and keeps the rule in one
place: stdout carries what a command reports (under ``--json``, only the JSON); warnings,
errors and the installer's output go to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable, Sequence

    from cudaenv.errors import CudaenvError

__all__ = [
    "crash",
    "discard_stdout",
    "emit_json",
    "error",
    "flush",
    "interrupted",
    "line",
    "passthrough",
    "progress",
    "progress_end",
    "stderr_is_terminal",
    "table",
    "trace",
    "usage",
    "warn",
]


def _out(stream: TextIO | None) -> TextIO:
    return stream if stream is not None else sys.stdout


def line(text: str = "", *, stream: TextIO | None = None) -> None:
    """Print one line of human-readable output to stdout."""
    print(text, file=_out(stream))


def warn(text: str) -> None:
    """Print a warning to stderr, where it does not mix with machine-readable output."""
    print(f"warning: {text}", file=sys.stderr)


def emit_json(obj: Any, *, stream: TextIO | None = None) -> None:
    """Print ``obj`` as indented JSON (sorted keys, so output is stable for diffs)."""
    print(json.dumps(obj, indent=2, sort_keys=True, default=str), file=_out(stream))


def table(
    rows: Iterable[Sequence[object]],
    headers: Sequence[str],
    *,
    stream: TextIO | None = None,
) -> None:
    """Print a plain left-aligned table; plain text copies cleanly into issues and chats."""
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = _out(stream)
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)


def passthrough(text: str) -> None:
    """Another program's output as it wrote it (the installer's progress bars included), on
    stderr: it is progress, never part of the result on stdout."""
    sys.stderr.write(text)
    sys.stderr.flush()


def stderr_is_terminal() -> bool:
    """Whether :func:`passthrough` reaches a terminal (then a tool may draw progress bars)."""
    return sys.stderr.isatty()


def usage(parser: argparse.ArgumentParser) -> None:
    """The help of ``parser`` on stdout (``cudaenv`` without a command)."""
    parser.print_help(sys.stdout)


def error(err: CudaenvError, *, as_json: bool = False) -> None:
    """Render an expected failure: the message, its context and the hint, never a traceback."""
    if as_json:
        emit_json({"error": err.to_dict()})
        return
    print(f"error: {err.message}", file=sys.stderr)
    if err.context:
        print(f"  {err.context}", file=sys.stderr)
    if err.hint:
        print(f"hint: {err.hint}", file=sys.stderr)


def trace() -> None:
    """The traceback of the exception being handled, on stderr (``--verbose``)."""
    traceback.print_exc(file=sys.stderr)


def interrupted() -> None:
    """Ctrl-C: everything half-made has been removed by the time this prints."""
    print("interrupted: nothing half-made was left behind", file=sys.stderr)


def crash() -> None:
    """A bug: the traceback, and a sentence saying it is one."""
    trace()
    print(
        "cudaenv crashed: this is a bug, please report it with the traceback above",
        file=sys.stderr,
    )


def flush() -> None:
    """Write out what stdout still buffers (when it is a pipe), so that a reader that went
    away is seen here, where the CLI handles it, not in Python's exit."""
    sys.stdout.flush()


def discard_stdout() -> None:
    """The reader of stdout went away (``cudaenv matrix | head``): send the rest nowhere, so
    that Python's flush at exit does not fail on the closed pipe."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def progress(text: str) -> None:
    """One line of progress, redrawn in place on a terminal's stderr; nothing on a pipe (a log
    or ``--json`` reader gets no chatter)."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[2K" + text)
        sys.stderr.flush()


def progress_end() -> None:
    """Clear the progress line (the summary that follows is printed as usual)."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[2K")
        sys.stderr.flush()
