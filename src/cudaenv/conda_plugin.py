"""``conda cudaenv``: registers cudaenv's command line as a conda subcommand, and nothing else.

conda imports this module through its ``conda`` entry point group: only conda's hook marker at
import time, the CLI inside the hook (``host="conda"``: ``-n NAME`` names a conda environment)."""

from __future__ import annotations

from typing import Any

from conda.plugins import hookimpl

__all__ = ["conda_subcommands"]

SUMMARY = "Python environments where TensorFlow and spaCy really use the NVIDIA GPU."


@hookimpl
def conda_subcommands() -> Any:  # yields conda's CondaSubcommand; conda is untyped here
    from functools import partial

    from conda.plugins.types import CondaSubcommand

    from cudaenv import cli

    yield CondaSubcommand(
        name="cudaenv",
        summary=SUMMARY,
        action=cli.execute,
        configure_parser=partial(cli.configure_parser, host="conda"),
    )
