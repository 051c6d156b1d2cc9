"""What a long command is doing now, for the live status line of a terminal.

The steps (detect, solve, create, install, smoke) say which step starts and how far it is; the
status line (drawn by :mod:`cudaenv.render`, the only module that writes) reads
:meth:`Progress.text` a few times a second. Nothing here prints, and with no terminal nobody
reads it, so a step reports unconditionally and it costs nothing. A step may hand over a
*watch*, a function computed on every read (:class:`SolveWatch` reads the index client's
counters), so that a request which hangs shows its URL and the seconds waited without anybody
calling in.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from cudaenv.index import Index
    from cudaenv.solver.reporter import SolveEvent

__all__ = ["SLOW_REQUEST", "Progress", "SolveWatch", "size_text"]

SLOW_REQUEST = 1.0  # seconds: a request in flight this long is named on the status line


class Progress:
    """The step under way, a detail of it, and when it started (thread-safe: the installer's
    reader and the solver's threads report while the status line reads)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._step = ""
        self._detail = ""
        self._watch: Callable[[], str] | None = None
        self._since = clock()

    def step(self, text: str, *, watch: Callable[[], str] | None = None) -> None:
        """A new step starts: its seconds count from now; ``watch`` computes its detail."""
        with self._lock:
            self._step, self._detail, self._watch, self._since = text, "", watch, self._clock()

    def done(self) -> None:
        """No step under way (the status line disappears until the next one)."""
        self.step("")

    def detail(self, text: str) -> None:
        """How far the current step is ("downloading", "TensorFlow: importing")."""
        with self._lock:
            self._detail = text

    def text(self) -> str:
        """``step: detail (N s)``; empty before the first step."""
        with self._lock:
            step, detail, watch, since = self._step, self._detail, self._watch, self._since
        if not step:
            return ""
        live = watch() if watch is not None else detail
        body = f"{step}: {live}" if live else step
        return f"{body} ({int(self._clock() - since)} s)"


class SolveWatch:
    """A solve's progress: the solver's events counted (``on_event``), and on each read the
    index client's pages, METADATA files and the request it has waited on longest (first, so
    that a narrow terminal still shows it)."""

    def __init__(self, index: Index, url: str) -> None:
        self._index = index
        self._url = url
        self.pinned = 0
        self.backtracks = 0
        self.last: str | None = None

    def on_event(self, event: SolveEvent) -> None:
        if event.kind == "pin":
            self.pinned += 1
            self.last = f"{event.identifier} {event.version}"
        elif event.kind == "backtrack":
            self.backtracks += 1

    def text(self) -> str:
        now = self._index.activity()
        read = f"{_count(now.pages, 'page')}, {now.metadata} METADATA read"
        parts = []
        if now.slowest is not None and now.slowest_seconds >= SLOW_REQUEST:
            parts = [f"waiting {int(now.slowest_seconds)} s for {now.slowest}", read]
        else:
            parts = [f"{read} from {self._url}"]
        if now.waited >= SLOW_REQUEST:
            parts.append(f"{now.waited:.0f} s spent between retries")
        if self.backtracks:
            parts.append(_count(self.backtracks, "backtrack"))
        if self.pinned:
            parts.append(f"{self.pinned} pinned (last: {self.last})")
        return "; ".join(parts)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def size_text(size: int) -> str:
    """Bytes for people: ``1.9 GB``, ``12 MB``, ``800 kB`` (decimal units, as pip and uv)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} B"
