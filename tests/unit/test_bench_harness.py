"""The benchmark harness's own logic: peak memory of a process tree, and the table it prints.

The harness itself (benchmarks/run.py) is never run by the suite: it downloads gigabytes. These
tests run its measurement on real processes (a parent and a child that each hold memory at the
same time), and its summaries on measures made here.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # report.py imports measure by this name
    spec.loader.exec_module(module)
    return module


measure = _load("measure")
report = _load("report")

# A parent holds HOLD MiB, starts a child that holds HOLD MiB too, and both wait until the child
# has filled its memory: the tree holds twice HOLD at once, no single process more than HOLD.
HOLD = 120
TREE = f"""
import subprocess, sys, time
held = b"p" * ({HOLD} << 20)
child = subprocess.Popen([sys.executable, "-c",
    "import time; held = b'c' * ({HOLD} << 20); print('full', flush=True); time.sleep(1)"],
    stdout=subprocess.PIPE)
child.stdout.readline()
child.wait()
"""


# The harness measures from a small, fresh Python, as benchmarks/run.py does: Linux starts a
# child's ru_maxrss at the size of the process that forked it, and this test process can be
# hundreds of MiB late in a full run.
HARNESS = """
import dataclasses, json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import measure
tmp = Path(sys.argv[2])
m = measure.measure([sys.executable, "-c", sys.argv[3]], env={}, cwd=tmp, log=tmp / "log")
print(json.dumps(dataclasses.asdict(m)))
"""


def test_peak_of_a_tree_counts_processes_that_run_side_by_side(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", HARNESS, str(BENCH), str(tmp_path), TREE],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    m = measure.Measure(**json.loads(out))
    assert m.code == 0, (tmp_path / "log").read_text()
    assert HOLD <= m.single_peak_mib < 2 * HOLD  # one process: its own peak, exact
    assert m.tree_peak_mib >= 2 * HOLD  # both at once, from the samples
    assert m.peak_mib == m.tree_peak_mib
    assert m.cpu_s > 0


def test_a_failed_command_is_a_failure_not_a_figure(tmp_path: Path) -> None:
    m = measure.measure(
        [sys.executable, "-c", "import sys; sys.exit(3)"], env={}, cwd=tmp_path, log=tmp_path / "l"
    )
    cell = report.Cell()
    cell.add(m)
    assert m.code == 3
    assert cell.summary()["failures"] == 1 and cell.summary()["median_s"] is None


def _m(wall: float, peak: float) -> object:
    return measure.Measure(code=0, wall_s=wall, cpu_s=wall, single_peak_mib=peak, tree_peak_mib=0)


def test_table_medians_ratios_and_tools_without_the_mode() -> None:
    ours, uv = report.Cell(), report.Cell()
    for wall, peak in ((3.0, 100), (1.0, 120), (2.0, 110)):
        ours.add(_m(wall, peak))
    for wall in (4.0, 4.0):
        uv.add(_m(wall, 60))
    row = report.Row("resolve-warm-offline", {"cudaenv": ours, "uv": uv, "pip": None})
    line = report.render([row]).splitlines()[-1]
    assert line.startswith("| resolve-warm-offline | 2.00 (1.00–3.00) | 4.00 (4.00–4.00) | n/a |")
    assert "| 0.50x | n/a |" in line  # cudaenv/uv, and no pip to compare with
    assert "| 120/60/– | 2.00x |" in line  # peak MiB is the largest run's; its ratio to uv
    assert row.to_json()["pip_s"] is None


@pytest.mark.parametrize(("a", "b", "text"), [(1.0, 2.0, "0.50x"), (1.0, None, "n/a")])
def test_ratio(a: float, b: float | None, text: str) -> None:
    assert report.ratio(a, b) == text
