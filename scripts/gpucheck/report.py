"""The report: one :class:`Check` per step, written as ``report.json`` (everything, for programs),
``summary.txt`` (the figures, for people) and ``log.txt`` (each command's full output).

Written again after every check (to a temporary name, then renamed), so a run stopped by its
time limit still leaves every finished check in the folder. The folder gets these three files
only: the lent machines hand back at most eight.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["LOG_LIMIT", "Check", "Deadline", "Report"]

LOG_LIMIT = 8 * 1024 * 1024  # bytes of log.txt: well under the 16 MiB a returned file may have


@dataclass(frozen=True)
class Check:
    """One step's outcome. ``ok``: True passed, False failed, None not applicable here (a dry
    run's GPU verdicts, spaCy when none was carried) or not run (out of time)."""

    name: str
    ok: bool | None
    summary: str
    seconds: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


class Deadline:
    """The time budget of the whole run: each command gets what is left, less a reserve for
    writing the report."""

    def __init__(self, seconds: float, reserve: float = 10.0) -> None:
        self.start = time.monotonic()
        self.end = self.start + seconds
        self.reserve = reserve

    def left(self) -> float:
        return self.end - self.reserve - time.monotonic()

    def timeout(self, most: float) -> float:
        """Seconds a command may run: ``most``, or what is left, whichever is smaller (≥ 1)."""
        return max(1.0, min(most, self.left()))

    def elapsed(self) -> float:
        return time.monotonic() - self.start


class Report:
    """The checks so far, and the files they are written to."""

    def __init__(self, out: Path, facts: dict[str, Any]) -> None:
        self.out = out
        self.facts = facts
        self.checks: list[Check] = []
        self._log_size = 0
        self._lock = threading.RLock()  # two checks run at once (main.py)
        out.mkdir(parents=True, exist_ok=True)
        (out / "log.txt").write_text("")

    def add(self, check: Check) -> Check:
        with self._lock:
            self.checks.append(check)
            self.write()
        return check

    def log(self, title: str, text: str) -> None:
        """Append a command's output to log.txt, up to :data:`LOG_LIMIT` bytes in all."""
        block = f"===== {title}\n{text.rstrip()}\n\n"
        room = LOG_LIMIT - self._log_size
        if room <= 0:
            return
        data = block.encode(errors="replace")[:room]
        with self._lock, (self.out / "log.txt").open("ab") as f:
            f.write(data)
            self._log_size += len(data)

    @property
    def passed(self) -> bool:
        """Every check passed or did not apply, and at least one ran; none is missing."""
        return bool(self.checks) and all(c.ok is not False for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "facts": self.facts,
            "checks": [asdict(c) for c in self.checks],
            "figures": {c.name: c.figures for c in self.checks if c.figures},
        }

    def write(self) -> None:
        _replace(self.out / "report.json", json.dumps(self.to_json(), indent=2, default=str))
        _replace(self.out / "summary.txt", summary(self))


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text + "\n")
    os.replace(tmp, path)


def summary(report: Report) -> str:
    """The readable report: a line per check, then the figures the issue asks for."""
    facts = report.facts
    lines = [
        f"cudaenv gpu-check: {'PASSED' if report.passed else 'FAILED'}"
        f" ({facts.get('mode', '?')} run, {facts.get('seconds', 0):.0f} s so far)",
        f"machine: {facts.get('machine', '?')}",
        "",
    ]
    for c in report.checks:
        mark = {True: "ok  ", False: "FAIL", None: "n/a "}[c.ok]
        lines.append(f"{mark} {c.name:<18} {c.summary} ({c.seconds:.1f} s)")
    lines.append("")
    for c in report.checks:
        for key, value in c.figures.items():
            lines.append(f"{c.name}.{key}: {_shown(value)}")
    return "\n".join(lines)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)
