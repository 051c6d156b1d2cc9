"""Issue 22 on the real index, items 1 and 8: CuPy's own CUDA libraries all pinned, and the CUDA
13.3 to 13.5 rows of the driver table, each with the named case and cases of its own.

The solves read PyPI's pages and METADATA only (a shared cache per module), no wheel is
downloaded. The environment check at the end installs cupy-cuda11x 12.3.0 and its CUDA 11 wheels
into the big tests' uv cache (tests/tools/bigenv.py; measured from a cold cache: 13 s, 2.0 GB of
cache), so it is ``bigenv`` too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from packaging.version import Version
from tests.tools.bigenv import big_dir, environ, requirements

from cudaenv import knowledge, smoke
from cudaenv.envs.base import Env
from cudaenv.index import Index
from cudaenv.machine import Overrides, detect
from cudaenv.request import Request
from cudaenv.smoke.needed import framework_needs
from cudaenv.solver import solve
from cudaenv.system.process import find_uv

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.network

PLATFORM = "manylinux_2_28_x86_64"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pypi-cache")


def resolve(cache: Path, driver: str, python: str, **frameworks: str):
    know = knowledge.load()
    machine = detect(Overrides(driver=driver), driver_to_cuda=know.max_cuda_for_driver)
    request = Request.from_args(
        tf=frameworks.get("tf"),
        jax=frameworks.get("jax"),
        spacy=frameworks.get("spacy"),
        python=python,
        platform=PLATFORM,
    )
    with Index("https://pypi.org/simple", cache_dir=cache, platform=PLATFORM) as index:
        return machine, solve(request, machine, know, index)


# --- item 1: CuPy's CUDA libraries ---------------------------------------------------------


@pytest.mark.parametrize(
    ("frameworks", "driver", "python"),
    [
        ({"spacy": "3.5"}, "535.104.05", "3.11"),  # the named case
        ({"spacy": "3.7"}, "470.82.01", "3.11"),  # a CUDA 11.4 driver: the cuda11x extra
        ({"tf": "2.13", "spacy": "3.7"}, "535.104.05", "3.11"),  # TF's cu11 set and CuPy's, one
    ],
)
def test_cupy_for_cuda_11_gets_the_runtime_it_links(
    cache: Path, frameworks: dict[str, str], driver: str, python: str
) -> None:
    _, res = resolve(cache, driver, python, **frameworks)
    pins = {p.name: p for p in res.pins}
    assert pins["cupy-cuda11x"].version < Version("13")
    runtime = pins["nvidia-cuda-runtime-cu11"]  # libcudart.so.11.0, DT_NEEDED of CuPy <= 12
    assert runtime.version.release[:2] == (11, 8)
    assert any("cupy-cuda11x runtime libraries" in why for why in runtime.why), runtime.why
    cupy = knowledge.load().cupy_for(11)
    assert {r.name for r in cupy.runtime_wheels} <= set(pins)
    assert not [name for name in pins if name.endswith("-cu12")]


def test_cupy_for_cuda_12_keeps_its_runtime(cache: Path) -> None:
    _, res = resolve(cache, "535.104.05", "3.12", spacy="3.8")
    pins = {p.name: p.version for p in res.pins}
    assert pins["cupy-cuda12x"] < Version("13") and "nvidia-cuda-runtime-cu12" in pins


# --- item 8: CUDA 13.3 to 13.5 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("driver", "max_cuda", "jax", "note"),
    [
        ("610.43.02", "13.3", "0.10", True),  # the named case: an R610 driver reports 13.3
        ("595.71.05", "13.2", "0.8", True),  # 13.2 Update 2's driver; the runtime is 13.5
        ("575.57.08", "12.9", "0.7", False),  # a CUDA 12 stack: its runtime is in the table
    ],
)
def test_the_driver_table_past_13_2(
    cache: Path, driver: str, max_cuda: str, jax: str, note: bool
) -> None:
    machine, res = resolve(cache, driver, "3.12", jax=jax)
    assert str(machine.max_cuda) == max_cuda
    runtime = next(p for p in res.pins if p.name.startswith("nvidia-cuda-runtime"))
    table = knowledge.load().newest_toolkit_cuda(runtime.version.major)
    beyond = [n for n in res.notes if "newer than CUDA 13.3" in n]
    if note:
        assert runtime.version > Version("13.4"), runtime  # PyPI has 13.4 and 13.5 runtimes
        assert beyond and f"{runtime.name} {runtime.version} is CUDA" in beyond[0], res.notes
        assert "runs on drivers ≥ 580.65.06 under minor-version compatibility" in beyond[0]
        assert str(res.stack.driver_floor) == "580.65.06"
    else:
        assert runtime.version.release[:2] <= table.release and not beyond, res.notes


# --- item 1, in a real environment ------------------------------------------------------------


@pytest.mark.bigenv
def test_cupy_11_libraries_load_by_soname_under_activation_and_one_removed_fails(
    tmp_path: Path,
) -> None:
    """The named case's CUDA part, from cudaenv's own lock: cupy-cuda11x 12.3.0 and the NVIDIA
    wheels. Every CUDA library CuPy's extension modules link against (read from the installed
    files) must load by soname under the activation; without libcudart.so.11.0 the smoke test
    fails."""
    uv = find_uv()
    found = shutil.which("python3.11")
    if uv is None or not (found or sys.version_info[:2] == (3, 11)):
        pytest.skip("needs uv and a Python 3.11")
    python = sys.executable if sys.version_info[:2] == (3, 11) else str(found)
    lines = requirements("--spacy", "3.5", "--python", "3.11", "--driver", "535.104.05")
    cuda = [ln for ln in lines.splitlines() if ln.startswith(("cupy-", "nvidia-", "fastrlock"))]
    with big_dir("cupy11") as folder:
        (folder / "reqs.txt").write_text("\n".join(cuda) + "\n")
        subprocess.run([python, "-m", "venv", "--without-pip", str(folder / "env")], check=True)
        env = Env.from_prefix(folder / "env")
        install = [str(uv), "pip", "install", "-q", "--python", str(env.python), "--no-deps"]
        install += ["--require-hashes", "-r", str(folder / "reqs.txt")]
        subprocess.run(install, check=True, env=environ(), timeout=1800)
        linked = framework_needs(env.site_packages, ["cupy-cuda11x"])
        assert "libcudart.so.11.0" in linked and "libcuda.so.1" not in linked
        report = smoke.run(env, quick=True)
        loaded = {lib.soname: lib for lib in report.libraries}
        cupy = knowledge.load().cupy_for(11)
        for soname in linked:
            if not cupy.is_optional(soname):
                assert loaded[soname].loaded, (soname, loaded[soname].error)
                assert str(loaded[soname].path).startswith(str(env.site_packages / "nvidia"))
        assert report.verdict == "cpu-only", report.problems
        (env.site_packages / "nvidia/cuda_runtime/lib/libcudart.so.11.0").unlink()
        broken = smoke.run(env, quick=True)
        assert broken.verdict == "broken"
        assert any(p.startswith("libcudart.so.11.0 does not load") for p in broken.problems)
