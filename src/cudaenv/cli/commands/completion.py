"""``cudaenv completion bash|zsh|fish``: print a shell completion script for cudaenv.

The script is generated from this very parser (:mod:`cudaenv.cli.completions`), so every command
and option completes, with the choices it takes and file names where it names a file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cudaenv.cli import render
from cudaenv.errors import OK

if TYPE_CHECKING:
    import argparse

NAME = "completion"
HELP = "print a shell completion script (bash, zsh or fish)"
ORDER = 90
EXAMPLES = (
    "completion bash > ~/.local/share/bash-completion/completions/cudaenv",
    "completion zsh > ~/.zfunc/_cudaenv",
    "completion fish > ~/.config/fish/completions/cudaenv.fish",
)

__all__ = ["EXAMPLES", "HELP", "NAME", "ORDER", "SHELLS", "configure", "run"]

# The shells cli/completions.py writes scripts for, named here: the parser is built for every
# command, and importing the generator only to list three names cost each start-up about 1 ms.
SHELLS = ("bash", "zsh", "fish")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")


def run(args: argparse.Namespace) -> int:
    from cudaenv.cli.completions import script

    render.line(script(args.shell, args._parser).rstrip("\n"))
    return OK
