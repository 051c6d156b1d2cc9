"""cudaenv test suite (a package so that ``tests.tools`` is importable)."""
