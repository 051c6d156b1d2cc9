"""Run a command on a pseudo-terminal, as a user's terminal would, and time what it shows.

:func:`run_on_terminal` starts a real process with stdin, stderr (and stdout, unless it is
asked to be a pipe) on a new pseudo-terminal of the given size, reads everything it writes
there with the time each chunk arrived, and returns a :class:`TerminalRun`:
``longest_silence`` is the longest stretch without a byte, from the start to the exit.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import pty
import select
import struct
import subprocess
import termios
import time
from dataclasses import dataclass, field

__all__ = ["TerminalRun", "run_on_terminal"]


@dataclass
class TerminalRun:
    code: int
    started: float
    ended: float
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    stdout: str = ""  # when stdout was a pipe

    @property
    def text(self) -> str:
        """Everything the terminal received, decoded."""
        return b"".join(c for _, c in self.chunks).decode(errors="replace")

    @property
    def longest_silence(self) -> float:
        """The longest time without output: start, each chunk, exit."""
        times = [self.started, *(t for t, _ in self.chunks), self.ended]
        return max(b - a for a, b in itertools.pairwise(times))


def run_on_terminal(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    columns: int = 120,
    rows: int = 40,
    stdout_pipe: bool = False,
    timeout: float = 600,
) -> TerminalRun:
    """Run ``argv`` on a new pseudo-terminal of ``columns`` x ``rows``; stdout a pipe if
    ``stdout_pipe``. Kills it after ``timeout`` seconds (then the code is -9)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    environ = {**(env if env is not None else os.environ), "TERM": "xterm-256color"}
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=subprocess.PIPE if stdout_pipe else slave,
        stderr=slave,
        env=environ,
        cwd=cwd,
        start_new_session=True,
    )
    os.close(slave)
    run = TerminalRun(code=0, started=started, ended=started)
    out: list[bytes] = []
    readers = [master] + ([proc.stdout.fileno()] if proc.stdout is not None else [])
    try:
        while readers and time.monotonic() - started < timeout:
            ready, _, _ = select.select(readers, [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # the pty reports EIO once the child has closed it
                    data = b""
                if not data:
                    readers.remove(fd)
                elif fd == master:
                    run.chunks.append((time.monotonic(), data))
                else:
                    out.append(data)
        if proc.poll() is None and readers:
            proc.kill()
        run.code = proc.wait(timeout=30)
        run.ended = time.monotonic()
    finally:
        os.close(master)
        if proc.stdout is not None:
            proc.stdout.close()
    run.stdout = b"".join(out).decode(errors="replace")
    return run
