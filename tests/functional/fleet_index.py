"""The fleet tests' index: a small spaCy stack, served on 127.0.0.1, and locks made from it.

The spaCy, thinc, click and CuPy releases come from the solver's case file
(:mod:`tests.functional.solve_index`); NumPy 1.26.4 is built here with three platform tags
(``manylinux_2_17``, ``_2_28``, ``_2_34``), the way a real project publishes wheels for old and
new glibc, so a test can see which one a lock picks. :func:`add_gpu_wheels` adds the NVIDIA
runtime wheels CuPy 12 needs, each with real loadable libraries, for a spaCy GPU environment.
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

from tests.functional.solve_index import build_index
from tests.tools.index_server import IndexServer
from tests.tools.make_wheel import make_nvidia_wheel, make_wheel

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "CPU_LOCK_ARGS",
    "GLIBC_TAGS",
    "PY",
    "add_gpu_wheels",
    "build_cpu_index",
    "create_gpu_env",
    "lock_args",
]

PY = f"{sys.version_info[0]}.{sys.version_info[1]}"
CP = f"cp{sys.version_info[0]}{sys.version_info[1]}"
GLIBC_TAGS = ("manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64")
CPU_LOCK_ARGS = ("--spacy", "3.7", "--cpu", "--python", PY)

# CuPy 12's runtime wheels (recipes/cupy.toml) and the libraries each ships.
_GPU_WHEELS = {
    "nvidia-cuda-runtime-cu12": ("12.2.140", ["libcudart.so.12"]),
    "nvidia-cuda-nvrtc-cu12": ("12.2.140", ["libnvrtc.so.12"]),
    "nvidia-cublas-cu12": ("12.2.5.6", ["libcublas.so.12", "libcublasLt.so.12"]),
    "nvidia-curand-cu12": ("10.3.3.141", ["libcurand.so.10"]),
    "nvidia-cusolver-cu12": ("11.5.2.141", ["libcusolver.so.11"]),
    "nvidia-cusparse-cu12": ("12.1.2.141", ["libcusparse.so.12"]),
    "nvidia-cufft-cu12": ("11.0.8.103", ["libcufft.so.11"]),
}


def build_cpu_index(dest: Path) -> Path:
    """spaCy 3.7.5 + thinc + click from the case file, NumPy 1.26.4 for three glibc tags."""
    build_index(dest, projects=["spacy", "thinc", "click"])
    for tag in GLIBC_TAGS:
        make_wheel(dest, "numpy", "1.26.4", requires_python=">=3.9", tag=f"{CP}-{CP}-{tag}")
    return dest


def add_gpu_wheels(dest: Path) -> Path:
    """CuPy 12 and fastrlock (case file) and its NVIDIA runtime wheels with real libraries."""
    build_index(dest, projects=["cupy-cuda12x", "fastrlock"])
    for name, (version, libs) in _GPU_WHEELS.items():
        make_nvidia_wheel(dest, name, version, libs=libs)
    return dest


def lock_args(index_url: str, cache: Path, out: Path, *extra: str) -> list[str]:
    """``cudaenv lock`` of the CPU stack on ``index_url`` into ``out``."""
    return [
        "lock",
        *CPU_LOCK_ARGS,
        "--index-url",
        index_url,
        "--cache-dir",
        str(cache),
        "-o",
        str(out),
        *extra,
    ]


def create_gpu_env(root: Path, index_url: str | None = None, *more: str) -> Path:
    """A spaCy 3.7 GPU environment (for driver 535.104.05) made by ``cudaenv create``; returns
    its prefix (``root/"spacy env"``). From ``index_url`` (an index with :func:`add_gpu_wheels`
    on it), else from an index built in ``root`` and served for the call only. ``more``: more
    options of ``create`` (``--force``)."""
    if index_url is None:
        with IndexServer(add_gpu_wheels(build_cpu_index(root / "wheels"))) as index:
            return create_gpu_env(root, index.url, *more)
    prefix = root / "spacy env"
    argv = ["create", "--spacy", "3.7", "--driver", "535.104.05", "--index-url", index_url]
    argv += ["--cache-dir", str(root / "cache"), "-p", str(prefix), "--no-smoke", *more]
    done = subprocess.run(
        [sys.executable, "-m", "cudaenv", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return prefix
