"""Run a command as a child of a small, fresh Python and measure it: exit code, output, wall
time and peak memory (``benchmarks/measure.py``).

Linux starts a child's ``ru_maxrss`` at the size of the process that forked it, so a test run
(hundreds of MiB late in a full suite) must not fork the command itself: a fresh interpreter
does, as ``benchmarks/run.py`` does. The command runs under ``timeout -s KILL`` (its peak still
reaches the harness: ``wait4`` folds up every reaped descendant) and with its address space
capped (``RLIMIT_AS``), so that a command that runs away fails the test instead of the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["Measured", "run_measured"]

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
_HARNESS = """
import dataclasses, json, resource, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import measure
cap, seconds, cwd, log, cmd, env = json.loads(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
m = measure.measure(["timeout", "-s", "KILL", str(seconds), *cmd], env=env, cwd=Path(cwd),
                    log=Path(log))
print(json.dumps(dataclasses.asdict(m)))
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Measured:
    code: int  # -9 or 137: killed at the time limit
    output: str  # stdout and stderr together
    wall_s: float
    peak_mib: float


def run_measured(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: Path,
    seconds: int = 90,
    cap_mib: int = 4096,
) -> Measured:
    """Run *cmd* (killed after *seconds*, its address space at most *cap_mib*)."""
    args = [cap_mib << 20, seconds, str(cwd), str(log), list(cmd), dict(env)]
    out = subprocess.run(
        [sys.executable, "-c", _HARNESS, str(BENCH), json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    m = json.loads(out)
    return Measured(
        code=m["code"],
        output=log.read_text(errors="replace"),
        wall_s=m["wall_s"],
        peak_mib=max(m["single_peak_mib"], m["tree_peak_mib"]),
    )
