"""``cudaenv smoke --python PATH``: an environment cudaenv did not make, found by its interpreter
(the same machinery as ``doctor --python``), smoked as ``-p`` smokes one.

The environment is a plain venv made with ``python -m venv`` and a runtime wheel installed with
uv, as someone would by hand: no cudaenv marker, no activation scripts of cudaenv's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.functional.test_smoke import make_venv, uv_install

if TYPE_CHECKING:
    from pathlib import Path


def test_a_plain_venv_by_its_interpreter(cli, tmp_path: Path, make_nvidia_wheel) -> None:
    venv = make_venv(tmp_path / "made by hand")
    wheel = make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"])
    uv_install(venv, "--no-deps", "--no-index", str(wheel))
    assert not (venv.prefix / ".cudaenv").exists()
    result = cli("smoke", "--python", str(venv.python), "--json")
    assert result.code == 0, result.out + result.err
    data = json.loads(result.out)
    (cudart,) = data["libraries"]
    folder = venv.site_packages / "nvidia" / "cuda_runtime" / "lib"
    assert (cudart["soname"], cudart["loaded"]) == ("libcudart.so.12", True)
    assert cudart["path"] == str(folder / "libcudart.so.12")
    assert data["distributions"] == {"nvidia-cuda-runtime-cu12": "12.2.140"}
    assert data["verdict"] == "cpu-only"  # no driver here, and it says so
    assert "libcuda.so.1" in data["gpu"]["reason"]
    same = json.loads(cli("smoke", "-p", str(venv.prefix), "--json").out)
    assert same["libraries"] == data["libraries"]


def test_require_gpu_names_the_doctor_command_for_that_python(cli, tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "plain")
    result = cli("smoke", "--python", str(venv.python), "--require-gpu")
    assert result.code == 2
    command = f"cudaenv doctor --python {venv.python}"
    assert f"hint: `{command}` explains what stands in the way" in result.err
    assert cli(*command.split()[1:]).code == 0  # the hint runs


def test_not_a_python_is_refused_with_ways_out(cli, tmp_path: Path) -> None:
    missing = tmp_path / "no-python"
    result = cli("smoke", "--python", str(missing), "--json")
    assert result.code == 2
    error = json.loads(result.out)["error"]
    assert error["message"].startswith(f"{missing} is not a Python interpreter: cudaenv tests")
    for remedy in error["remedies"]:
        (command,) = remedy["commands"]
        followed = cli(*command[1:])
        assert followed.code == 0, followed.err


def test_python_and_prefix_together_is_a_usage_error(cli, tmp_path: Path) -> None:
    result = cli("smoke", "--python", "python3", "-p", str(tmp_path))
    assert result.code == 2
    assert "-p/--prefix cannot be given with --python" in result.err
