"""Ctrl-C and SIGTERM unwind as exceptions, so that every rollback and ``finally`` runs.

Python turns SIGINT into ``KeyboardInterrupt``; SIGTERM's default is to die at once, which
would leave half-made environments, temporary files and children behind. :func:`sigterm_raises`
makes it raise :class:`~cudaenv.errors.Terminated` (a ``KeyboardInterrupt``) instead, and
:func:`signals_ignored` keeps a second signal from stopping a rollback halfway. On the way out,
:func:`clean_up` stops the children still running and removes the temporary files still being
written, and :func:`leave` ends the process at once (worker threads held by a server that never
answers are not waited for), after the CLI's ``flush`` has written out what its streams hold. A
signal that was ignored when cudaenv started (SIGINT in a background job) stays ignored: that is
what the user who started it asked for.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import TYPE_CHECKING

from cudaenv.errors import Terminated
from cudaenv.system import process, tmpfiles

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType

__all__ = ["clean_up", "leave", "signals_ignored", "sigterm_raises"]


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread (unless it was
    ignored or handled already); the previous handler comes back after it."""
    current = signal.getsignal(signal.SIGTERM) if _in_main_thread() else None
    if current not in (signal.SIG_DFL, _raise_terminated):
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM must not stop a rollback halfway."""
    if not _in_main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def clean_up() -> None:
    """Stop every child still running (with its process group); remove temporary files."""
    with signals_ignored():
        process.stop_children()
        tmpfiles.remove_all()


def leave(code: int, *, flush: Callable[[], None]) -> None:
    """End the process now with ``code``, after :func:`clean_up` (no new temporary file can be
    made after it) and after ``flush`` (the output streams', which only the CLI writes)."""
    with signals_ignored():
        process.stop_children()
        tmpfiles.remove_all(close=True)
        flush()
        os._exit(code)
