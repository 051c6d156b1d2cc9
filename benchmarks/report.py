"""The figures of a benchmark run: per-cell summaries (median, min-max), ratios, markdown tables.

Kept apart from the runner so that the arithmetic and the layout can be checked without running
any tool.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from measure import Measure

__all__ = ["TOOLS", "Cell", "Row", "ratio", "render"]

TOOLS = ("cudaenv", "uv", "pip")
Summary = dict[str, "float | int | None"]


@dataclass(slots=True)
class Cell:
    """Every run of one tool in one row."""

    runs: list[Measure] = field(default_factory=list)
    failures: int = 0

    def add(self, m: Measure | None) -> None:
        if m is None or m.code != 0:
            self.failures += 1
        else:
            self.runs.append(m)

    def json_runs(self) -> list[dict[str, float]]:
        return [m.to_json() for m in self.runs]

    def summary(self) -> Summary:
        """Wall seconds (median, min, max), CPU seconds (median) and peak MiB (the largest)."""
        if not self.runs:
            keys = ("median_s", "min_s", "max_s", "cpu_s", "peak_mib", "single_peak_mib")
            return {**dict.fromkeys(keys), "n": 0, "failures": self.failures}
        walls = [m.wall_s for m in self.runs]
        return {
            "median_s": round(statistics.median(walls), 3),
            "min_s": round(min(walls), 3),
            "max_s": round(max(walls), 3),
            "cpu_s": round(statistics.median(m.cpu_s for m in self.runs), 3),
            "peak_mib": round(max(m.peak_mib for m in self.runs), 1),
            "single_peak_mib": round(max(m.single_peak_mib for m in self.runs), 1),
            "n": len(self.runs),
            "failures": self.failures,
        }


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the table: a cell per tool, ``None`` where a tool has no such mode."""

    name: str
    cells: dict[str, Cell | None]

    def summaries(self) -> dict[str, Summary | None]:
        return {t: (c.summary() if c else None) for t, c in self.cells.items()}

    def to_json(self) -> dict[str, object]:
        """Each tool's summary with its single runs, and the flat ``<tool>_s`` medians."""
        out: dict[str, object] = {"name": self.name}
        for tool, cell in self.cells.items():
            s = cell.summary() if cell else None
            out[tool] = None if cell is None else {**cell.summary(), "runs": cell.json_runs()}
            out[f"{tool}_s"] = s["median_s"] if s else None
        return out


def ratio(a: float | int | None, b: float | int | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def _wall(s: Summary | None) -> str:
    if s is None:
        return "n/a"
    if s["median_s"] is None:
        return "failed"
    return f"{s['median_s']:.2f} ({s['min_s']:.2f}–{s['max_s']:.2f})"


def _get(s: Summary | None, key: str) -> float | int | None:
    return s[key] if s else None


def _num(v: float | int | None, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def render(rows: Sequence[Row]) -> str:
    """The markdown table: wall medians (min–max), ratios to uv and pip, CPU and peak memory."""
    lines = [
        "| row | cudaenv s | uv s | pip s | cudaenv/uv | cudaenv/pip | CPU s (cudaenv/uv/pip) "
        "| peak MiB (cudaenv/uv/pip) | peak cudaenv/uv |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c = [r.summaries().get(t) for t in TOOLS]
        cpu = "/".join(_num(_get(s, "cpu_s"), ".2f") for s in c)
        peak = "/".join(_num(_get(s, "peak_mib"), ".0f") for s in c)
        lines.append(
            f"| {r.name} | {_wall(c[0])} | {_wall(c[1])} | {_wall(c[2])} "
            f"| {ratio(_get(c[0], 'median_s'), _get(c[1], 'median_s'))} "
            f"| {ratio(_get(c[0], 'median_s'), _get(c[2], 'median_s'))} | {cpu} | {peak} "
            f"| {ratio(_get(c[0], 'peak_mib'), _get(c[1], 'peak_mib'))} |"
        )
    return "\n".join(lines)
