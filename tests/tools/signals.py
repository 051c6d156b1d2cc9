"""Start a real ``python -m cudaenv`` whose SIGINT and SIGTERM do what they do in a terminal.

A process started with SIGINT ignored (a background job: ``./scripts/test &``, ``nohup``) passes
that on to its children, and Python then never raises KeyboardInterrupt: a test that sends
SIGINT must set the disposition it relies on. The child resets both signals to their defaults
and then execs the interpreter, so Python installs its own SIGINT handler as it does at a
prompt (no ``preexec_fn``, which is unsafe in a process with threads, as tests have). A test
that signals its own process sets Python's handler for the time it needs it
(:func:`sigint_raises`).
"""

from __future__ import annotations

import contextlib
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["python_with_default_signals", "sigint_raises"]

_RESET = (
    "import os, signal, sys\n"
    "for s in (signal.SIGINT, signal.SIGTERM):\n"
    "    signal.signal(s, signal.SIG_DFL)\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n"
)


def python_with_default_signals(*args: str) -> list[str]:
    """argv that runs ``python ARGS`` with SIGINT and SIGTERM at their defaults."""
    return [sys.executable, "-c", _RESET, *args]


@contextlib.contextmanager
def sigint_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt in this process within the block, even if it was ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
