"""Read a shared library's dynamic section: its SONAME, what it needs, and where it looks.

TensorFlow >= 2.14 finds the NVIDIA wheels through ``$ORIGIN/../nvidia/<lib>/lib`` entries in
the DT_RUNPATH of ``libtensorflow_framework.so.2`` and ``libtensorflow_cc.so.2`` (docs/facts.md,
"Finding the libraries: RUNPATH, LD_LIBRARY_PATH, ptxas"),
so a CUDA library that is not on LD_LIBRARY_PATH may still be found by TensorFlow (and by
nothing else, CuPy <= 13 included). The answer is in the binary, not in a version table. The
start-up hook (:mod:`cudaenv.preload`) reads the same section for the DT_SONAME of each NVIDIA
library and the DT_NEEDED entries that give the order to load them in.

This module reads the ELF dynamic section with :mod:`struct` (ELF64 little-endian, what x86_64
Linux wheels are); anything else reads as "nothing". Cost: a few small reads at the offsets the
headers name (the section headers and two sections), never the whole file: cuDNN's libraries
are hundreds of megabytes.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = ["Dynamic", "dynamic", "runpath", "search_dirs"]

_SHT_DYNAMIC = 6
_DT_NEEDED, _DT_SONAME, _DT_RPATH, _DT_RUNPATH = 1, 14, 15, 29
_MAX_SECTION = 64 * 1024 * 1024  # a dynamic section or string table larger than this is not one


@dataclass(frozen=True, slots=True, kw_only=True)
class Dynamic:
    """What a shared library's dynamic section says about loading it."""

    soname: str | None = None
    needed: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()  # DT_RUNPATH, else DT_RPATH, unexpanded


def _read(f: BinaryIO, offset: int, size: int) -> bytes:
    if size < 0 or size > _MAX_SECTION:
        return b""
    f.seek(offset)
    return f.read(size)


def _sections(f: BinaryIO) -> list[tuple[int, int, int, int]]:
    """(type, offset, size, link) of every section header; empty for anything but ELF64 LE."""
    head = _read(f, 0, 64)
    if len(head) < 64 or head[:6] != b"\x7fELF\x02\x01":  # ELF, 64-bit, little-endian
        return []
    shoff, = struct.unpack_from("<Q", head, 0x28)  # fmt: skip
    shentsize, shnum = struct.unpack_from("<HH", head, 0x3A)
    table = _read(f, shoff, shentsize * shnum)
    if shentsize < 64 or len(table) < shentsize * shnum:
        return []
    out = []
    for i in range(shnum):
        _, kind, _, _, offset, size, link = struct.unpack_from("<IIQQQQI", table, i * shentsize)
        out.append((kind, offset, size, link))
    return out


def _string(strtab: bytes, at: int) -> str:
    end = strtab.find(b"\0", at)
    return os.fsdecode(strtab[at : end if end >= 0 else len(strtab)])


def _entries(f: BinaryIO) -> list[tuple[int, str]]:
    """(tag, text) of the dynamic section's string entries (NEEDED, SONAME, RPATH, RUNPATH)."""
    sections = _sections(f)
    for kind, offset, size, link in sections:
        if kind != _SHT_DYNAMIC or link >= len(sections):
            continue
        _, str_offset, str_size, _ = sections[link]
        strtab = _read(f, str_offset, str_size)
        data = _read(f, offset, size - size % 16)
        tags = (_DT_NEEDED, _DT_SONAME, _DT_RPATH, _DT_RUNPATH)
        return [
            (tag, _string(strtab, value))
            for tag, value in struct.iter_unpack("<qQ", data)
            if tag in tags and value < len(strtab)
        ]
    return []


def dynamic(path: Path) -> Dynamic:
    """The SONAME, DT_NEEDED (in order) and RUNPATH of the ELF file at ``path`` (an empty
    :class:`Dynamic` for a file that cannot be read or is not an ELF64 library)."""
    try:
        with open(path, "rb") as f:
            entries = _entries(f)
    except (OSError, struct.error):
        return Dynamic()
    texts: dict[int, list[str]] = {}
    for tag, text in entries:
        texts.setdefault(tag, []).append(text)
    found = (texts.get(_DT_RUNPATH) or texts.get(_DT_RPATH) or [""])[0]
    sonames = texts.get(_DT_SONAME)
    return Dynamic(
        soname=sonames[0] if sonames else None,
        needed=tuple(texts.get(_DT_NEEDED, ())),
        runpath=tuple(p for p in found.split(":") if p),
    )


def runpath(path: Path) -> tuple[str, ...]:
    """The DT_RUNPATH (else DT_RPATH) entries of the ELF file at ``path``, unexpanded."""
    return dynamic(path).runpath


def search_dirs(libraries: Iterable[Path]) -> frozenset[str]:
    """The folders the RUNPATHs of ``libraries`` name, ``$ORIGIN`` expanded and normalised."""
    out: set[str] = set()
    for library in libraries:
        origin = str(library.parent)
        for entry in runpath(library):
            expanded = entry.replace("$ORIGIN", origin).replace("${ORIGIN}", origin)
            out.add(os.path.realpath(expanded))
    return frozenset(out)
