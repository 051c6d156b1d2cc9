"""smoke/needed.py: DT_NEEDED read from real ELF files, CUDA sonames told apart, frameworks only."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import pytest

from cudaenv.smoke.needed import elf_needed, framework_needs, is_cuda_library
from tests.tools.make_wheel import build_shared_library

if TYPE_CHECKING:
    from pathlib import Path


def library(folder: Path, name: str, needed: list[str]) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_shared_library(path.name, needed=needed))
    return path


def test_needed_entries_in_order(tmp_path: Path) -> None:
    lib = library(tmp_path, "m.so", ["libcudart.so.11.0", "libcublas.so.11"])
    assert elf_needed(lib)[:2] == ("libcudart.so.11.0", "libcublas.so.11")
    assert not any(map(is_cuda_library, elf_needed(library(tmp_path, "plain.so.1", []))))


@pytest.mark.parametrize(
    "data",
    [
        b"not an ELF file",
        b"",
        b"\x7fELF\x01\x01" + b"\0" * 58,  # 32-bit: not what x86_64 wheels are
        b"\x7fELF\x02\x01" + b"\0" * 34 + struct.pack("<Q", 10**9) + b"\0" * 14,  # cut short
    ],
)
def test_anything_else_needs_nothing(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.so"
    path.write_bytes(data)
    assert elf_needed(path) == ()
    assert elf_needed(tmp_path / "missing.so") == ()


@pytest.mark.parametrize(
    ("soname", "cuda"),
    [
        ("libcudart.so.11.0", True),
        ("libcudart.so.12", True),
        ("libnvrtc.so.11.2", True),
        ("libcublasLt.so.13", True),
        ("libcudnn.so.9", True),
        ("libnccl.so.2", True),
        ("libnvJitLink.so.12", True),
        ("libcuda.so.1", False),  # the driver
        ("libnvidia-ml.so.1", False),
        ("libc.so.6", False),
        ("libgomp.so.1", False),
        ("libtorch_cuda.so", False),
    ],
)
def test_cuda_libraries_by_soname(soname: str, cuda: bool) -> None:
    assert is_cuda_library(soname) is cuda


def _dist(site: Path, name: str, files: dict[str, list[str]]) -> None:
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    for relative, needed in files.items():
        library(site, relative, needed)
    info.joinpath("RECORD").write_text("".join(f"{f},sha256=x,1\n" for f in files))


def test_only_the_frameworks_shared_objects_count(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    _dist(site, "cupy-cuda12x", {"cupy/_core/core.so": ["libcudart.so.12", "libcuda.so.1"]})
    _dist(site, "torch", {"torch/lib/libtorch_cuda.so": ["libcudnn.so.9", "libcudart.so.12"]})
    _dist(site, "numpy", {"numpy/_core/x.so": ["libcublas.so.12"]})  # not a framework
    (site / "broken-1.0.dist-info").mkdir()  # no RECORD: nothing to read
    dists = ["cupy-cuda12x", "torch", "numpy", "broken"]
    assert framework_needs(site, dists) == {
        "libcudart.so.12": ("cupy-cuda12x", "torch"),
        "libcudnn.so.9": ("torch",),
    }
    assert framework_needs(site, ["numpy"]) == {}
