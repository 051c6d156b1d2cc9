"""The smoke test loads, by soname under activation, every CUDA library the frameworks link against.

Issue 22, item 1: ``cupy-cuda11x`` 12.3 links ``libcudart.so.11.0`` (DT_NEEDED), the recipe left it
out, and smoke reported "every listed library loads" while ``import cupy`` could not work: it only
checked the recipe's list. Now the frameworks' own binaries say what they need (their DT_NEEDED),
so a library removed from an environment fails the smoke test even where no recipe names it.

The framework wheels here are test-built, with real ELF extension modules whose DT_NEEDED name
the sonames a real build names (cupy-cuda11x 12.3.0: ``cupy/_core/_accelerator`` links the CUDA
runtime, cuBLAS, cuFFT, cuRAND, cuSPARSE and NVRTC; its cuDNN module links ``libcudnn.so.8``
and is imported only when used). The NVIDIA wheels carry real libraries with the real sonames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from cudaenv import smoke
from tests.functional.test_smoke import make_venv, uv_install
from tests.tools.make_wheel import build_shared_library

if TYPE_CHECKING:
    from pathlib import Path

    from cudaenv.envs.base import Env

SO = ".cpython-311-x86_64-linux-gnu.so"
CU11 = {  # wheel -> the libraries it ships (as the real cu11 wheels do)
    "nvidia-cuda-runtime-cu11": ("11.8.89", ["libcudart.so.11.0"]),
    "nvidia-cuda-nvrtc-cu11": ("11.8.89", ["libnvrtc.so.11.2"]),
    "nvidia-cublas-cu11": ("11.11.3.6", ["libcublas.so.11", "libcublasLt.so.11"]),
    "nvidia-cufft-cu11": ("10.9.0.58", ["libcufft.so.10"]),
    "nvidia-curand-cu11": ("10.3.0.86", ["libcurand.so.10"]),
    "nvidia-cusolver-cu11": ("11.4.1.48", ["libcusolver.so.11"]),
    "nvidia-cusparse-cu11": ("11.7.5.86", ["libcusparse.so.11"]),
}
ACCELERATOR = [
    "libcuda.so.1",  # the driver: the probe's own check, never an environment's library
    "libcudart.so.11.0",
    "libcublas.so.11",
    "libcufft.so.10",
    "libcurand.so.10",
    "libcusparse.so.11",
    "libnvrtc.so.11.2",
]


@pytest.fixture
def venv(tmp_path: Path) -> Env:
    return make_venv(tmp_path / "env")


@pytest.fixture
def cupy11(make_wheel, tmp_path: Path) -> Path:
    """cupy-cuda11x 12.3.0 as its extension modules link (readelf -d of the PyPI wheel)."""
    return make_wheel(
        "cupy-cuda11x",
        "12.3.0",
        files={
            "cupy/__init__.py": "",
            f"cupy/_core/_accelerator{SO}": build_shared_library(
                f"_accelerator{SO}", needed=ACCELERATOR
            ),
            f"cupy_backends/cuda/libs/cusolver{SO}": build_shared_library(
                f"cusolver{SO}", needed=["libcusolver.so.11"]
            ),
            f"cupy_backends/cuda/libs/cudnn{SO}": build_shared_library(
                f"cudnn{SO}", needed=["libcudnn.so.8"]
            ),
        },
        tag="cp311-cp311-manylinux_2_17_x86_64",
    )


def cu11_wheels(make_nvidia_wheel, *leave_out: str) -> list[Path]:
    return [
        make_nvidia_wheel(name, version, libs=libs)
        for name, (version, libs) in CU11.items()
        if name not in leave_out
    ]


def test_cupy_without_the_runtime_it_links_fails_smoke(
    venv: Env, cupy11: Path, make_nvidia_wheel
) -> None:
    wheels = cu11_wheels(make_nvidia_wheel, "nvidia-cuda-runtime-cu11")
    uv_install(venv, "--no-deps", "--no-index", str(cupy11), *map(str, wheels))
    report = smoke.run(venv)
    got = {lib.soname: lib for lib in report.libraries}
    assert report.verdict == "broken" and report.exit_code() == 2
    assert not got["libcudart.so.11.0"].loaded
    assert any(p.startswith("libcudart.so.11.0 does not load") for p in report.problems)
    assert all(got[s].loaded for s in ("libcublas.so.11", "libnvrtc.so.11.2", "libcusolver.so.11"))
    assert "libcudnn.so.8" not in got  # only CuPy's cuDNN module links it, imported when used
    assert "libcuda.so.1" not in got  # the driver is checked on its own


def test_cupy_with_its_whole_set_passes_and_each_library_loads_from_its_wheel(
    venv: Env, cupy11: Path, make_nvidia_wheel
) -> None:
    uv_install(
        venv, "--no-deps", "--no-index", str(cupy11), *map(str, cu11_wheels(make_nvidia_wheel))
    )
    report = smoke.run(venv)
    assert report.verdict == "cpu-only" and report.exit_code() == 0, report.problems
    got = {lib.soname: lib for lib in report.libraries}
    cudart = got["libcudart.so.11.0"]
    assert cudart.loaded
    assert cudart.path == venv.site_packages / "nvidia/cuda_runtime/lib/libcudart.so.11.0"


def test_removing_a_library_a_framework_links_against_fails_smoke(
    venv: Env, make_wheel, make_nvidia_wheel
) -> None:
    """No recipe lists what this JAX plugin links (its recipe has no sonames): only its own
    DT_NEEDED does. Remove one of them from the environment and the smoke test fails."""
    plugin = make_wheel(
        "jax-cuda12-plugin",
        "0.4.38",
        files={
            "jax_cuda12_plugin/__init__.py": "",
            f"jax_cuda12_plugin/_versions{SO}": build_shared_library(
                f"_versions{SO}", needed=["libcudart.so.12", "libcublas.so.12"]
            ),
        },
        tag="cp311-cp311-manylinux_2_17_x86_64",
    )
    runtime = make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.9.79", libs=["libcudart.so.12"])
    cublas = make_nvidia_wheel(
        "nvidia-cublas-cu12", "12.9.1.4", libs=["libcublas.so.12", "libcublasLt.so.12"]
    )
    uv_install(venv, "--no-deps", "--no-index", *map(str, (plugin, runtime, cublas)))
    whole = smoke.run(venv)
    assert whole.verdict == "cpu-only", whole.problems
    assert {lib.soname for lib in whole.libraries if lib.loaded} >= {"libcublas.so.12"}
    (venv.site_packages / "nvidia/cublas/lib/libcublas.so.12").unlink()
    broken = smoke.run(venv)
    assert broken.verdict == "broken" and broken.exit_code() == 2
    assert any(p.startswith("libcublas.so.12 does not load") for p in broken.problems)
