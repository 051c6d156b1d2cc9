"""The whole flow, as a new user runs it, with real TensorFlow and spaCy from the real index.

Environments of several GB each, made on the one test cache's file system and removed as soon
as their tests are done (tests/tools/bigenv.py: one uv wheel cache, so a second run downloads
nothing, every wheel installed by URL as cudaenv installs it, hardlinked from the cache), and
the seed's warning, reproduced and then fixed:

* TF 2.12 + spaCy 3.7 for driver 470.82.01 (CUDA 11.4): TF 2.12 takes CUDA 11 from cu11 wheels and
  finds them only through LD_LIBRARY_PATH. Installed the usual way, `import tensorflow` prints
  "Could not find cuda drivers on your machine" (libcudart cannot be dlopened); in cudaenv's
  environment, activated, it does not, and every library TF 2.12 opens loads by name.
* TF 2.15 + spaCy 3.7 for driver 535.104.05: the smoke report on this GPU-less machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from packaging.version import Version

from cudaenv import lock
from cudaenv.envs.venv import find_python
from cudaenv.process import find_uv
from tests.tools.bigenv import big_dir, environ

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [pytest.mark.bigenv, pytest.mark.network]

SEED_WARNING = "Could not find cuda drivers on your machine"
TF212_SONAMES = (
    "libcudart.so.11.0",
    "libcublas.so.11",
    "libcublasLt.so.11",
    "libcudnn.so.8",
    "libcufft.so.10",
    "libcurand.so.10",
    "libcusolver.so.11",
    "libcusparse.so.11",
)


def cudaenv(*args: str, timeout: int = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cudaenv", *args],
        capture_output=True,
        text=True,
        env=environ(),
        timeout=timeout,
        check=False,
    )


def in_env(
    prefix: Path, script: str, *, activate: bool, args: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run a bash snippet ($1 = the prefix), after `. bin/activate` or without it."""
    pre = '. "$1/bin/activate" && ' if activate else ""
    return subprocess.run(
        ["bash", "-c", pre + script, "bash", str(prefix), *args],
        capture_output=True,
        text=True,
        env=environ(),
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def tf212() -> Iterator[Path]:
    with big_dir("e2e-tf212") as folder:
        yield _create_tf212(folder / "tf 212")  # a space in the path, on purpose


def _create_tf212(prefix: Path) -> Path:
    r = cudaenv(
        "create",
        "--tf",
        "2.12",
        "--spacy",
        "3.7",
        "--driver",
        "470.82.01",
        "--python",
        "3.11",
        "-p",
        str(prefix),
        "--no-smoke",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return prefix


def test_tf212_usual_way_prints_the_seed_warning(tf212: Path, tmp_path: Path) -> None:
    """TensorFlow 2.12.1 and the CUDA 11 runtime wheel in a plain venv, as `pip install
    tensorflow==2.12.1 nvidia-cuda-runtime-cu11` makes it: the same files as the cudaenv lock
    pins (by URL, so the cache holds them once), without cudaenv's extra CUDA 11 wheels."""
    uv = find_uv()
    assert uv is not None, "uv comes with the test extra"
    locked = lock.read(tf212 / "pylock.toml")
    usual = [p for p in locked.pins if not p.name.startswith("nvidia-") or "runtime" in p.name]
    req = tmp_path / "requirements.txt"
    req.write_text(lock.requirements_txt(replace(locked, pins=tuple(usual))))
    python = find_python(Version("3.11"))
    with big_dir("e2e-usual") as folder:
        venv = folder / "usual"
        subprocess.run(
            [str(uv), "venv", "-q", "--python", str(python), str(venv)], check=True, env=environ()
        )
        install = [str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
        subprocess.run(
            [*install, "--no-deps", "--require-hashes", "-r", str(req)],
            check=True,
            env=environ(),
            timeout=1800,
        )
        r = in_env(venv, '"$1/bin/python" -c "import tensorflow"', activate=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert SEED_WARNING in r.stderr


def test_tf212_cudaenv_env_unactivated_still_warns(tf212: Path) -> None:
    # The wheels alone do not help TF 2.12 (no RUNPATH to site-packages/nvidia): activation does.
    r = in_env(tf212, '"$1/bin/python" -c "import tensorflow"', activate=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert SEED_WARNING in r.stderr


def test_tf212_activated_loads_every_library_and_does_not_warn(tf212: Path) -> None:
    probe = (
        "import ctypes, sys\n"
        f"for soname in {TF212_SONAMES!r}:\n"
        "    ctypes.CDLL(soname)\n"
        "import tensorflow, spacy\n"
        "print(tensorflow.__version__, spacy.__version__)\n"
    )
    r = in_env(tf212, 'python -c "$2"', activate=True, args=(probe,))
    assert r.returncode == 0, r.stderr[-3000:]
    assert SEED_WARNING not in r.stderr
    tf_version, spacy_version = r.stdout.split()
    assert tf_version.startswith("2.12.") and spacy_version.startswith("3.7.")


def test_tf212_env_keeps_its_lock_and_smoke_passes_on_cpu(tf212: Path) -> None:
    assert (tf212 / "pylock.toml").is_file()
    r = cudaenv("smoke", "-p", str(tf212), "--quick", "--json")
    data = json.loads(r.stdout)
    assert r.returncode == 0, data
    assert all(lib["loaded"] for lib in data["libraries"]), data["libraries"]
    assert data["verdict"] == "cpu-only"


def test_tf215_spacy37_create_smoke_and_require_gpu() -> None:
    with big_dir("e2e-tf215") as folder:
        _tf215(folder / "tf215")


def _tf215(prefix: Path) -> None:
    r = cudaenv(
        "create",
        "--tf",
        "2.15",
        "--spacy",
        "3.7",
        "--driver",
        "535.104.05",
        "--python",
        "3.11",
        "-p",
        str(prefix),
    )
    assert r.returncode == 0, r.stderr[-3000:]  # create ran the smoke test: CPU-only is fine
    r = cudaenv("smoke", "-p", str(prefix), "--quick", "--json")
    data = json.loads(r.stdout)
    assert r.returncode == 0, data
    assert data["libraries"] and all(lib["loaded"] for lib in data["libraries"])
    assert data["tensorflow"]["version"].startswith("2.15.")
    factory = [
        x for x in data["tensorflow"]["log"] if "Unable to register cuDNN factory" in x["line"]
    ]
    assert factory and all(x["verdict"] == "noise" for x in factory)
    assert data["spacy"]["version"].startswith("3.7.")
    assert data["spacy"]["words_per_second"]["cpu"] > 0
    r = cudaenv("smoke", "-p", str(prefix), "--quick", "--require-gpu")
    assert r.returncode == 2
    assert "no NVIDIA driver" in r.stdout + r.stderr
