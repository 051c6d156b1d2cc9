"""The TOML reader, imported in one place: ``tomllib`` on Python >= 3.11, its backport on 3.10.

Every module that reads TOML (the knowledge base, the log-line table, lock files) imports
``tomllib`` from here, so the version switch is written once.
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["tomllib"]
