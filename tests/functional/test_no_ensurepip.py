"""A Python whose distribution strips ``ensurepip`` (Debian's and Ubuntu's without python3-venv):
``create`` still makes the environment, offline, with pip as with uv.

cudaenv runs from a venv of that Python (as ``scripts/gpu-check`` runs it on a lent GPU
machine, whose image is such a Python), with its own dependencies and pip on ``sys.path``. The
venv it makes has no pip then (``python -m venv`` would fail without ensurepip); pip installs
the lock into it from cudaenv's own interpreter (``pip --python``).
"""

from __future__ import annotations

import site
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from packaging.requirements import Requirement

from cudaenv import lock
from cudaenv.machine import Overrides
from cudaenv.pipeline import steps
from cudaenv.request import Request, Target
from cudaenv.settings import IndexSettings, Location
from tests.tools.stripped_python import python_without_ensurepip

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def tool(tmp_path: Path) -> Path:
    """A venv of a Python without ensurepip, that imports cudaenv and its dependencies from
    the suite's own environment."""
    stripped = python_without_ensurepip(tmp_path / "stripped")
    if stripped is None:
        pytest.skip("this Python's layout cannot be copied without ensurepip")
    refused = subprocess.run([str(stripped), "-m", "venv", str(tmp_path / "x")],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert refused.returncode != 0 and "ensurepip" in refused.stderr + refused.stdout
    prefix = tmp_path / "tool"
    subprocess.run([str(stripped), "-m", "venv", "--without-pip", str(prefix)], check=True)
    (own,) = [p for p in site.getsitepackages() if p.endswith("site-packages")][:1]
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    pth = prefix / "lib" / version / "site-packages" / "suite.pth"
    pth.write_text(f"import site; site.addsitedir({own!r})\n")
    return prefix / "bin" / "python"


@pytest.fixture
def wheelhouse(tmp_path: Path, make_nvidia_wheel) -> tuple[Path, Path]:
    house = tmp_path / "house"
    house.mkdir()
    wheel = make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"])
    (house / wheel.name).write_bytes(wheel.read_bytes())
    settings = IndexSettings(
        default=Location(url=(tmp_path / "no-index").as_uri(), origin="test", tool="cudaenv"),
        find_links=(Location(url=house.as_uri(), origin="test", tool="cudaenv"),),
    )
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    request = Request(
        frameworks=(),
        target=Target.from_strings(python, None),
        gpu=False,
        packages=(Requirement("nvidia-cuda-runtime-cu12==12.2.140"),),
    )
    options = steps.IndexOptions(settings=settings, cache_dir=tmp_path / "cache")
    resolution = steps.solve(request, Overrides(cuda="12.2"), options).resolution
    out = tmp_path / "pylock.toml"
    lock.write(resolution, out, knowledge_version="test")
    return out, house


@pytest.mark.parametrize("installer", ["pip", "auto"])
def test_create_offline_with_a_python_without_ensurepip(
    tmp_path: Path, tool: Path, wheelhouse: tuple[Path, Path], installer: str
) -> None:
    locked, house = wheelhouse
    prefix = tmp_path / "env"
    done = subprocess.run(
        [str(tool), "-m", "cudaenv", "create", "--from", str(locked), "--find-links", str(house),
         "--offline", "-p", str(prefix), "--no-smoke", "--installer", installer],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site_dir = prefix / "lib" / version / "site-packages"
    assert (site_dir / "nvidia" / "cuda_runtime" / "lib" / "libcudart.so.12").is_file()
    assert (site_dir / "nvidia_cuda_runtime_cu12-12.2.140.dist-info").is_dir()
    assert (prefix / ".cudaenv").is_file()
    no_pip = subprocess.run([str(prefix / "bin" / "python"), "-m", "pip", "--version"],
                            capture_output=True, check=False)  # fmt: skip
    assert no_pip.returncode != 0  # nothing put pip there: its Python has no ensurepip
