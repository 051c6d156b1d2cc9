"""The doctor on frameworks side by side: their NVIDIA pins (read from the METADATA installed),
one CUDA stack and one cuDNN per environment, what PyTorch and JAX did in the probe.

Environments are folders on disk with real ``*.dist-info/METADATA`` files repeating the real
Requires-Dist of torch 2.7.1 / 2.3.1 (PyPI metadata); the probe's findings enter as the JSON it
prints, the machine as the value ``cudaenv.machine.detect`` returns (no driver here).
"""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING, Any

import pytest
from packaging.version import Version

from cudaenv.doctor.checks import findings
from cudaenv.doctor.facts import Facts
from cudaenv.knowledge import load
from cudaenv.knowledge.logschema import load_log_rules
from cudaenv.smoke.report import SmokeReport
from tests.unit.test_doctor import BARE, GPU, NO_DRIVER, make_env

if TYPE_CHECKING:
    from pathlib import Path

    from cudaenv.envs.base import Env

LINUX = 'platform_system == "Linux" and platform_machine == "x86_64"'
TORCH_27 = {
    "nvidia-cuda-runtime-cu12": "12.6.77",
    "nvidia-cudnn-cu12": "9.5.1.17",
    "nvidia-nvjitlink-cu12": "12.6.85",
    "nvidia-cusparselt-cu12": "0.6.3",
}
TORCH_23 = {"nvidia-cuda-runtime-cu12": "12.1.105", "nvidia-cudnn-cu12": "8.9.2.26"}

pytestmark = pytest.mark.skipif(
    platform.machine() != "x86_64", reason="torch's NVIDIA pins apply to x86_64 only"
)


def install(env: Env, name: str, version: str, requires: dict[str, str] | None = None) -> None:
    """A dist-info as an installer leaves it: METADATA with the real Requires-Dist lines."""
    folder = env.site_packages / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {n}=={v}; {LINUX}" for n, v in (requires or {}).items()]
    lines += ["Requires-Dist: filelock", 'Requires-Dist: optree>=0.13.0; extra == "optree"']
    (folder / "METADATA").write_text("\n".join(lines) + "\n")


def facts_of(env: Env, dists: dict[str, str], **report: Any) -> Facts:
    doc = {"driver": NO_DRIVER, "libraries": [], "environment": {"python": "3.11.9"}, **report}
    return Facts(
        env=env,
        report=SmokeReport.from_json(doc, rules=load_log_rules()),
        places={},
        required=frozenset(),
        tf_line=None,
        dists={k: Version(v) for k, v in dists.items()},
        machine=BARE,
        knowledge=load(),
        environ={},
        sonames=load_log_rules().sonames,
    )


def test_an_older_cudnn_than_torch_pins_is_an_error_with_the_release_that_serves(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path, {})
    install(env, "torch", "2.7.1", TORCH_27)
    have = {**TORCH_27, "nvidia-cudnn-cu12": "9.3.0.75", "torch": "2.7.1"}
    (f,) = [x for x in findings(facts_of(env, have)) if x.cause == "version-mismatch"]
    assert f.message == (
        "torch 2.7.1 needs nvidia-cudnn-cu12==9.5.1.17 (or a newer 9.x); the environment has "
        "9.3.0.75"
    )
    assert f.run == (f.fix,) and "'nvidia-cudnn-cu12>=9.5.1.17,<10'" in f.fix


