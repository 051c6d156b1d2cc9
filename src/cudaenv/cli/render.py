"""The only cudaenv module that writes to the terminal: lines, tables, JSON, warnings, errors,
crashes, debug output (``-v``), and the live status line of a long step. argparse prints
``--help``, ``--version`` and usage errors itself; every child's output is captured.

Keeping output here lets the command line (:mod:`cudaenv.cli`) stay "parse, call, render", makes
both hosts (the ``cudaenv`` command and ``conda cudaenv``) print identical text, and keeps the rules
in one place: stdout carries what a command reports (under ``--json``, only the JSON); warnings,
errors, debug lines and the status line go to stderr. The status line (:func:`activity`) is drawn
only when stderr is a terminal, and never with ``--json`` or ``-q``: a pipe gets no progress
chatter. It is redrawn several times a second, so a terminal never stays silent during a long step,
and every other write clears it first and draws it again after, so lines never mix with it. It is
hand-made (a carriage return and an erase-line sequence), which every terminal of the last decades
understands; rich would be a dependency for one line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import threading
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from cudaenv.cli.status import Status, TerminalSink

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from cudaenv.errors import CudaenvError
    from cudaenv.events import Sink

__all__ = [
    "TICK",
    "activity",
    "configure",
    "crash",
    "detail",
    "discard_stdout",
    "emit_json",
    "error",
    "flush",
    "info",
    "interrupted",
    "line",
    "progress",
    "progress_end",
    "table",
    "trace",
    "usage",
    "warn",
]

TICK = 0.25  # seconds between redraws of the status line
_CLEAR = "\r\x1b[2K"  # back to column 0, erase the line
_SPIN = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


@dataclass(slots=True)
class _Settings:
    verbosity: int = 0
    quiet: bool = False
    as_json: bool = False
    ticker: _Ticker | None = None  # the status line being drawn


_settings = _Settings()
_lock = threading.RLock()


def configure(*, verbosity: int = 0, quiet: bool = False, as_json: bool = False) -> None:
    """The output options of the command about to run (``-v``, ``-q``, ``--json``), and
    logging to match: ``-v`` shows cudaenv's debug lines (requests, solver decisions), ``-vv``
    also the HTTP client's."""
    _settings.verbosity, _settings.quiet, _settings.as_json = verbosity, quiet, as_json
    _configure_logging(verbosity)


def _live() -> bool:
    """Whether a status line may be drawn: stderr is a terminal, no --json, no -q."""
    if _settings.quiet or _settings.as_json or os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stderr.isatty()
    except ValueError:  # closed
        return False


@contextlib.contextmanager
def activity(*, notes: Callable[[str], None] | None = None) -> Iterator[Sink]:
    """The sink for the events of a long command's stages (:mod:`cudaenv.events`): on a
    terminal a status line shows the step under way until the block ends (then it is erased),
    and a count is drawn in place (:func:`progress`); a note is a line of :func:`info` (or of
    ``notes``), a tool's own output a line of :func:`detail`. Nested: on the outer status line."""
    if _settings.ticker is not None:
        yield _sink(_settings.ticker.status, notes)
        return
    status = Status()
    if not _live():
        yield _sink(status, notes)
        return
    ticker = _Ticker(status)
    _settings.ticker = ticker
    ticker.start()
    try:
        yield _sink(status, notes)
    finally:
        ticker.stop()
        _settings.ticker = None


def _sink(status: Status, notes: Callable[[str], None] | None) -> Sink:
    return TerminalSink(status, count=progress, note=notes or info, output=detail)


class _Ticker(threading.Thread):
    """Redraws the status line every :data:`TICK` seconds while a step runs."""

    def __init__(self, status: Status) -> None:
        super().__init__(name="cudaenv-status", daemon=True)
        self.status = status
        self.shown = False
        self._done = threading.Event()
        self._frame = 0

    def run(self) -> None:
        while not self._done.wait(TICK):
            with _lock:
                self.draw()

    def draw(self) -> None:
        utf = (sys.stderr.encoding or "").lower().startswith("utf")
        width = max(_columns() - 1, 10)  # the last column would wrap on some terminals
        text = self.status.text(width - 2, ellipsis="…" if utf else "...")
        if not text:
            return
        self._frame += 1
        spin = _SPIN if utf else "|/-\\"
        shown = f"{spin[self._frame % len(spin)]} {text}"[:width]
        _raw(sys.stderr, f"{_CLEAR}{shown}")
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            _raw(sys.stderr, _CLEAR)
            self.shown = False

    def stop(self) -> None:
        self._done.set()
        self.join()
        with _lock:
            self.clear()


def _columns() -> int:
    """The width of the terminal stderr is on (a longer line would wrap and stay behind)."""
    try:
        columns = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = 0
    return columns if columns > 0 else shutil.get_terminal_size().columns  # size unset: 80


