"""``cudaenv detect --source NAME``: each probe asked alone, on a fake driver that agrees with
itself (tests/tools/fake_driver: NVML and libcuda compiled here and loaded by the real dlopen, a
fake ``nvidia-smi`` on PATH, ``/proc/driver/nvidia/version`` under ``CUDAENV_HOST_ROOT``).

``scripts/gpu-check`` asks each probe this way on a real GPU and requires them to agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from cudaenv.cli.commands.detect import PROBE_NAMES
from cudaenv.machine import PROBE_NAMES as MACHINE_PROBES
from tests.tools import fake_driver

if TYPE_CHECKING:
    from pathlib import Path

HAS_DRIVER = os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")
pytestmark = [
    pytest.mark.skipif(fake_driver.compiler() is None, reason="no C compiler for the fake driver"),
    pytest.mark.skipif(HAS_DRIVER, reason="this machine has a real NVIDIA driver"),
]


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    fake = fake_driver.fake_machine(tmp_path_factory.mktemp("fake-driver"))
    environ = {k: v for k, v in os.environ.items() if k != "CONDA_OVERRIDE_CUDA"}
    environ.update(fake)
    environ["PATH"] = f"{fake['PATH']}{os.pathsep}{os.environ.get('PATH', '')}"
    return environ


def detect(tmp_path: Path, environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cudaenv", "detect", *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_names_are_the_probes() -> None:
    assert PROBE_NAMES == MACHINE_PROBES


@pytest.mark.parametrize(
    ("source", "driver", "cuda", "gpus"),
    [
        ("nvml", "580.173.02", "13.0", 1),
        ("libcuda", None, "13.0", 0),  # libcuda tells the max CUDA only
        ("nvidia-smi", "580.173.02", "13.0", 1),
        ("proc", "580.173.02", "13.0", 0),  # the kernel module: CUDA from the driver table
    ],
)
def test_each_probe_alone(tmp_path: Path, machine, source, driver, cuda, gpus) -> None:
    done = detect(tmp_path, machine, "--json", "--source", source)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["source"] == source
    assert (answer["driver_version"], answer["cuda_driver_version"]) == (driver, cuda)
    assert len(answer["gpus"]) == gpus
    if gpus:
        assert answer["gpus"][0]["compute_capability"] == "9.0"


def test_without_source_nvml_answers_first(tmp_path: Path, machine) -> None:
    answer = json.loads(detect(tmp_path, machine, "--json").stdout)
    assert answer["source"] == "nvml"
    assert answer["gpus"] == [
        {"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0", "memory_mib": 81559}
    ]


def test_a_source_that_finds_nothing_says_so_only_for_itself(tmp_path: Path, machine) -> None:
    environ = dict(machine, CUDAENV_HOST_ROOT=str(tmp_path))  # no /proc/driver/nvidia here
    answer = json.loads(detect(tmp_path, environ, "--json", "--source", "proc").stdout)
    assert answer["source"] == "none"
    assert answer["problems"][0] == (
        "no NVIDIA driver found: no /proc/driver/nvidia/version (the nvidia kernel module is not "
        "loaded)"
    )


def test_conda_override_is_not_read_under_source(tmp_path: Path, machine) -> None:
    environ = dict(machine, CONDA_OVERRIDE_CUDA="11.8")
    answer = json.loads(detect(tmp_path, environ, "--json", "--source", "nvml").stdout)
    assert (answer["source"], answer["cuda_driver_version"]) == ("nvml", "13.0")
    plain = json.loads(detect(tmp_path, environ, "--json").stdout)
    assert (plain["source"], plain["cuda_driver_version"]) == ("override", "11.8")


def test_source_with_driver_is_refused_and_the_hint_works(tmp_path: Path, machine) -> None:
    done = detect(tmp_path, machine, "--json", "--source", "nvml", "--driver", "535.104.05")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    error = json.loads(done.stdout)["error"]
    (remedy,) = error["remedies"]
    (command,) = remedy["commands"]
    assert command[:2] == ["cudaenv", "detect"]
    followed = detect(tmp_path, machine, *command[2:])
    assert followed.returncode == 0, followed.stderr
    assert "source:    nvml" in followed.stdout
