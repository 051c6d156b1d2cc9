"""Read the RUNPATH a shared library carries, to know where *it* looks for its dependencies.

TensorFlow >= 2.14 finds the NVIDIA wheels through ``$ORIGIN/../nvidia/<lib>/lib`` entries in
the DT_RUNPATH of ``libtensorflow_framework.so.2`` and ``libtensorflow_cc.so.2`` (docs/facts.md,
"Finding the libraries: RUNPATH, LD_LIBRARY_PATH, ptxas"),
so a CUDA library that is not on LD_LIBRARY_PATH may still be found by TensorFlow (and by
nothing else, CuPy <= 13 included). The answer is in the binary, not in a version table: this
module reads the ELF dynamic section with :mod:`struct` (ELF64 little-endian, what x86_64
Linux wheels are); anything else reads as "no RUNPATH". Cost: reads the section headers and two
sections of each file, a few kilobytes.
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = ["runpath", "search_dirs"]

_SHT_DYNAMIC = 6
_DT_RPATH, _DT_RUNPATH = 15, 29


def _section(data: bytes, header: int) -> tuple[int, int, int, int]:
    """(type, offset, size, link) of the section header at ``header``."""
    _, kind, _, _, offset, size, link = struct.unpack_from("<IIQQQQI", data, header)
    return kind, offset, size, link


def runpath(path: Path) -> tuple[str, ...]:
    """The DT_RUNPATH (else DT_RPATH) entries of the ELF file at ``path``, unexpanded."""
    try:
        data = path.read_bytes()
    except OSError:
        return ()
    if data[:6] != b"\x7fELF\x02\x01":  # ELF, 64-bit, little-endian
        return ()
    shoff, = struct.unpack_from("<Q", data, 0x28)  # fmt: skip
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [_section(data, shoff + i * shentsize) for i in range(shnum)]
    for kind, offset, size, link in sections:
        if kind != _SHT_DYNAMIC or link >= len(sections):
            continue
        strtab = sections[link][1]
        found: dict[int, str] = {}
        for tag, value in struct.iter_unpack("<qQ", data[offset : offset + size]):
            if tag in (_DT_RPATH, _DT_RUNPATH):
                end = data.index(b"\0", strtab + value)
                found[tag] = os.fsdecode(data[strtab + value : end])
        text = found.get(_DT_RUNPATH) or found.get(_DT_RPATH) or ""
        return tuple(p for p in text.split(":") if p)
    return ()


def search_dirs(libraries: Iterable[Path]) -> frozenset[str]:
    """The folders the RUNPATHs of ``libraries`` name, ``$ORIGIN`` expanded and normalised."""
    out: set[str] = set()
    for library in libraries:
        origin = str(library.parent)
        for entry in runpath(library):
            expanded = entry.replace("$ORIGIN", origin).replace("${ORIGIN}", origin)
            out.add(os.path.realpath(expanded))
    return frozenset(out)
