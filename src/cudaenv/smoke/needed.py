"""The CUDA libraries an environment's frameworks link against, read from their own binaries.

Why: the smoke test must not trust a hand-kept list alone. CuPy 12 links ``libcudart.so.11.0``
(DT_NEEDED of ``cupy/_core/_accelerator``), which the recipe once left out; the probe then loaded
every library the recipe named, all of them fine, and reported the environment whole while
``import cupy`` could not work. So the sonames the probe loads also come from the DT_NEEDED
entries of the shared objects each framework's distribution installed (its RECORD), kept where
they name a CUDA library; a library a framework links against and the environment lacks then
fails the smoke test, whatever the recipes say. What a framework only ``dlopen``\\s has no
DT_NEEDED entry: the recipes' ``sonames`` still list those.

The ELF reader (ELF64 little-endian, what x86_64 Linux wheels are; anything else reads as "needs
nothing") seeks to the section headers, the dynamic section and one string per entry, so a
1 GB ``libtorch_cuda.so`` costs a few kilobytes of reading. Optional parts (CuPy's cuDNN,
cuTENSOR, NCCL and NVTX modules, imported only when used or inside ``try``) are left out by the
caller through the recipes' ``optional`` prefixes.
"""

from __future__ import annotations

import csv
import io
import re
import struct
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path
    from typing import BinaryIO

__all__ = ["FRAMEWORK_DISTS", "elf_needed", "framework_needs", "is_cuda_library"]

# Distributions whose shared objects are "the frameworks" (canonical-name prefixes).
FRAMEWORK_DISTS = ("cupy-", "torch", "tensorflow", "tf-nightly", "jaxlib", "jax-cuda")
_SHARED = re.compile(r"\.so(\.[0-9]+)*$")
# CUDA libraries by soname; the driver's own (libcuda.so.1, libnvidia-*) are the probe's
# driver check, not a library an environment ships.
_CUDA = re.compile(r"^lib(cu(?!da\.so)|nv(?!idia-)|nccl)[A-Za-z0-9_]*\.so(\.[0-9]+)*$")
_SHT_DYNAMIC, _DT_NEEDED = 6, 1


def is_cuda_library(soname: str) -> bool:
    """``libcudart.so.12``, ``libnvrtc.so.11.2``, ``libnccl.so.2``: yes; ``libcuda.so.1``,
    ``libnvidia-ml.so.1``, ``libc.so.6``: no."""
    return bool(_CUDA.match(soname))


def _string(f: BinaryIO, offset: int) -> str:
    f.seek(offset)
    raw = f.read(256)
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def elf_needed(path: Path) -> tuple[str, ...]:
    """The DT_NEEDED entries of the ELF file at ``path``, in order; () for anything else."""
    try:
        with path.open("rb") as f:
            return _needed(f)
    except (OSError, struct.error, IndexError):
        return ()


def _needed(f: BinaryIO) -> tuple[str, ...]:
    head = f.read(64)
    if head[:6] != b"\x7fELF\x02\x01":  # ELF, 64-bit, little-endian
        return ()
    shoff = struct.unpack_from("<Q", head, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", head, 0x3A)
    f.seek(shoff)
    table = f.read(shentsize * shnum)
    sections = [struct.unpack_from("<IIQQQQI", table, i * shentsize) for i in range(shnum)]
    for _, kind, _, _, offset, size, link in sections:
        if kind != _SHT_DYNAMIC or link >= len(sections):
            continue
        strtab = sections[link][4]
        f.seek(offset)
        entries = struct.iter_unpack("<qQ", f.read(size - size % 16))
        values = [value for tag, value in entries if tag == _DT_NEEDED]
        return tuple(_string(f, strtab + value) for value in values)
    return ()


def _record_files(dist_info: Path) -> Iterator[str]:
    """The paths a distribution's RECORD lists (relative to site-packages)."""
    try:
        text = (dist_info / "RECORD").read_text(errors="replace")
    except OSError:
        return
    for row in csv.reader(io.StringIO(text)):
        if row and _SHARED.search(row[0]) and not row[0].startswith(".."):
            yield row[0]


def framework_needs(site_packages: Path, dists: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """soname -> the framework distributions (canonical names) with a shared object that names
    it in DT_NEEDED, for every CUDA library so named by the distributions ``dists``. Cost: a few
    small reads per shared object those distributions installed."""
    wanted = {d for d in dists if d.startswith(FRAMEWORK_DISTS)}
    found: dict[str, set[str]] = {}
    for dist_info in sorted(site_packages.glob("*.dist-info")):
        dist = canonicalize_name(dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        if dist not in wanted:
            continue
        for relative in _record_files(dist_info):
            for soname in elf_needed(site_packages / relative):
                if is_cuda_library(soname):
                    found.setdefault(soname, set()).add(dist)
    return {soname: tuple(sorted(by)) for soname, by in sorted(found.items())}
