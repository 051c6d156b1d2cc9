"""A framework's process killed by a signal, named for what it is: the signal, the step it was
in, and the library at fault where its backtrace can be read.

A framework that segfaults while it initialises (CUPTI in ``jax.devices()`` on a machine with
no driver, a cuDNN of another major) never says why: its process dies. The probe runs each
part with ``PYTHONFAULTHANDLER=1``, so the log of a part that died holds Python's fault
report: the Python frames (``File "...", line N in f``), and from Python 3.14 the C frames too
(``Binary file "/.../libcupti.so.12", at ...``). :func:`crash_of` reads them into a
:class:`Crash`; the report says "JAX crashed: killed by SIGSEGV (signal 11) while it looked for a
GPU, in libcupti.so.12, called from jax/_src/xla_bridge.py (backends)", not that it "fails on
the GPU".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["Crash", "crash_of"]

_PY_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line \d+ in (?P<func>\S+)')
_C_FRAME = re.compile(r'^\s*Binary file "(?P<path>[^"]+)"')
# A C++ LOG(FATAL) / CHECK line, which aborts the process right after it: TensorFlow's own
# format ("2026-12-07 17:24:32.204795: F tensorflow/core/framework/tensor.cc:773] Check failed:
# ...") and absl's ("F0000 00:00:1733590000.123456  1234 file.cc:12] ...").
_FATAL = re.compile(
    r"^(?:\S+ \S+: F |F\d{4} \S+\s+\d+ )(?P<where>[\w./-]+\.\w+:\d+)\] (?P<message>.+)$"
)
# Binaries on every crash's path that are not its cause: the interpreter, libc's signal
# trampoline, and ctypes' call machinery.
_NOT_THE_CAUSE = re.compile(r"^(python[0-9.t]*|libpython.*|libc\.so.*|libffi\.so.*|_ctypes\..*)$")
_PHASES = {
    "import": "while it was imported",
    "gpu": "while it looked for a GPU",
    "bench": "during its benchmark",
    "start": "as it started",
}
_NAMES = {"tensorflow": "TensorFlow", "torch": "PyTorch", "jax": "JAX", "spacy": "spaCy"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Crash:
    """A part's process killed by a signal (``name``: ``SIGSEGV``) in one ``phase``."""

    signal: int
    name: str
    phase: str = ""
    library: str | None = None  # the first native library of the backtrace that is no bystander
    called_from: str | None = None  # the framework's innermost Python frame: file (function)
    fatal: str | None = None  # the C++ fatal message just before an abort, and where it is

    def text(self) -> str:
        where = _PHASES.get(self.phase) or (
            f"while it ran {_NAMES[self.phase]}" if self.phase in _NAMES else ""
        )
        out = f"killed by {self.name} (signal {self.signal})" + (f" {where}" if where else "")
        if self.library:
            out += f", in {self.library}"
        if self.called_from:
            out += f", called from {self.called_from}"
        if not (self.library or self.called_from):
            out += " (no backtrace in its log)"
        if self.fatal:
            out += f", after the fatal message {self.fatal}"
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "name": self.name,
            "phase": self.phase,
            "library": self.library,
            "called_from": self.called_from,
            "fatal": self.fatal,
        }


def crash_of(data: Mapping[str, Any], log: Iterable[Mapping[str, str]]) -> Crash | None:
    """The crash the probe recorded for a part (its ``crash``), with what the part's log
    (rows of ``line``) says of where; None when the part was not killed by a signal."""
    found = data.get("crash")
    if not isinstance(found, dict) or not isinstance(found.get("signal"), int):
        return None
    every = [str(row.get("line", "")) for row in log]
    lines = _current_thread(every)
    return Crash(
        signal=found["signal"],
        name=str(found.get("name") or f"signal {found['signal']}"),
        phase=str(found.get("phase") or ""),
        library=_library(lines),
        called_from=_called_from(lines),
        fatal=_fatal(every),
    )


def _fatal(lines: list[str]) -> str | None:
    """The last fatal C++ message of the log, as ``"Check failed: ..." (file.cc:773)``."""
    for line in reversed(lines):
        if match := _FATAL.match(line.strip()):
            return f'"{match.group("message").strip()}" ({match.group("where")})'
    return None


def _current_thread(lines: list[str]) -> list[str]:
    """The fault report's frames of the thread that faulted (it lists every thread), and the C
    stack after them; all the lines when the log holds no such report."""
    starts = [i for i, ln in enumerate(lines) if ln.startswith(("Current thread ", "Stack ("))]
    if not starts:
        return lines
    first = starts[0]
    end = next((i for i in range(first + 1, len(lines)) if lines[i].startswith("Thread 0x")), None)
    kept = lines[first:end]
    if end is not None:  # threads listed after the current one: the C stack is at the end
        kept += [ln for ln in lines[end:] if _C_FRAME.match(ln)]
    return kept


def _library(lines: list[str]) -> str | None:
    for line in lines:
        if match := _C_FRAME.match(line):
            name = match.group("path").rsplit("/", 1)[-1]
            if not _NOT_THE_CAUSE.match(name):
                return name
    return None


def _called_from(lines: list[str]) -> str | None:
    """The innermost Python frame of an installed package (the first one a fault report
    lists: most recent call first), as ``jax/_src/xla_bridge.py (backends)``."""
    for line in lines:
        match = _PY_FRAME.match(line)
        if match and "-packages/" in match.group("path"):
            where = match.group("path").split("-packages/", 1)[1]
            return f"{where} ({match.group('func')})"
    return None
