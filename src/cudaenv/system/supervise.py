"""Run a command as cudaenv's child: its signals passed on, its exit status passed back.

``cudaenv run`` sits between a scheduler and the real program. Slurm, systemd and ``kill`` signal
cudaenv's pid, so every signal in :data:`FORWARDED` (INT, TERM, HUP, QUIT, and USR1/USR2, which
Slurm's ``--signal`` uses to warn a job before its time limit) is sent on to the child, and
cudaenv exits with the child's status, or 128 + N when a signal N ended it, as a shell reports.

The signals are blocked in cudaenv and taken with ``sigtimedwait``, which says who sent each
one. A Ctrl-C (or Ctrl-\\) at a terminal is sent by the kernel to the whole foreground process
group, the child included; passing that one on too would interrupt the child twice (a Python
child would lose its ``finally`` blocks to the second KeyboardInterrupt), so a signal whose
``si_code`` is ``SI_KERNEL`` is not forwarded. The child is started by ``posix_spawn`` with
cudaenv's original signal mask (no code runs between fork and exec).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["FORWARDED", "SI_KERNEL", "exit_status", "run"]

FORWARDED = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)
SI_KERNEL = 0x80  # Linux <asm-generic/siginfo.h>: sent by the kernel (a terminal's job control)
_WAKE = 1.0  # seconds; SIGCHLD wakes the wait as soon as the child ends
# Ignored by Python at start (and so by its children unless reset): what Popen's
# restore_signals resets to the default for the program it starts.
_IGNORED_BY_PYTHON = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, name)
)


def exit_status(returncode: int) -> int:
    """A shell's ``$?`` for a child: its exit code, or 128 + N if signal N ended it."""
    return 128 - returncode if returncode < 0 else returncode


def run(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """Run ``argv`` with ``environ`` (its ``PATH`` finds the program), forwarding signals;
    return :func:`exit_status` of the child. ``OSError`` when it cannot be started."""
    program = _program(argv[0], environ)
    waited = {*FORWARDED, signal.SIGCHLD}
    original = signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    try:
        pid = os.posix_spawn(
            program,
            list(argv),
            dict(environ),
            setsigmask=original,  # the child gets the mask cudaenv had, not the blocked one
            setsigdef=_IGNORED_BY_PYTHON,
        )
        try:
            return exit_status(_wait(pid, waited))
        finally:
            _reap(pid)
    finally:
        while signal.sigtimedwait(waited, 0) is not None:
            pass  # taken here, they would otherwise hit cudaenv once unblocked
        signal.pthread_sigmask(signal.SIG_SETMASK, original)


def _program(name: str, environ: Mapping[str, str]) -> str:
    """``name`` looked up on the ``PATH`` of ``environ`` (a path is taken as it is)."""
    if "/" in name:
        return name
    found = shutil.which(name, path=environ.get("PATH", os.defpath))
    if found is None:
        raise FileNotFoundError(errno.ENOENT, "no such program on PATH", name)
    return found


def _wait(pid: int, waited: set[signal.Signals]) -> int:
    """The child's wait status as Popen's returncode (-N for signal N)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        info = signal.sigtimedwait(waited, _WAKE)
        if info is None or info.si_signo == signal.SIGCHLD:
            continue
        if info.si_code != SI_KERNEL:  # the terminal already sent it to the child
            os.kill(pid, info.si_signo)


def _reap(pid: int) -> None:
    """Never leave the child behind: kill it if cudaenv itself failed while it ran."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass  # already reaped by _wait