def _raw(stream: TextIO, text: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # a terminal that went away
        stream.write(text)
        stream.flush()


def _write(stream: TextIO, text: str) -> None:
    """Write ``text`` (whole lines) to ``stream``, around the status line if one is drawn."""
    with _lock:
        ticker = _settings.ticker
        if ticker is None:
            stream.write(text)
            return
        ticker.clear()
        stream.write(text)
        stream.flush()
        ticker.draw()


def _out(stream: TextIO | None) -> TextIO:
    return stream if stream is not None else sys.stdout


def line(text: str = "", *, stream: TextIO | None = None) -> None:
    """Print one line of human-readable output to stdout."""
    _write(_out(stream), f"{text}\n")


def info(text: str) -> None:
    """A line that says what was done (``created ...``, ``installed ...``), on stdout; none
    with ``-q`` or ``--json``."""
    if not (_settings.quiet or _settings.as_json):
        line(text)


def progress(text: str) -> None:
    """A count (``download``, ``verify``), drawn in place on a terminal's stderr like the
    status line; nothing on a pipe, with ``--json`` or ``-q``."""
    if _live():
        with _lock:
            _raw(sys.stderr, f"{_CLEAR}{text[: max(_columns() - 1, 10)]}")


def progress_end() -> None:
    """Erase the line :func:`progress` drew (the summary that follows prints as usual)."""
    if _live():
        with _lock:
            _raw(sys.stderr, _CLEAR)


def detail(text: str) -> None:
    """A line for ``-v`` only (the installer's own output), on stderr."""
    if _settings.verbosity > 0:
        _write(sys.stderr, f"{text}\n")


def warn(text: str) -> None:
    """Print a warning to stderr, where it does not mix with machine-readable output."""
    _write(sys.stderr, f"warning: {text}\n")


def emit_json(obj: Any, *, stream: TextIO | None = None) -> None:
    """Print ``obj`` as indented JSON (sorted keys, so output is stable for diffs)."""
    _write(_out(stream), json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def table(
    rows: Iterable[Sequence[object]],
    headers: Sequence[str],
    *,
    stream: TextIO | None = None,
) -> None:
    """Print a plain left-aligned table; plain text copies cleanly into issues and chats."""
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    _write(_out(stream), "".join(f"{x}\n" for x in lines))


def usage(parser: argparse.ArgumentParser) -> None:
    """The help of ``parser`` on stdout (``cudaenv`` without a command)."""
    parser.print_help(sys.stdout)


def error(err: CudaenvError, *, as_json: bool = False) -> None:
    """Render an expected failure: the message, its context and the hint, never a traceback."""
    if as_json:
        emit_json({"error": err.to_dict()})
        return
    text = f"error: {err.message}\n"
    if err.context:  # one reason a line, each indented
        text += "".join(f"  {line}\n" for line in err.context.splitlines())
    if err.hint:
        text += f"hint: {err.hint}\n"
    _write(sys.stderr, text)


def trace() -> None:
    """The traceback of the exception being handled, on stderr (``--verbose``)."""
    _write(sys.stderr, traceback.format_exc())


def interrupted(*, terminated: bool = False) -> None:
    """Ctrl-C or SIGTERM: everything half-made has been removed by the time this prints."""
    what = "terminated" if terminated else "interrupted"
    _write(sys.stderr, f"{what}: nothing half-made was left behind\n")


def crash() -> None:
    """A bug: the traceback, and a sentence saying it is one."""
    trace()
    _write(
        sys.stderr, "cudaenv crashed: this is a bug, please report it with the traceback above\n"
    )


class _Handler(logging.Handler):
    """Log records as lines on stderr, around the status line."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _write(sys.stderr, self.format(record) + "\n")
        except (OSError, ValueError):
            self.handleError(record)


class _Formatter(logging.Formatter):
    """Debug lines as ``DEBUG cudaenv.net.http: ...``; a warning as :func:`warn` writes one,
    ``warning: ...``, for it is meant for the user, not for a developer."""

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {record.getMessage()}"
        return super().format(record)


_handler = _Handler()
_handler.setFormatter(_Formatter("%(levelname)s %(name)s: %(message)s"))


def _configure_logging(verbosity: int) -> None:
    """cudaenv's loggers at debug level with ``-v``; the HTTP client's connections
    (``cudaenv.wire``) with ``-vv``. Records go through :class:`_Handler` only, never also to
    a host's handlers."""
    levels = {
        "cudaenv": logging.DEBUG if verbosity >= 1 else logging.WARNING,
        "cudaenv.wire": logging.DEBUG if verbosity >= 2 else logging.WARNING,
    }
    for name, level in levels.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = False
        if _handler not in logger.handlers:
            logger.addHandler(_handler)


def flush() -> None:
    """Write out what stdout still buffers (when it is a pipe), so that a reader that went
    away is seen here, where the CLI handles it, not in Python's exit."""
    sys.stdout.flush()


def flush_all() -> None:
    """Write out what stdout and stderr buffer, as the process is about to end at once (a
    reader that went away is no longer anyone's concern)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


def discard_stdout() -> None:
    """The reader of stdout went away (``cudaenv matrix | head``): send the rest nowhere, so
    that Python's flush at exit does not fail on the closed pipe."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
