"""The terminal's side of the progress protocol: the status line's state, and the CLI's sink.

The stages (detect, solve, create, install, smoke, download, verify) send their events
(:mod:`cudaenv.events`) to a :class:`TerminalSink`, which keeps the step under way in a
:class:`Status` and hands counts, notes and a tool's output on as lines; the status line (drawn
by :mod:`cudaenv.cli.render`, the only module that writes) reads :meth:`Status.text` a few times
a second. Nothing here prints, and with no terminal nobody reads it. A step may hand over a
*watch*, a function computed on every read (the solve's reads the index client's counters), so
that a request which hangs shows its URL and the seconds waited without anybody calling in.

A terminal may be narrower than the line: :meth:`Status.text` given a width drops what is
least useful first. The step may name a folder (``where``), which the user typed and knows: it
goes ``~``-relative, then keeps fewer of its last names (``…/env``), then goes; then the seconds
go. The step's own words and the part under way (``TensorFlow: importing``) are cut only when
nothing else is left: the step's words first, down to a few, then the detail's end.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.events import Count, Detail, Done, Note, Output, Step

if TYPE_CHECKING:
    from collections.abc import Callable

    from cudaenv.events import Event

__all__ = ["Status", "TerminalSink", "count_text", "path_forms"]


class Status:
    """The step under way, a detail of it, and when it started (thread-safe: the installer's
    reader and the solver's threads report while the status line reads)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._step = ""
        self._where: Path | None = None
        self._detail = ""
        self._watch: Callable[[], str] | None = None
        self._since = clock()

    def step(
        self,
        text: str,
        *,
        where: str | os.PathLike[str] | None = None,
        watch: Callable[[], str] | None = None,
    ) -> None:
        """A new step starts: its seconds count from now; ``watch`` computes its detail.
        ``where``: the folder it works in, shown as ``text in where`` while the line has room."""
        with self._lock:
            self._step, self._detail, self._watch = text, "", watch
            self._where = Path(where) if where is not None else None
            self._since = self._clock()

    def done(self) -> None:
        """No step under way (the status line disappears until the next one)."""
        self.step("")

    def detail(self, text: str) -> None:
        """How far the current step is ("downloading", "TensorFlow: importing")."""
        with self._lock:
            self._detail = text

    def text(self, width: int | None = None, *, ellipsis: str = "…") -> str:
        """``step in where: detail (N s)``; empty before the first step. With ``width``, the
        longest form that fits (see the module's docstring), cut with ``ellipsis`` if none
        does."""
        with self._lock:
            step, where, detail, watch = self._step, self._where, self._detail, self._watch
            since = self._since
        if not step:
            return ""
        live = watch() if watch is not None else detail
        seconds = f" ({int(self._clock() - since)} s)"
        places = path_forms(where, ellipsis=ellipsis) if where is not None else []
        forms = [_line(f"{step} in {place}", live, seconds) for place in places]
        forms += [_line(step, live, seconds), _line(step, live, "")]
        if width is None:
            return forms[0]
        fits = [form for form in forms if len(form) <= width]
        return fits[0] if fits else _squeeze(step, live, width, ellipsis)


MIN_STEP = 10  # characters of a step's words kept before its detail is cut instead


def _line(step: str, live: str, seconds: str) -> str:
    return f"{step}: {live}{seconds}" if live else f"{step}{seconds}"


def _squeeze(step: str, live: str, width: int, ellipsis: str) -> str:
    """``step: live`` in ``width`` when it does not fit: the step's words are cut while the
    whole detail still fits beside at least :data:`MIN_STEP` of them, else the line's end."""
    room = width - len(live) - len(": ")
    if live and room >= MIN_STEP:
        return f"{_cut(step, room, ellipsis)}: {live}"
    return _cut(_line(step, live, ""), width, ellipsis)


def _cut(text: str, width: int, ellipsis: str) -> str:
    return text[: max(width - len(ellipsis), 0)] + ellipsis if len(text) > width else text


def path_forms(path: Path, *, ellipsis: str = "…") -> list[str]:
    """``path`` as the status line may show it, longest first: as it is, ``~``-relative
    (under the home folder), then keeping fewer and fewer of its last names down to one
    (``…/project/env``, ``…/env``)."""
    forms = [str(path)]
    home = Path(os.path.expanduser("~"))
    if home != Path(home.anchor) and path.is_relative_to(home) and path != home:
        forms.append(str(Path("~", path.relative_to(home))))
    names = path.parts[1:] if path.is_absolute() else path.parts
    for keep in range(len(names) - 1, 0, -1):
        forms.append(f"{ellipsis}/{'/'.join(names[-keep:])}")
    return [form for n, form in enumerate(forms) if all(len(form) < len(x) for x in forms[:n])]


class TerminalSink:
    """The terminal's side of the progress protocol (:mod:`cudaenv.events`): a step goes to the
    status line's :class:`Status`; a count, a note and a tool's output become lines, written by
    the functions :mod:`cudaenv.cli.render` gives (the only module that writes). The solver's
    own events are for the watch of its step, which counts them."""

    def __init__(
        self,
        status: Status,
        *,
        count: Callable[[str], None],
        note: Callable[[str], None],
        output: Callable[[str], None],
    ) -> None:
        self._status = status
        self._count, self._note, self._output = count, note, output

    def __call__(self, event: Event, /) -> None:
        match event:
            case Step():
                self._status.step(event.text, where=event.where, watch=event.watch)
            case Detail():
                self._status.detail(event.text)
            case Done():
                self._status.done()
            case Count():
                self._count(count_text(event))
            case Note():
                self._note(event.text)
            case Output():
                self._output(event.text)


def count_text(count: Count) -> str:
    """``downloading: 3/87 wheels, 120.4 MB of 1934.0 MB``, ``checking installed files: 3/87
    packages``."""
    text = f"{count.what}: {count.done}/{count.total} {count.unit}"
    if count.size is None:
        return text
    of = f" of {_mb(count.size_total)}" if count.size_total else ""
    return f"{text}, {_mb(count.size)}{of}"


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
