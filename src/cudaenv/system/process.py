"""Child processes: find uv, start a tool, pass its output on, and never leave one running.

The installer (uv or pip) and the environment backends (venv, conda) both run tools, and the
smoke test runs a probe that starts children of its own. These helpers sit below all of them,
so that ``envs/`` never imports the installer that runs after it.

Every child starts in a process group (and session) of its own (:func:`start`), so that what it
starts in turn (ensurepip's pip, the probe's TensorFlow child) belongs to that group too, and is
stopped with it: on an exception (Ctrl-C, SIGTERM turned into an exception) the whole group is
terminated, then killed, and the child reaped before the caller's rollback runs
(:func:`stop_process`); :func:`stop_children` stops any group still running when cudaenv exits.
Only SIGKILL of cudaenv itself leaves children behind: nothing runs after it.
"""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from shutil import which
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "TAIL_BYTES",
    "find_uv",
    "run",
    "run_streaming",
    "start",
    "stop_children",
    "stop_process",
]

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


_lock = threading.Lock()
_running: set[subprocess.Popen[Any]] = set()  # children whose groups are not stopped yet


def start(cmd: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(cmd, **popen)`` in a new session and process group (its id is the
    child's pid), remembered until :func:`finish` or :func:`stop_process`."""
    proc: subprocess.Popen[Any] = subprocess.Popen(cmd, start_new_session=True, **popen)
    with _lock:
        _running.add(proc)
    return proc


def finish(proc: subprocess.Popen[Any]) -> int:
    """Wait for a child that ends by itself; return its exit status."""
    code = proc.wait()
    with _lock:
        _running.discard(proc)
    return code


def stop_process(proc: subprocess.Popen[Any], grace: float = 5) -> None:
    """Terminate a child's whole process group, kill what is left of it after ``grace``
    seconds, and reap the child (no zombie is left). Until the child is reaped its id cannot
    name another process, so the group is signalled only before that."""
    if proc.returncode is None:
        _signal_group(proc, signal.SIGTERM)
        _exited(proc, grace)
        _signal_group(proc, signal.SIGKILL)
    proc.wait()
    with _lock:
        _running.discard(proc)


def _exited(proc: subprocess.Popen[Any], grace: float) -> bool:
    """Wait up to ``grace`` seconds for the child to exit, leaving it to be reaped."""
    deadline = time.monotonic() + grace
    while True:
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:  # reaped already
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _signal_group(proc: subprocess.Popen[Any], signum: int) -> None:
    """The child's process group if it leads one (:func:`start`), else the child alone."""
    try:
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, signum)
        else:
            os.kill(proc.pid, signum)
    except (ProcessLookupError, PermissionError):  # gone (or no longer ours)
        pass


def stop_children(grace: float = 2) -> None:
    """Stop every child still running, with its group (cudaenv is exiting)."""
    with _lock:
        running = list(_running)
    for proc in running:
        _signal_group(proc, signal.SIGTERM)
    for proc in running:
        stop_process(proc, grace=grace)


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
        proc = start(cmd, stdin=subprocess.DEVNULL, stdout=writer, stderr=writer, env=env)
    except OSError:
        os.close(reader)
        os.close(writer)
        raise
    os.close(writer)
    try:
        tail = _pump(reader, _Lines(sink) if by_line else sink)
        return finish(proc), tail
    finally:
        os.close(reader)
        if proc in _running:  # we are unwinding (Ctrl-C, SIGTERM): stop the child first
            stop_process(proc)


def run(
    cmd: Sequence[str],
    *,
    timeout: float | None = None,
    check: bool = False,
    grace: float = 5,
    **popen: Any,
) -> subprocess.CompletedProcess[Any]:
    """:func:`subprocess.run` for a child in its own group, its output captured unless
    ``popen`` says otherwise. On a timeout (``TimeoutExpired``) or any exception, Ctrl-C
    included, the whole group is stopped (SIGTERM, SIGKILL after ``grace`` seconds) before the
    exception goes on."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    proc = start(cmd, **popen)
    with proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:
            stop_process(proc, grace=grace)
            raise
        code = finish(proc)
    if check and code != 0:
        raise subprocess.CalledProcessError(code, list(cmd), out, err)
    return subprocess.CompletedProcess(list(cmd), code, out, err)


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
