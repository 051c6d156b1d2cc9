"""The only module that writes to the terminal: tables, JSON, messages and errors.

Keeping output here lets ``cli.py`` stay "parse, call, render" and makes both hosts (the
``cudaenv`` command and ``conda cudaenv``) print identical text.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from cudaenv.errors import CudaenvError

__all__ = ["emit_json", "error", "line", "table", "warn"]


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
