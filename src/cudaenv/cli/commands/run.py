"""``cudaenv run -p ENV -- CMD ...``: a command with the environment's activation applied.

For scripts, cron, Slurm and anything that starts ``ENV/bin/python`` directly: CuPy <= 13
finds CUDA only on ``LD_LIBRARY_PATH``, which only activation sets. Parse, call, pass back:
:mod:`cudaenv.activation.activated` gives the variables, :mod:`cudaenv.system.supervise` runs the
command with signals forwarded; cudaenv exits with the command's status (128 + N for a signal N).
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from cudaenv.cli.commands._options import default_prefix
from cudaenv.errors import UsageError

NAME = "run"
HELP = "run a command with an environment's activation applied (scripts, cron, Slurm)"
ORDER = 55
EXAMPLES = (
    "run -p ./tf215-spacy37 -- python train.py",
    "run -p ./tf215-spacy37 -- python -c 'import tensorflow as tf; print(tf.__version__)'",
)

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-p", "--prefix", help="the environment (default: the active one)")
    parser.add_argument(
        "argv", nargs=argparse.REMAINDER, metavar="-- CMD ...", help="the command and its args"
    )


def run(args: argparse.Namespace) -> int:
    from cudaenv.activation import activated
    from cudaenv.envs.base import Env
    from cudaenv.system import supervise

    argv = list(args.argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    prefix = default_prefix(args.prefix, "run")
    if not argv:
        raise UsageError(
            "no command to run", hint=f"cudaenv run -p {shlex.quote(prefix)} -- python script.py"
        )
    env = Env.from_prefix(Path(prefix))
    try:
        return supervise.run(argv, activated.environ(env))
    except OSError as e:
        raise UsageError(
            f"cannot run {argv[0]!r}: {e.strerror or e}",
            hint=f"give a program in {env.bin_dir} or on PATH, e.g. "
            f"`cudaenv run -p {shlex.quote(prefix)} -- python -c 'import sys; print(sys.prefix)'`",
        ) from e