def test_a_pin_met_by_a_newer_release_of_its_major_is_information(tmp_path: Path) -> None:
    """What cudaenv's relaxing leaves: torch 2.3's cuDNN 8.9.2.26 met by TF 2.15's 8.9.4.25."""
    env = make_env(tmp_path, {})
    install(env, "torch", "2.3.1", TORCH_23)
    have = {
        "torch": "2.3.1",
        "nvidia-cuda-runtime-cu12": "12.2.140",
        "nvidia-cudnn-cu12": "8.9.4.25",
    }
    found = findings(facts_of(env, have))
    assert [f.cause for f in found if f.severity == "error"] == ["driver"]  # none here
    (driver,) = [f for f in found if f.cause == "driver"]
    assert driver.fix == "install the NVIDIA driver >= 525.60.13; `nvidia-smi` must work"
    (info,) = [f for f in found if "pins are met by newer releases" in f.message]
    assert "nvidia-cudnn-cu12 8.9.4.25 for ==8.9.2.26 (cudnn-minor-backward)" in info.message
    assert "nvidia-cuda-runtime-cu12 12.2.140 for ==12.1.105" in info.message


def test_a_missing_pinned_wheel_is_named_with_its_install_command(tmp_path: Path) -> None:
    env = make_env(tmp_path, {})
    install(env, "torch", "2.7.1", TORCH_27)
    have = {k: v for k, v in TORCH_27.items() if k != "nvidia-nvjitlink-cu12"}
    (f,) = [x for x in findings(facts_of(env, {**have, "torch": "2.7.1"})) if "needs" in x.message]
    assert f.cause == "library-path" and "it is not installed" in f.message
    assert "nvidia-nvjitlink-cu12>=12.6.85,<13" in f.fix


def test_two_cuda_majors_in_one_environment_and_the_environment_that_fixes_it(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path, {})
    have = {
        "tensorflow": "2.18.1",
        "torch": "2.11.0",
        "nvidia-cuda-runtime-cu12": "12.5.82",
        "nvidia-cuda-runtime": "13.0.96",
        "nvidia-cudnn-cu12": "9.3.0.75",
        "nvidia-cudnn-cu13": "9.19.0.56",
    }
    (f,) = [x for x in findings(facts_of(env, have)) if "CUDA majors" in x.message]
    assert f.cause == "several-installs" and f.severity == "error"
    assert "CUDA 12: nvidia-cuda-runtime-cu12 12.5.82, nvidia-cudnn-cu12 9.3.0.75" in f.message
    assert "CUDA 13: nvidia-cuda-runtime 13.0.96, nvidia-cudnn-cu13 9.19.0.56" in f.message
    assert f.run == (
        f"cudaenv create --tf 2.18 --torch 2.10 --python 3.11 -p {env.prefix}-cudaenv",
    )


def test_two_cudnns_loaded_in_one_process_is_an_error(tmp_path: Path) -> None:
    env = make_env(tmp_path, {})
    ours = str(env.site_packages / "nvidia/cudnn/lib/libcudnn.so.9")
    other = "/usr/local/cuda/lib64/libcudnn.so.9"
    together = {
        "device": "cpu",
        "frameworks": {
            "tensorflow": {"loaded": {"libcudnn.so.9": ours}},
            "torch": {"loaded": {"libcudnn.so.9": other}},
        },
        "cudnn": sorted([ours, other]),
    }
    found = findings(facts_of(env, {"torch": "2.7.1"}, together=together))
    (f,) = [x for x in found if x.message.startswith("two cuDNN libraries")]
    assert f.cause == "several-installs" and f"{other} (by torch)" in f.message


def test_what_pytorch_printed_becomes_a_finding_and_its_driver_floor_counts(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path, {})
    line = "UserWarning: CUDA initialization: The NVIDIA driver on your system is too old "
    line += "(found version 12040)."
    torch = {"version": "2.11.0", "cuda_version": "13.0", "gpus": [], "log": [{"line": line}]}
    old = {**GPU, "cuda_version": "12.4"}
    found = findings(facts_of(env, {"torch": "2.11.0"}, torch=torch, driver=old))
    printed = [f for f in found if f.message.startswith("PyTorch printed: ")]
    assert printed and printed[0].cause == "driver"
    (floor,) = [f for f in found if f.message.startswith("the driver supports")]
    assert floor.message == "the driver supports CUDA <= 12.4; PyTorch 2.11 needs CUDA >= 13.0"
    assert floor.fix == "upgrade the NVIDIA driver to >= 580.65.06"
