"""The lock: a PEP 751 ``pylock.toml`` that every install reads, and its exports.

The lock lives apart from resolution (this package imports no resolvelib) and packaging writes
the format: :func:`to_pylock` builds a ``packaging.pylock.Pylock`` and validates it, ``tomli_w``
writes its ``to_dict()``, ``tomllib`` and ``Pylock.from_dict`` read it back. ``create --tf`` is
solve -> lock -> install(lock) and ``create --from`` is install(lock): one path.

Modules: ``convert`` (Resolution <-> Pylock), ``tool`` (the ``[tool.cudaenv]`` tables), ``files``
(atomic write, read with clear errors), ``export`` (hashed requirements, environment.yml),
``checks`` (against this machine, and against the index and recipes), ``closure`` (every
locked package's requirements are in the lock), ``urls`` (no
``user:password@`` of a private index is ever written into a lock or an export).
"""

from __future__ import annotations

from cudaenv.lock.checks import LockMismatchError, check_given, check_index, check_machine
from cudaenv.lock.closure import NotClosedError, check_references, check_requirements
from cudaenv.lock.convert import (
    CREATED_BY,
    LOCK_VERSION,
    LockInfo,
    from_pylock,
    lock_info,
    target_marker,
    to_pylock,
)
from cudaenv.lock.export import environment_yml, requirement_line, requirements_txt, summary
from cudaenv.lock.files import dumps, is_valid_lock_name, load, loads, read, write, write_text

__all__ = [
    "CREATED_BY",
    "LOCK_VERSION",
    "LockInfo",
    "LockMismatchError",
    "NotClosedError",
    "check_given",
    "check_index",
    "check_machine",
    "check_references",
    "check_requirements",
    "dumps",
    "environment_yml",
    "from_pylock",
    "is_valid_lock_name",
    "load",
    "loads",
    "lock_info",
    "read",
    "requirement_line",
    "requirements_txt",
    "summary",
    "target_marker",
    "to_pylock",
    "write",
    "write_text",
]
