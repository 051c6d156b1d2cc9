"""The built wheel works on its own: installed into a fresh venv and run outside the checkout.

This is the foundation's "done when": the knowledge base must travel inside the wheel, and the
console script must work on the oldest Python cudaenv supports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.version import Version

from cudaenv.envs.venv import find_python

ROOT = Path(__file__).resolve().parents[2]
UV = shutil.which("uv", path=str(Path(os.sys.executable).parent)) or shutil.which("uv")

pytestmark = [
    pytest.mark.network,  # the wheel's dependencies come from the real index
    pytest.mark.skipif(UV is None, reason="uv is needed to build and install the wheel quickly"),
]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [UV, "build", "--wheel", "--out-dir", str(tmp / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp / "dist").glob("cudaenv-*.whl")
    venv = tmp / "venv"
    py310 = find_python(Version("3.10"))  # pyenv's shims fail for versions not selected
    subprocess.run(
        [UV, "venv", "-q", "--python", str(py310), str(venv)], check=True, capture_output=True
    )
    subprocess.run(
        [UV, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(wheel)],
        check=True,
        capture_output=True,
    )
    return venv / "bin" / "cudaenv"


def run(exe: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "CONDA_OVERRIDE_CUDA"}
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=exe.parents[2],
        env={**base, **(env or {})},
    )


def test_wheel_carries_the_knowledge_base(installed: Path) -> None:
    r = run(installed, "matrix", "--tf", "2.15", "--json")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)["tensorflow"]
    assert (row["cuda"], row["cudnn"]) == ("12.2", "8.9")
    (row,) = json.loads(run(installed, "matrix", "--tf", "2.12", "--json").stdout)["tensorflow"]
    assert (row["cuda"], row["cudnn"]) == ("11.8", "8.6")


@pytest.mark.parametrize(
    ("args", "env", "cuda"),
    [
        (("--driver", "535.104.05"), {}, "12.2"),
        (("--driver", "470.82.01"), {}, "11.4"),
        ((), {"CONDA_OVERRIDE_CUDA": "12.4"}, "12.4"),
    ],
)
def test_detect_overrides(installed: Path, args, env, cuda) -> None:
    r = run(installed, "detect", "--json", *args, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["cuda_driver_version"] == cuda


def test_detect_without_driver_says_so(installed: Path) -> None:
    r = run(installed, "detect")
    assert r.returncode == 0, r.stderr
    assert "no nvidia driver" in r.stdout.lower()


def test_bad_driver_is_a_clear_error(installed: Path) -> None:
    r = run(installed, "detect", "--driver", "banana")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "banana" in r.stderr
