"""Every ``cudaenv explain`` fix is concrete, and every command it names works when run.

The fix of each row of ``recipes/log_lines.toml`` is of one kind:

- nothing to do (noise, and information that needs no action);
- commands (``run``): run here as a user would paste them, in bash, with a fresh venv's python
  first on PATH and the solver's test index (plus ``tests/cases/hints/index.json``) as the
  user's index; each must exit 0. ``cudaenv create`` is run with ``--no-smoke``: the test
  index's TensorFlow is a placeholder package, which no smoke test passes;
- an action on the machine (install or reload the driver, start the container with GPUs,
  reboot): nothing this machine can run, and only rows whose cause is the driver or the
  container may have it.

Lines come from the captures in tests/data/logs, and for rows with commands and no capture from
``MADE`` below: the message as the source prints it (each row's ``source``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cudaenv.knowledge.logschema import load_log_rules
from cudaenv.smoke import tf_lines_by_soname
from tests.functional.solve_index import hints_server  # noqa: F401 (a fixture)

if TYPE_CHECKING:
    from cudaenv.knowledge.loglines import LogLine
    from tests.tools.index_server import IndexServer

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs"
MADE = {
    "numpy-abi": "ValueError: numpy.dtype size changed, may indicate binary incompatibility. "
    "Expected 96 from C header, got 88 from PyObject",
    "kernel-image-invalid": "CUDA_ERROR_INVALID_IMAGE: device kernel image is invalid",
    "ptxas-newer-than-driver": "The NVIDIA driver's CUDA version is 12.2 which is older than the "
    "ptxas CUDA version (12.5.82). Because the driver is older than the ptxas version, XLA is "
    "disabling parallel compilation, which may slow down compilation.",
    "libdevice-missing": "Can't find libdevice directory ${CUDA_DIR}/nvvm/libdevice. This may "
    "result in compilation or runtime failures, if the program we try to run uses routines "
    "from libdevice.",
    "ptxas-missing": "Couldn't invoke ptxas --version",
    "cuda-visible-devices-hides": "I0000 cuda_diagnostics.cc:99] CUDA_VISIBLE_DEVICES is set to "
    "-1 - this hides all GPUs from CUDA",
    "cuda-invalid-device": "failed call to cuInit: CUDA_ERROR_INVALID_DEVICE: invalid device "
    "ordinal",
    "cuda-stub-library": "failed call to cuInit: CUDA_ERROR_STUB_LIBRARY: CUDA driver is a stub "
    "library",
    "thinc-cupy-not-installed": "ValueError: Cannot use GPU, CuPy is not installed",
    "thinc-no-gpu": "ValueError: No GPU devices detected",
    "cupy-nvrtc-headers": 'catastrophic error: cannot open source file "vector_types.h"',
}
MACHINE_CAUSES = ("driver", "container")


def classified() -> dict[str, list[LogLine]]:
    """Per row, the lines of the captures (and MADE) it classifies, one per distinct fix."""
    from cudaenv import knowledge

    rules, tf = load_log_rules(), tf_lines_by_soname(knowledge.load())
    found: dict[str, list[LogLine]] = {}
    lines = [x for f in sorted(LOGS.glob("*.txt")) for x in f.read_text().splitlines()]
    for text in [*lines, *MADE.values()]:
        got = rules.classify(text, tf_lines=tf)
        if got is not None and got.run not in [x.run for x in found.get(got.rule, [])]:
            found.setdefault(got.rule, []).append(got)
    return found


def kind(rule_id: str) -> str:
    rule = next(r for r in load_log_rules().rules if r.id == rule_id)
    if rule.run:
        return "commands"
    return "nothing" if rule.fix == "nothing to do" else "machine"


def test_every_fix_is_of_one_kind_and_each_kind_is_there() -> None:
    kinds: dict[str, list[str]] = {}
    for rule in load_log_rules().rules:
        kinds.setdefault(kind(rule.id), []).append(rule.id)
        if kind(rule.id) == "machine":
            assert rule.cause in MACHINE_CAUSES, (rule.id, rule.fix)
        if rule.verdict == "noise":
            assert kind(rule.id) == "nothing", rule.id
    assert set(kinds) == {"nothing", "commands", "machine"}
    assert len(kinds["commands"]) >= 20, kinds


def test_every_row_with_commands_has_a_line_it_classifies() -> None:
    have = classified()
    missing = [r.id for r in load_log_rules().rules if r.run and r.id not in have]
    assert missing == []


@pytest.fixture(scope="module")
def shell(
    hints_server: IndexServer,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """What a user's shell has: a venv's python first on PATH, cudaenv next, the index."""
    root = tmp_path_factory.mktemp("user")
    subprocess.run([sys.executable, "-m", "venv", str(root / "env")], check=True)
    (root / "work").mkdir()
    path = [str(root / "env" / "bin"), str(Path(sys.executable).parent), "/usr/bin", "/bin"]
    return {
        "PATH": os.pathsep.join(path),
        "HOME": str(root),
        "XDG_CACHE_HOME": str(root / "cache"),
        "PIP_INDEX_URL": hints_server.url,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "LANG": "C.UTF-8",
        "CUDAENV_TEST_CWD": str(root / "work"),
    }


def _as_run(command: str) -> str:
    """``cudaenv create`` without its smoke test (see the module docstring)."""
    return f"{command} --no-smoke" if command.startswith("cudaenv create ") else command


def test_every_command_a_fix_names_runs(shell: dict[str, str]) -> None:
    done: set[str] = set()
    for rule_id, lines in sorted(classified().items()):
        for command in (c for line in lines for c in line.run):
            if command in done:
                continue
            done.add(command)
            ran = subprocess.run(
                ["bash", "-c", _as_run(command)],
                cwd=shell["CUDAENV_TEST_CWD"],
                env=shell,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert ran.returncode == 0, (rule_id, command, ran.stdout[-2000:], ran.stderr[-2000:])
    assert any(c.startswith("cudaenv create --tf 2.14") for c in done)  # the CUDA 11 line
    assert len(done) >= 10


README = Path(__file__).resolve().parents[2] / "README.md"


def troubleshooting_rows() -> list[tuple[str, list[str]]]:
    """(the first message of the "you see" cell, the cudaenv commands of the "do" cell)."""
    text = README.read_text()
    table = text[text.index("## Troubleshooting") :].split("\n\n")[1]
    rows = []
    for row in table.splitlines()[2:]:
        seen, _cause, do = (c.strip() for c in row.strip("|").split(" | "))
        message = seen.split("`")[1]
        rows.append((message, [c for c in do.split("`")[1::2] if c.startswith("cudaenv ")]))
    return rows


def test_the_readme_table_says_what_cudaenv_says() -> None:
    """Each cudaenv command in README's troubleshooting table is the one ``cudaenv explain``
    gives for that message (``explain LOGFILE`` itself aside)."""
    from cudaenv import knowledge

    rules, tf = load_log_rules(), tf_lines_by_soname(knowledge.load())
    checked = 0
    for message, commands in troubleshooting_rows():
        line = rules.classify(message, tf_lines=tf)
        for command in commands:
            if command == "cudaenv explain LOGFILE":
                continue
            assert line is not None, message
            assert command in line.run, (message, command, line.run)
            checked += 1
    assert checked >= 4
