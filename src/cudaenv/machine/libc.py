"""Which glibc this machine runs, and the manylinux tags that follow from it.

A wheel tagged ``manylinux_2_X`` needs glibc >= 2.X, so the host's glibc decides which locks
can be installed here (``create --from`` refuses a lock made for a newer glibc) and which tag
a lock defaults to. The answer comes from glibc itself, ``gnu_get_libc_version()``, looked up
in the process's global symbol scope (where ``LD_PRELOAD`` libraries come first, so tests can
stand in an older glibc behind the same C function), falling back to
``confstr(_CS_GNU_LIBC_VERSION)``; packaging's ``_manylinux`` asks the same two places. A
non-glibc system (musl) answers None.

Portable default (:func:`default_platform`): ``manylinux_2_28`` (the glibc of RHEL 8-era
nodes, and the tag NVIDIA's and TensorFlow's newer wheels carry), or the host's own glibc when
that is older, so a lock made here always installs here.
"""

from __future__ import annotations

import ctypes
import os
import platform
import re

__all__ = ["PORTABLE_GLIBC", "default_platform", "host_arch", "host_glibc", "host_platform"]

PORTABLE_GLIBC = (2, 28)
_VERSION = re.compile(r"(\d+)\.(\d+)")


def _from_libc() -> str | None:
    """``gnu_get_libc_version()`` of the libc this process runs on (None: not glibc)."""
    try:
        process = ctypes.CDLL(None)
        get = process.gnu_get_libc_version
    except (OSError, AttributeError):
        return None
    get.restype = ctypes.c_char_p
    answer = get()
    return answer.decode("ascii", "replace") if isinstance(answer, bytes) else None


def _from_confstr() -> str | None:
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"
    except (AttributeError, OSError, ValueError):
        return None
    return text.split()[-1] if text and text.startswith("glibc") else None


def host_glibc() -> tuple[int, int] | None:
    """(major, minor) of this machine's glibc, e.g. (2, 36); None when it is not glibc."""
    for answer in (_from_libc(), _from_confstr()):
        match = _VERSION.match(answer or "")
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


def host_arch() -> str:
    """The machine's architecture as wheel tags spell it: ``x86_64``, ``aarch64``."""
    return platform.machine() or "x86_64"


def host_platform() -> str:
    """The newest manylinux tag this machine runs, e.g. ``manylinux_2_36_x86_64``
    (``manylinux_2_28`` when the glibc cannot be told)."""
    major, minor = host_glibc() or PORTABLE_GLIBC
    return f"manylinux_{major}_{minor}_{host_arch()}"


def default_platform() -> str:
    """The tag a lock targets without ``--platform``: manylinux_2_28 for this architecture,
    or this machine's own glibc where that is older."""
    glibc = min(host_glibc() or PORTABLE_GLIBC, PORTABLE_GLIBC)
    return f"manylinux_{glibc[0]}_{glibc[1]}_{host_arch()}"
