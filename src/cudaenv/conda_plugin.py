"""``conda cudaenv``: registers cudaenv's command line as a conda subcommand, and nothing else.

conda loads this module through the ``conda`` entry point group, so it imports only conda's
hook marker at import time; the CLI is imported inside the hook, when conda builds its parser.
``host="conda"`` tells commands that ``-n NAME`` means a conda environment.
"""

from __future__ import annotations

from conda.plugins import hookimpl

__all__ = ["conda_subcommands"]

SUMMARY = "Python environments where TensorFlow and spaCy really use the NVIDIA GPU."


@hookimpl
def conda_subcommands():
    from functools import partial

    from conda.plugins.types import CondaSubcommand

    from cudaenv import cli

    yield CondaSubcommand(
        name="cudaenv",
        summary=SUMMARY,
        action=cli.execute,
        configure_parser=partial(cli.configure_parser, host="conda"),
    )
