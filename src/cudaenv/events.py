"""What a long step tells whoever watches it: one protocol, an event sink, for every stage.

The stages that take a while (detect, solve, check a lock, create, install, download, verify,
the smoke test) say what they are doing by calling a :class:`Sink`, a function of one event,
that their caller passes as ``sink=`` (none given: :func:`discard`). A :class:`Step` starts
(its seconds count from then), a :class:`Detail` says how far it is, :class:`Done` ends it; a
:class:`Count` says how many of how many are done; a :class:`Note` is a line of what was done
(``created venv environment at ...``), an :class:`Output` a line of a tool's own output (the
installer's); a :class:`SolveEvent` is what the search just did (a pin, a backtrack). Nothing
below the CLI prints, and a stage reports unconditionally: with nobody watching, an event
costs a call. The CLI's sink (``cudaenv.cli.render.activity``) draws the step and the counts
on a terminal, prints the notes and shows a tool's output with ``-v``; a pipe and ``--json``
get none of it. A test's sink is a list's ``append``.

The events are typed ``NamedTuple`` values, not the frozen dataclasses the other values are:
every command imports this module as it starts, and seven frozen dataclasses take about three
times as long to define as seven ``NamedTuple`` classes (some 3 ms against 1 ms here, measured
with ``python -X importtime``), which a warm ``--offline`` solve would feel. They are as
immutable; no event is ever compared with another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from packaging.version import Version

__all__ = [
    "Count",
    "Detail",
    "Done",
    "Event",
    "Note",
    "Output",
    "Sink",
    "SolveEvent",
    "Step",
    "discard",
    "size_text",
]


class Step(NamedTuple):
    """A new step starts (``solving``). ``where``: the folder it works in, which the user
    typed; ``watch``: its detail, computed anew each time someone looks (a solve's counts)."""

    text: str
    where: Path | None = None
    watch: Callable[[], str] | None = None


class Detail(NamedTuple):
    """How far the step under way is (``downloading``, ``TensorFlow: importing``)."""

    text: str


class Done(NamedTuple):
    """No step under way, until the next one."""


class Count(NamedTuple):
    """``done`` of ``total`` ``unit`` (wheels, packages) of the work ``what`` names; ``size``:
    the bytes so far, of ``size_total`` where every size is known."""

    what: str
    done: int
    total: int
    unit: str
    size: int | None = None
    size_total: int | None = None


class Note(NamedTuple):
    """A line that says what was done (``installed 87 locked wheels ... in 31.2 s``)."""

    text: str


class Output(NamedTuple):
    """A line of a tool's own output (the installer's), for whoever wants every line."""

    text: str


class SolveEvent(NamedTuple):
    """One step of a solve's search: ``start``, ``pin`` (a candidate chosen), ``reject`` (a
    candidate dropped for a conflict), ``backtrack`` (the causes of a conflict), ``end``."""

    kind: str  # start | pin | reject | backtrack | end
    identifier: str | None = None
    version: Version | None = None
    detail: str | None = None


Event: TypeAlias = Step | Detail | Done | Count | Note | Output | SolveEvent


class Sink(Protocol):
    """Where a stage's events go: called with each, from any thread; it must not raise."""

    def __call__(self, event: Event, /) -> None: ...


def discard(event: Event, /) -> None:
    """Nobody watches: the sink of a stage whose caller gives none."""


def size_text(size: int) -> str:
    """Bytes for people: ``1.9 GB``, ``12 MB``, ``800 kB`` (decimal units, as pip and uv)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} B"
