"""Which part of the smoke test runs now, as the probe tells it, for the status line.

The probe runs for a minute or more (TensorFlow's import alone takes seconds), and its stdout
and stderr are its report and its log, read when it ends. So it also writes one line per step
to a pipe of its own: cudaenv passes the pipe's write end (its number in
:data:`PROGRESS_FD`, inherited by the probe's children), and :class:`PhasePipe` reads the
lines as they come. ``probe.py`` writes ``part NAME`` as it starts each part, ``parts.py``
``phase NAME`` at each phase inside one.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["PROGRESS_FD", "PhasePipe", "describe"]

PROGRESS_FD = "CUDAENV_PROGRESS_FD"  # keep equal in probe.py and parts.py

_PARTS = {
    "libraries": "loading the CUDA libraries",
    "driver": "asking the NVIDIA driver",
    "tensorflow": "TensorFlow",
    "torch": "PyTorch",
    "jax": "JAX",
    "spacy": "spaCy on the CPU",
    "spacy-gpu": "spaCy on the GPU",
    "together": "all frameworks in one process",
}
# The phases of a part; ``together`` names each framework as it starts it.
_PHASES = {
    "import": "importing",
    "gpu": "first GPU use",
    "bench": "benchmark",
    "tensorflow": "TensorFlow",
    "torch": "PyTorch",
    "jax": "JAX",
    "spacy": "spaCy",
}


def describe(part: str, phase: str | None) -> str:
    """``TensorFlow: importing`` from the probe's ``tensorflow`` and ``import``."""
    text = _PARTS.get(part, part)
    return f"{text}: {_PHASES.get(phase, phase)}" if phase else text


class PhasePipe:
    """A pipe whose write end the probe inherits; each ``part``/``phase`` line it writes
    becomes ``on_phase(describe(part, phase))``, on a reader thread.

    Use as a context manager around the probe's run: :attr:`fd` goes into the probe's
    environment as :data:`PROGRESS_FD` and into ``pass_fds``; leaving closes the write end,
    so the reader ends once the probe and its children have closed theirs.
    """

    def __init__(self, on_phase: Callable[[str], None]) -> None:
        self._on_phase = on_phase
        read, self.fd = os.pipe()
        self._reader = threading.Thread(
            target=self._read, args=(read,), name="cudaenv-smoke-phases", daemon=True
        )

    def __enter__(self) -> PhasePipe:
        self._reader.start()
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)
        self._reader.join(timeout=5)  # a grandchild still holding the pipe must not hang us

    def _read(self, fd: int) -> None:
        part = ""
        with open(fd, encoding="utf-8", errors="replace") as lines:
            for row in lines:
                kind, _, name = row.strip().partition(" ")
                if kind == "part":
                    part = name
                    self._on_phase(describe(part, None))
                elif kind == "phase" and part:
                    self._on_phase(describe(part, name))
