"""A fake of the host's glibc version, behind the same C function the real detection asks.

cudaenv reads the glibc version from ``gnu_get_libc_version()`` in the process's global scope
(:mod:`cudaenv.machine.libc`). :func:`build_fake_glibc` compiles a library exporting that symbol
with another answer; put it in ``LD_PRELOAD`` of a child process and that process sees an older
(or newer) glibc, while the real one keeps running it. The host itself cannot be changed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.tools.fake_driver import compiler

__all__ = ["build_fake_glibc"]

HERE = Path(__file__).resolve().parent


def build_fake_glibc(directory: Path, version: str = "2.17") -> Path:
    """Compile ``libfakeglibc.so`` into ``directory``: gnu_get_libc_version() returns
    ``version``."""
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler")
    out = directory / f"libfakeglibc-{version}.so"
    define = f'-DGLIBC_VERSION="{version}"'
    cmd = [cc, "-shared", "-fPIC", "-o", str(out), str(HERE / "fake_glibc.c"), define]
    subprocess.run(cmd, check=True, capture_output=True)
    return out
