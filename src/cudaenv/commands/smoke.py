"""``cudaenv smoke -p PREFIX``: is the GPU really used in this environment, and if not, why.

Runs the probe inside the environment under its activation (:func:`cudaenv.smoke.run`) and
prints what loads, what TensorFlow and spaCy do, and a verdict. Exit 0 when everything that can
work here works (CPU-only with its reason is fine), 2 when a library does not load or a
framework fails, and 2 under ``--require-gpu`` when no GPU is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cudaenv import render
from cudaenv.commands._options import add_env_arguments, env_prefix
from cudaenv.commands._reports import show_smoke
from cudaenv.errors import SmokeError

if TYPE_CHECKING:
    import argparse

NAME = "smoke"
HELP = "check that TensorFlow, PyTorch, JAX and spaCy really use the GPU in an environment"
ORDER = 60
EXAMPLES = ("smoke -p ./tf215-spacy37", "smoke --quick --require-gpu", "smoke -p ./env --json")

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    add_env_arguments(parser.add_mutually_exclusive_group())
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

    with render.activity() as progress:
        progress.step("finding the environment")  # -n under conda: `conda info`
        prefix = env_prefix(args, NAME)
        report = smoke.run(prefix, quick=args.quick, timeout=args.timeout, progress=progress)
    if args.json:
        render.emit_json(report.to_json())
    else:
        show_smoke(report)
    code = report.exit_code(require_gpu=args.require_gpu)
    if args.require_gpu and not report.gpu.available:
        render.error(
            SmokeError(
                f"no GPU is used: {report.gpu.reason}",
                hint="`cudaenv doctor -p PREFIX` explains what stands in the way",
            )
        )
    return code
