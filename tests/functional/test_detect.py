"""``cudaenv detect`` as a user runs it: ``python -m cudaenv`` in a real child process, started
outside the checkout, on this machine (which has no NVIDIA driver) and with fake driver parts
put where the real ones would be found: a fake ``nvidia-smi`` on PATH and a fake
``libnvidia-ml.so.1`` on LD_LIBRARY_PATH (loaded by the real dlopen).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import fake_driver

DATA = Path(__file__).resolve().parents[1] / "data"
KEYS = {"driver_version", "cuda_driver_version", "gpus", "source", "problems"}
HAS_DRIVER = Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidiactl").exists()
no_driver_here = pytest.mark.skipif(HAS_DRIVER, reason="this machine has an NVIDIA driver")


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in {"CONDA_OVERRIDE_CUDA"}}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "cudaenv", "detect", *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@no_driver_here
def test_json_on_this_machine_says_no_driver(tmp_path: Path) -> None:
    done = run(tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert set(answer) == KEYS
    assert answer["driver_version"] is None
    assert answer["cuda_driver_version"] is None
    assert answer["gpus"] == []
    assert answer["source"] == "none"
    first = answer["problems"][0]
    assert first.startswith("no NVIDIA driver found: ")
    for why in ("libnvidia-ml.so.1", "libcuda", "nvidia-smi", "/proc/driver/nvidia"):
        assert why in first


@no_driver_here
def test_summary_on_this_machine(tmp_path: Path) -> None:
    done = run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no NVIDIA driver" in done.stdout
    assert "source:    none" in done.stdout


@pytest.mark.parametrize(
    ("args", "env", "driver", "cuda"),
    [
        (("--driver", "535.104.05"), {}, "535.104.05", "12.2"),
        (("--driver", "470.82.01"), {}, "470.82.01", "11.4"),
        ((), {"CONDA_OVERRIDE_CUDA": "12.4"}, None, "12.4"),
        (("--cuda", "11.8"), {}, None, "11.8"),
        ((), {"CONDA_OVERRIDE_CUDA": ""}, None, None),
    ],
)
def test_overrides(tmp_path: Path, args, env, driver, cuda) -> None:
    done = run(tmp_path, "--json", *args, **env)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["driver_version"], answer["cuda_driver_version"]) == (driver, cuda)
    assert answer["source"] == "override"


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (("--driver", "banana"), {}, "--driver 'banana' is not valid"),
        (("--cuda", "12.x"), {}, "--cuda '12.x' is not valid"),
        ((), {"CONDA_OVERRIDE_CUDA": "cuda12"}, "CONDA_OVERRIDE_CUDA 'cuda12' is not valid"),
    ],
)
def test_bad_input_exits_2_without_traceback(tmp_path: Path, args, env, says) -> None:
    done = run(tmp_path, *args, **env)
    assert done.returncode == 2
    assert f"error: {says}" in done.stderr
    assert "hint: give " in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_fake_nvidia_smi_on_path(tmp_path: Path) -> None:
    smi = fake_driver.fake_nvidia_smi(
        tmp_path / "bin",
        table=DATA / "nvidia-smi/table-550.135-tesla-p4.txt",
        query=DATA / "nvidia-smi/query-570.86.15-with-header.txt",
    )
    path = f"{smi.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = run(tmp_path, "--json", PATH=path)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    if answer["source"] in ("nvml", "libcuda"):
        pytest.skip("this machine has a real NVIDIA driver library, which is asked first")
    assert answer["source"] == "nvidia-smi"
    assert answer["cuda_driver_version"] == "12.4"  # the header of the table capture
    assert answer["gpus"][1] == {
        "name": "NVIDIA RTX 5880 Ada Generation",
        "compute_capability": "8.9",
        "memory_mib": None,
    }


@pytest.mark.skipif(fake_driver.compiler() is None, reason="no C compiler for the fake NVML")
@no_driver_here
def test_fake_nvml_on_library_path(tmp_path: Path) -> None:
    lib_dir = tmp_path / "lib"
    lib_dir.mkdir()
    fake_driver.build_nvml(
        lib_dir,
        DRIVER='"550.54.15"',
        CUDA=12040,
        GPU_NAME='"Tesla T4"',
        GPU_MEMORY=16106127360,
        CC_MAJOR=7,
        CC_MINOR=5,
    )
    done = run(tmp_path, "--json", LD_LIBRARY_PATH=str(lib_dir))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "driver_version": "550.54.15",
        "cuda_driver_version": "12.4",
        "gpus": [{"name": "Tesla T4", "compute_capability": "7.5", "memory_mib": 15360}],
        "source": "nvml",
        "problems": [],
    }
    summary = run(tmp_path, LD_LIBRARY_PATH=str(lib_dir)).stdout
    assert "driver:    550.54.15" in summary
    assert "0: Tesla T4 (compute 7.5, 15360 MiB)" in summary


def test_in_process_cli(cli) -> None:
    result = cli("detect", "--json", "--driver", "535.104.05")
    assert result.code == 0
    assert json.loads(result.out)["cuda_driver_version"] == "12.2"
    result = cli("detect", "--driver", "banana")
    assert result.code == 2 and "error: --driver 'banana' is not valid" in result.err
