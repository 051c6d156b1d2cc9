"""What every check needs: the folders, the budget, the report, and how to run a command.

Commands run in a process group of their own and are killed, with their children, when their
time is up; their output goes to ``log.txt`` whole and to the check's details as a tail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from gpucheck.report import Deadline, Report

__all__ = ["Context", "Ran", "json_of", "tail"]


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


@dataclass(frozen=True)
class Ran:
    """One command's outcome."""

    argv: tuple[str, ...]
    rc: int | None  # None: killed at its time limit
    out: str
    err: str
    seconds: float

    def brief(self) -> dict[str, Any]:
        return {"argv": list(self.argv), "rc": self.rc, "seconds": round(self.seconds, 2),
                "stderr": tail(self.err), "stdout": tail(self.out, 10)}  # fmt: skip


def json_of(ran: Ran) -> Any:
    """The JSON document a command printed on stdout (``--json``), or None."""
    text = ran.out.strip()
    for start in (0, text.rfind("\n{") + 1):
        try:
            return json.loads(text[start:])
        except ValueError:
            continue
    return None


@dataclass
class Context:
    repo: Path
    work: Path
    report: Report
    deadline: Deadline
    python: Path  # the machine's own Python environment (the image's)
    cudaenv: tuple[str, ...]  # how to run cudaenv: (python, "-m", "cudaenv")
    gpu: bool  # a GPU is expected (False: a dry run)
    expect: tuple[str, ...]  # frameworks the machine's Python must hold
    carried: dict[str, list[Path]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)  # what a check leaves for later ones

    def run(
        self,
        title: str,
        argv: Sequence[str],
        *,
        most: float,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Ran:
        """Run ``argv`` for at most ``most`` seconds (less if the budget has less left)."""
        started = time.monotonic()
        limit = self.deadline.timeout(most)
        try:
            child = subprocess.Popen(
                list(argv),
                cwd=cwd or self.work,
                env=dict(env if env is not None else os.environ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as e:
            ran = Ran(tuple(argv), 127, "", f"could not start: {e}", 0.0)
        else:
            ran = _wait(child, tuple(argv), limit, started)
        shown = f"$ {' '.join(argv)}\n(exit {ran.rc}, {ran.seconds:.1f} s)"
        self.report.log(title, f"{shown}\n--- stdout\n{ran.out}\n--- stderr\n{ran.err}")
        return ran

    def cli(self, title: str, *args: str, most: float) -> Ran:
        """``cudaenv ARGS`` as a user runs it."""
        return self.run(title, [*self.cudaenv, *args], most=most)


def _wait(
    child: subprocess.Popen[bytes], argv: tuple[str, ...], limit: float, started: float
) -> Ran:
    try:
        out, err = child.communicate(timeout=limit)
        rc: int | None = child.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = child.communicate()
        rc = None
        err += f"\n(killed after {limit:.0f} s)".encode()
    text = (out.decode(errors="replace"), err.decode(errors="replace"))
    return Ran(argv, rc, text[0], text[1], time.monotonic() - started)
