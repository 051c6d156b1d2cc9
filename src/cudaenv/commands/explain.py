"""``cudaenv explain FILE|-``: what the lines of a pasted TensorFlow/PyTorch/JAX/spaCy log mean.

Each known line (``recipes/log_lines.toml``) is explained once: what it means, whether it
matters (noise, problem, info) and the fix. Unknown lines are skipped silently; a log with no
known line says so and exits 0, as does any log: explaining is not judging.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv import render
from cudaenv.errors import OK, UsageError

if TYPE_CHECKING:
    import argparse

NAME = "explain"
HELP = "explain TensorFlow / PyTorch / JAX / spaCy / CuPy log lines (a file, or - for stdin)"
ORDER = 75
EXAMPLES = ("explain train.log", "explain - < train.log", "explain train.log --json")

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "configure", "read_text", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a log file, or - to read stdin")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def read_text(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise UsageError(
            f"cannot read {name}: {e.strerror or e}", hint="cudaenv explain FILE, or - for stdin"
        ) from e


def run(args: argparse.Namespace) -> int:
    from cudaenv.doctor import explain_log

    explained = explain_log(read_text(args.file))
    if args.json:
        render.emit_json({"lines": [x.to_dict() for x in explained]})
        return OK
    if not explained:
        render.line(
            "no known TensorFlow, PyTorch, JAX, spaCy or CuPy line in this log: nothing to explain"
        )
        return OK
    for x in explained:
        render.line(x.line)
        render.line(f"  {x.verdict} [{x.cause}]: {x.explanation}")
        if x.verdict != "noise":
            render.line(f"  fix: {x.fix}")
        render.line()
    problems = sum(1 for x in explained if x.verdict == "problem")
    render.line(f"{len(explained)} known line(s), {problems} problem(s)")
    return OK
