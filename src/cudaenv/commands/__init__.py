"""One module per subcommand.

Each module defines ``NAME``, ``HELP``, optional ``ORDER`` (position in ``--help``),
``configure(parser)`` and ``run(args) -> int``. Keep module-level imports light: every command
module is imported whenever the parser is built.
"""
