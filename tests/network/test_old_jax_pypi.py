"""Old JAX lines get only what they can run (issue 22, item 2): on the real index, imported.

jaxlib before 0.4.26 is built against NumPy 1.x and fails ``import jax`` with NumPy 2
("_ARRAY_API not found"; JAX's changelog: jaxlib 0.4.26 "JAX now supports NumPy 2.0"), and the CUDA
plugins of 0.4.22 to 0.4.28 are built with cuDNN 8.9 although 0.4.22 to 0.4.25 declare only
``nvidia-cudnn-cu12>=8.9`` (recipes/jax.toml, ``needs``). Each case solves for the GPU (a CUDA 12.2
driver), checks NumPy and cuDNN, then installs the lock's Python part (jax, jaxlib, NumPy, SciPy,
ml-dtypes, opt-einsum: by URL and hash, as cudaenv installs) into a real venv and imports JAX on
the CPU; ``--cpu`` must bring jaxlib too (jax < 0.4.30 depends on it only through ``jax[cpu]``).

Cost: one jaxlib wheel of 60-100 MB per release (four releases) plus NumPy and SciPy, downloaded
once into the big tests' shared uv cache (tests/tools/bigenv.py) and hardlinked from there:
measured 28 s and 1.4 GB of cache from a cold cache (uv keeps the wheels unpacked), seconds warm.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version
from tests.tools.bigenv import big_dir, environ, requirements

from cudaenv.system.process import find_uv

pytestmark = pytest.mark.network

PYENV = Path.home() / ".pyenv" / "versions"
GPU = ("--python", "3.11", "--driver", "535.104.05")
IMPORT = (
    "import jax, jaxlib, numpy; "
    "assert float(jax.numpy.ones(3).sum()) == 3.0; "
    "print(jax.__version__, jaxlib.__version__, numpy.__version__)"
)


def python311() -> str:
    found = sorted(PYENV.glob("3.11.*/bin/python3.11"))
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    if not found:
        pytest.skip("needs a Python 3.11 (the wheels solved for are cp311)")
    return str(found[-1])


def pins(lines: str) -> dict[str, Version]:
    """``name @ URL --hash=...`` lines (cudaenv's requirements export) -> name: version."""
    out = {}
    for line in lines.splitlines():
        if " @ " in line:
            name, url = line.split(" @ ", 1)
            filename = url.split()[0].rsplit("/", 1)[-1]
            out[name.strip()] = Version(filename.split("-")[1])
    return out


def python_part(lines: str) -> str:
    """The requirement lines a CPU needs: everything but the NVIDIA wheels and JAX's plugins."""
    keep = [
        line
        for line in lines.splitlines()
        if " @ " in line and not line.startswith(("nvidia-", "jax-cuda"))
    ]
    return "\n".join(keep) + "\n"


def import_jax(reqs: str, folder: Path) -> str:
    """Install ``reqs`` (hashed, no resolution) into a new venv in ``folder``; import JAX."""
    uv = find_uv()
    if uv is None:
        pytest.skip("needs uv (installed with cudaenv's test extra)")
    env = folder / "env"
    subprocess.run([python311(), "-m", "venv", "--without-pip", str(env)], check=True)
    (folder / "reqs.txt").write_text(reqs)
    install = [str(uv), "pip", "install", "-q", "--python", str(env / "bin" / "python")]
    install += ["--no-deps", "--require-hashes", "-r", str(folder / "reqs.txt")]
    subprocess.run(install, check=True, env=environ(), timeout=900)
    done = subprocess.run(
        [str(env / "bin" / "python"), "-c", IMPORT],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("release", "numpy_major", "cudnn_major"),
    [
        ("0.4.23", 1, 8),  # the oldest release whose cuda12 extra installs from PyPI
        ("0.4.25", 1, 8),  # the last jaxlib built against NumPy 1.x
        ("0.4.26", 2, 8),  # NumPy 2 from here; its extra itself caps cuDNN below 9
        ("0.4.28", 2, 8),  # the last plugin built with cuDNN 8.9
    ],
)
def test_an_old_jax_gets_the_numpy_and_cudnn_it_runs_and_imports(
    release: str, numpy_major: int, cudnn_major: int
) -> None:
    lines = requirements("--jax", release, *GPU)
    got = pins(lines)
    assert got["jax"] == got["jaxlib"] == got["jax-cuda12-plugin"] == Version(release)
    assert got["numpy"].major == numpy_major, got["numpy"]
    assert got["nvidia-cudnn-cu12"].major == cudnn_major, got["nvidia-cudnn-cu12"]
    with big_dir(f"old-jax-{release}") as folder:
        versions = import_jax(python_part(lines), folder)
    assert versions == f"{release} {release} {got['numpy']}"


def test_jax_0_4_29_gets_the_cudnn_9_1_its_plugin_was_built_with() -> None:
    got = pins(requirements("--jax", "0.4.29", *GPU))
    assert got["nvidia-cudnn-cu12"] >= Version("9.1"), got["nvidia-cudnn-cu12"]


def test_jax_0_4_22_is_refused_on_the_gpu_with_a_line_that_works(cli) -> None:
    """Its plugin needs jax-cuda12-pjrt 0.4.22, which PyPI does not have."""
    result = cli("solve", "--jax", "0.4.22", *GPU)
    assert result.code == 2
    assert "JAX 0.4.22 has no CUDA 12 plugin on PyPI (the first is 0.4.23)" in result.err
    assert "hint: use --jax 0.4 " in result.err
    assert cli("solve", "--jax", "0.4", *GPU).code == 0  # the hint, followed


def test_an_old_jax_on_the_cpu_brings_its_jaxlib_and_imports() -> None:
    lines = requirements("--jax", "0.4.25", "--cpu", "--python", "3.11")
    got = pins(lines)
    assert got["jaxlib"] == Version("0.4.25") and got["numpy"].major == 1
    assert not [name for name in got if name.startswith(("nvidia-", "jax-cuda"))]
    with big_dir("old-jax-cpu") as folder:
        assert import_jax(python_part(lines), folder).startswith("0.4.25 0.4.25 1.")
