"""Wall time, CPU time and peak memory of one command and every process it starts.

Peak memory is the peak of the tool's process tree, taken two ways and reported as the larger:

- the kernel's exact peak resident set of any *single* process of the tree: ``ru_maxrss`` from
  ``os.wait4`` on the command, which Linux folds up from every descendant that was waited for
  (a parent that reaps its children passes their peaks on);
- the peak *sum* of the resident sets of all processes of the tree alive at the same moment,
  sampled every ``interval`` seconds from ``/proc`` (``/proc/PID/task/TID/children`` for the
  tree, ``/proc/PID/statm`` for each resident set). This is what catches a tool whose processes
  run side by side (cudaenv's Python waiting on the uv it runs to install); pages shared between
  processes count once per process, as ``ps`` counts them.

Linux starts a new process's ``ru_maxrss`` at the resident set of the process that forked it
(exec keeps the old address space's high-water mark), so the exact figure is at least the
harness's own size when it started the command: run the harness from a small, fresh Python
(benchmarks/run.py is one), never from inside a large process such as a test run.

The first is exact but blind to concurrency; the second sees concurrency but can miss a peak
shorter than the interval. Neither is ever smaller than the true peak of the larger kind, so
their maximum is a lower bound of the tree's true peak and the fair figure to compare.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["Measure", "measure", "tree_rss"]

_PAGE = os.sysconf("SC_PAGE_SIZE")
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Measure:
    """One run: wall and CPU seconds, and its peak memory in MiB (see the module docstring)."""

    code: int
    wall_s: float
    cpu_s: float
    single_peak_mib: float  # ru_maxrss: the largest process of the tree, exact
    tree_peak_mib: float  # sampled: the largest sum over the tree's live processes
    load_1m: float = 0.0  # the machine's load average when the run started (others' work too)

    @property
    def peak_mib(self) -> float:
        return max(self.single_peak_mib, self.tree_peak_mib)

    def to_json(self) -> dict[str, float]:
        return {
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "single_peak_mib": round(self.single_peak_mib, 1),
            "tree_peak_mib": round(self.tree_peak_mib, 1),
            "load_1m": round(self.load_1m, 2),
        }


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            try:
                found += [int(c) for c in Path(task.path, "children").read_text().split()]
            except OSError:
                continue
    except OSError:
        pass
    return found


def tree_rss(root: int) -> int:
    """Bytes resident in *root* and all its live descendants right now (0 once it is gone)."""
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue  # exited between the listing and the read
        todo += _children(pid)
    return total


class _Sampler(threading.Thread):
    """Polls the resident size of a process tree until told to stop; keeps the largest sum."""

    def __init__(self, root: int, interval: float):
        super().__init__(daemon=True)
        self.root, self.interval, self.peak = root, interval, 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, tree_rss(self.root))
            self.stop.wait(self.interval)


def measure(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: Path,
    interval: float = 0.02,
) -> Measure:
    """Run *cmd* with its stdout and stderr to *log*; measure it and its descendants."""
    load = os.getloadavg()[0]
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
        sampler = _Sampler(proc.pid, interval)
        sampler.start()
        # wait4, not Popen.wait: it gives the rusage of this child and its reaped descendants.
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        sampler.stop.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measure(
        code=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        single_peak_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        tree_peak_mib=sampler.peak / _MIB,
        load_1m=load,
    )
