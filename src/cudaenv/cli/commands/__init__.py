"""One module per subcommand.

Each module defines ``NAME``, ``HELP``, optional ``ORDER`` (position in ``--help``),
``configure(parser)`` and ``run(args) -> int``: parse the options into values, call the library
(:mod:`cudaenv.pipeline.steps`, :mod:`cudaenv.pipeline.creation`, ...), render what it returns. No
command imports another: the options several take are in ``_options``, the reports several print in
``_reports`` (a leading underscore keeps a module out of the command list). Keep module-level
imports light: every command module is imported whenever the parser is built.
"""
