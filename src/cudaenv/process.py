"""Child processes: find uv, run a tool with its output passed on, stop a child cleanly.

The installer (uv or pip) and the environment backends (uv venv, conda) both run tools. These
helpers sit below both, so that ``envs/`` never imports the installer that runs after it.
A child is never left running or unreaped: on an exception (Ctrl-C) it is stopped first, so
the caller's rollback never races it.
"""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
from collections import deque
from pathlib import Path
from shutil import which
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = ["TAIL_BYTES", "find_uv", "run_streaming", "stop_process"]

TAIL_BYTES = 64 * 1024  # how much of a child's output is kept to explain its failure


def find_uv() -> Path | None:
    """The uv that came with cudaenv (the ``uv`` package, a dependency, knows where its binary
    went: the environment's scripts folder, a ``--target`` or user install), else one beside
    cudaenv's own interpreter, else the one on PATH; None where there is none (a platform
    without a uv wheel: pip then installs)."""
    try:
        from uv import find_uv_bin
    except ImportError:
        bundled = None
    else:
        try:
            bundled = Path(find_uv_bin())
        except (OSError, RuntimeError):  # uv.UvNotFound is a FileNotFoundError
            bundled = None
    beside = Path(sys.executable).parent / "uv"
    for candidate in (bundled, beside):
        if candidate is not None and candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = which("uv")
    return Path(found) if found else None


def stop_process(proc: subprocess.Popen[Any], grace: float = 5) -> None:
    """Terminate a child, kill it after ``grace`` seconds, and reap it (no zombie is left)."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_streaming(
    cmd: Sequence[str],
    sink: Callable[[str], None],
    *,
    by_line: bool = False,
    terminal: bool = False,
    env: Mapping[str, str] | None = None,
) -> tuple[int, str]:
    """Run ``cmd`` (stdin closed, stdout and stderr merged), hand its output to ``sink`` as it
    comes, and return (exit code, its last :data:`TAIL_BYTES` of output).

    ``by_line``: ``sink`` gets whole lines without their ending; otherwise the text as the
    child wrote it (progress bars included). ``terminal``: the child writes to a
    pseudo-terminal, so it draws as it would on ours. ``env``: the child's environment
    (default: ours). Raises ``OSError`` when ``cmd`` cannot be started.
    """
    if terminal:
        import pty

        reader, writer = pty.openpty()
    else:
        reader, writer = os.pipe()
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=writer, stderr=writer, env=env
        )
    except OSError:
        os.close(reader)
        os.close(writer)
        raise
    os.close(writer)
    try:
        tail = _pump(reader, _Lines(sink) if by_line else sink)
        return proc.wait(), tail
    finally:
        os.close(reader)
        if proc.poll() is None:  # we are unwinding (Ctrl-C): stop the child first
            stop_process(proc)


class _Lines:
    """Text in pieces -> whole lines (without ``\\n`` or ``\\r``) to ``sink``."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self._sink = sink
        self._pending = ""

    def __call__(self, text: str) -> None:
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            self._sink(line.rstrip("\r"))

    def flush(self) -> None:
        if self._pending:
            self._sink(self._pending.rstrip("\r"))
            self._pending = ""


def _pump(fd: int, sink: Callable[[str], None]) -> str:
    """Read ``fd`` to its end, passing decoded text on; return the decoded tail."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    chunks: deque[bytes] = deque()
    size = 0
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # a pty reports EIO once the child has closed it
            data = b""
        if not data:
            break
        text = decoder.decode(data)
        if text:  # empty when the chunk ended inside a character
            sink(text)
        chunks.append(data)
        size += len(data)
        while size > TAIL_BYTES and len(chunks) > 1:
            size -= len(chunks.popleft())
    rest = decoder.decode(b"", final=True)
    if rest:
        sink(rest)
    if isinstance(sink, _Lines):
        sink.flush()
    return b"".join(chunks).decode(errors="replace")
