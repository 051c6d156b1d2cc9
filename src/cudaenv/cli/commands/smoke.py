"""``cudaenv smoke (-p PREFIX | --python PATH)``: is the GPU really used in this environment,
and if not, why.

Runs the probe inside the environment under its activation (:func:`cudaenv.smoke.run`) and
prints what loads, what TensorFlow, PyTorch, JAX and spaCy do, and a verdict. ``--python``
finds an environment cudaenv did not make by its interpreter (as ``doctor --python`` does:
:func:`cudaenv.doctor.env_for_python`): a system Python, an image's, a venv or conda
environment made by hand. It is smoked as ``-p`` smokes one, under the variables cudaenv's
activation would set there; ``doctor --python`` looks at it as it is.
Exit 0 when everything that can work here works (CPU-only with its reason is fine), 2 when a
library does not load or a framework fails, and 2 under ``--require-gpu`` when no GPU is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.cli import render
from cudaenv.cli.commands._options import add_env_arguments, env_prefix
from cudaenv.cli.commands._reports import show_smoke
from cudaenv.errors import SmokeError

if TYPE_CHECKING:
    import argparse

    from cudaenv.envs.base import Env

NAME = "smoke"
HELP = "check that TensorFlow, PyTorch, JAX and spaCy really use the GPU in an environment"
ORDER = 60
EXAMPLES = (
    "smoke -p ./tf215-spacy37",
    "smoke --quick --require-gpu",
    'smoke --python "$(command -v python3)" --json',
)

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    add_env_arguments(where)
    where.add_argument(
        "--python",
        metavar="PATH",
        help="the environment of this interpreter, also one cudaenv did not make",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--require-gpu", action="store_true", help="exit 2 unless a GPU is really used"
    )
    parser.add_argument("--quick", action="store_true", help="a small benchmark (seconds)")
    parser.add_argument(
        "--timeout", type=int, default=900, metavar="S", help="give up after S seconds"
    )


def run(args: argparse.Namespace) -> int:
    from cudaenv import smoke
    from cudaenv.events import Step

    with render.activity() as sink:
        sink(Step(text="finding the environment"))  # -n under conda: `conda info`
        if args.python:
            from cudaenv.doctor import env_for_python

            where: Env | str = env_for_python(Path(args.python), command=NAME)
        else:
            where = env_prefix(args, NAME)
        report = smoke.run(where, quick=args.quick, timeout=args.timeout, sink=sink)
    if args.json:
        render.emit_json(report.to_json())
    else:
        show_smoke(report)
    code = report.exit_code(require_gpu=args.require_gpu)
    if args.require_gpu and not report.gpu.available:
        render.error(
            SmokeError(
                f"no GPU is used: {report.gpu.reason}",
                hint=f"`{_doctor(args)}` explains what stands in the way",
            )
        )
    return code


def _doctor(args: argparse.Namespace) -> str:
    """The doctor command for the environment smoked."""
    import shlex

    if args.python:
        return f"cudaenv doctor --python {shlex.quote(args.python)}"
    return "cudaenv doctor -p PREFIX"
