"""CUDA errors in every wording: XLA's old and new cuInit lines, CuPy's runtime errors and import
failures, and the driver diagnostics, each with its cause and a fix that is a command.

Real captures are in tests/data/logs (test_explain_log.py). Codes no public report shows are
checked here on lines built from the format strings of the code that prints them:
XLA ``cuda_status.cc`` (``"CUDA error: "``, ``detail + ": " + name``, ``"UNKNOWN ERROR (N)"``),
its older ``cuda_driver.cc`` (``"failed call to cuInit: " + name``), ``cuda_diagnostics.cc``, and
the dynamic loader's ``LIB: cannot open shared object file: No such file or directory``.
"""

from __future__ import annotations

import pytest

from cudaenv.doctor import explain_log
from cudaenv.knowledge.loglines import LogLine
from cudaenv.knowledge.logschema import load_log_rules
from cudaenv.smoke.report import SmokeReport

# CUresult name -> (value, the row that explains it, its cause); NVIDIA's CUresult list
CUINIT_ERRORS = {
    "CUDA_ERROR_INVALID_VALUE": (1, "cuinit-invalid-value", "driver"),
    "CUDA_ERROR_OUT_OF_MEMORY": (2, "cuinit-failed", "driver"),
    "CUDA_ERROR_NOT_INITIALIZED": (3, "cuda-not-initialized", "driver"),
    "CUDA_ERROR_DEINITIALIZED": (4, "cuda-not-initialized", "driver"),
    "CUDA_ERROR_STUB_LIBRARY": (34, "cuda-stub-library", "library-path"),
    "CUDA_ERROR_DEVICE_UNAVAILABLE": (46, "cuda-device-unavailable", "driver"),
    "CUDA_ERROR_NO_DEVICE": (100, "cuda-no-device", "container"),
    "CUDA_ERROR_INVALID_DEVICE": (101, "cuda-invalid-device", "container"),
    "CUDA_ERROR_DEVICE_NOT_LICENSED": (102, "cuda-device-not-licensed", "driver"),
    "CUDA_ERROR_SHARED_OBJECT_INIT_FAILED": (303, "cuinit-driver-library-missing", "driver"),
    "CUDA_ERROR_OPERATING_SYSTEM": (304, "cuda-operating-system", "driver"),
    "CUDA_ERROR_NOT_PERMITTED": (800, "cuinit-failed", "driver"),
    "CUDA_ERROR_NOT_SUPPORTED": (801, "cuinit-failed", "driver"),
    "CUDA_ERROR_SYSTEM_NOT_READY": (802, "cuda-system-not-ready", "driver"),
    "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH": (803, "cuda-system-driver-mismatch", "driver"),
    "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE": (804, "cuda-compat-not-supported", "driver"),
    "CUDA_ERROR_MPS_CONNECTION_FAILED": (805, "cuda-mps", "driver"),
    "CUDA_ERROR_MPS_SERVER_NOT_READY": (807, "cuda-mps", "driver"),
    "CUDA_ERROR_UNKNOWN": (999, "cuda-unknown", "driver"),
}
NEW = "E0000 00:00:1.0 1 cuda_platform.cc:51] failed call to cuInit: INTERNAL: CUDA error: "
OLD = "E tensorflow/stream_executor/cuda/cuda_driver.cc:318] failed call to cuInit: "


def wordings(name: str, value: int) -> list[str]:
    new = NEW.replace("INTERNAL: CUDA error: ", "RESOURCE_EXHAUSTED: ") if value == 2 else NEW
    return [
        f"{OLD}{name}",  # TF <= 2.17: ToString(res)
        f"{new}Failed call to cuInit: {name}",  # cuda_status.cc: detail + ": " + name
        f"{new}Failed call to cuInit: UNKNOWN ERROR ({value})",  # name not available
    ]


@pytest.mark.parametrize("name", sorted(CUINIT_ERRORS))
def test_every_cuinit_code_reads_the_same_in_every_wording(name: str) -> None:
    value, rule, cause = CUINIT_ERRORS[name]
    rules = load_log_rules()
    for line in wordings(name, value):
        got = rules.classify(line)
        assert got is not None and (got.rule, got.cause, got.verdict) == (rule, cause, "problem")
        assert "`" in got.fix, f"{rule}: the fix names no command"
        if rule == "cuinit-failed":  # no row of its own: the explanation repeats the error
            assert name in got.explanation or f"({value})" in got.explanation


def test_no_device_is_visibility_not_a_broken_driver() -> None:
    """Issue 14: XLA's new wording was explained as 'the kernel module is not loaded'."""
    line = f"{NEW}Failed call to cuInit: CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected"
    got = load_log_rules().classify(line)
    assert got is not None and (got.rule, got.cause) == ("cuda-no-device", "container")
    assert "kernel module" not in got.explanation and "reinstall" not in got.fix
    for words in ("CUDA_VISIBLE_DEVICES", "container", "cgroup"):
        assert words in got.explanation
    for command in ("unset CUDA_VISIBLE_DEVICES", "--gpus all", "nvidia-smi -L"):
        assert command in got.fix


def test_303_means_no_driver_library() -> None:
    got = load_log_rules().classify(f"{NEW}Failed call to cuInit: UNKNOWN ERROR (303)")
    assert got is not None and got.cause == "driver"
    assert "libcuda.so.1" in got.explanation and "without an NVIDIA GPU" in got.explanation


def test_kernel_dso_mismatch_names_both_versions_and_the_reboot() -> None:
    line = (
        "E0000 cuda_diagnostics.cc:259] kernel version 550.54.15 does not match DSO version"
        " 550.90.07 -- cannot find working devices in this configuration"
    )
    got = load_log_rules().classify(line)
    assert got is not None and (got.rule, got.cause) == ("kernel-dso-mismatch", "driver")
    assert "550.54.15" in got.explanation and "550.90.07" in got.explanation
    assert "not rebooted" in got.explanation and "`sudo reboot`" in got.fix


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        # xla/stream_executor/cuda/cuda_diagnostics.cc, LogDiagnosticInformation
        ('I0000 cuda_diagnostics.cc:95] env: CUDA_VISIBLE_DEVICES="-1"', "cuda-diagnostics"),
        (
            "I0000 cuda_diagnostics.cc:99] CUDA_VISIBLE_DEVICES is set to -1 - this hides all"
            " GPUs from CUDA",
            "cuda-visible-devices-hides",
        ),
        (
            "I0000 cuda_diagnostics.cc:99] CUDA_VISIBLE_DEVICES is set to an empty string - this"
            " hides all GPUs from CUDA",
            "cuda-visible-devices-hides",
        ),
        (
            "I0000 cuda_diagnostics.cc:106] verbose logging is disabled. Rerun with verbose"
            " logging (usually --v=1 or --vmodule=cuda_diagnostics=1) to get more diagnostic"
            " output from this module",
            "cuda-diagnostics",
        ),
        (
            "I0000 cuda_diagnostics.cc:87] no NVIDIA GPU device is present: /dev/nvidia0 does"
            " not exist",
            "no-gpu-device-node",
        ),
    ],
)
def test_xla_diagnostics(line: str, rule: str) -> None:
    got = load_log_rules().classify(line)
    assert got is not None and got.rule == rule


SONAME_WHEELS = {
    "libcudart.so.12": "nvidia-cuda-runtime-cu12",
    "libnvrtc.so.12": "nvidia-cuda-nvrtc-cu12",
    "libcublas.so.12": "nvidia-cublas-cu12",
    "libcublasLt.so.12": "nvidia-cublas-cu12",
    "libcurand.so.10": "nvidia-curand-cu11",
    "libcusolver.so.11": "nvidia-cusolver-cu11",
    "libcusparse.so.12": "nvidia-cusparse-cu12",
    "libcufft.so.11": "nvidia-cufft-cu12",
    "libnvJitLink.so.12": "nvidia-nvjitlink-cu12",
    "libcudnn.so.9": "nvidia-cudnn-cu12",
}


@pytest.mark.parametrize("soname", sorted(SONAME_WHEELS))
def test_cupy_original_error_names_the_wheel(soname: str) -> None:
    line = f"  ImportError: {soname}: cannot open shared object file: No such file or directory"
    (got,) = explain_log(line)
    assert (got.rule, got.cause) == ("cuda-library-not-importable", "library-path")
    assert soname in got.explanation and SONAME_WHEELS[soname] in got.fix


def test_cupy_without_the_driver_library_is_the_driver() -> None:
    for line in (
        "  ImportError: libcuda.so.1: cannot open shared object file: No such file or directory",
        "OSError: libcuda.so.1: cannot open shared object file: No such file or directory",
    ):
        got = load_log_rules().classify(line)
        assert got is not None and (got.rule, got.cause) == ("cupy-libcuda-missing", "driver")
        assert "never pip" in got.explanation and "--gpus all" in got.fix


def test_cupy_block_header_points_at_the_original_error() -> None:
    got = load_log_rules().classify("Failed to import CuPy.")
    assert got is not None and got.rule == "cupy-import-failed"
    assert "Original error" in got.explanation
    other = "Failed to import cupy. Falling back to numpy."  # another project's message
    assert load_log_rules().classify(other) is None


def test_kernel_image_invalid_is_sourced_from_the_release_notes() -> None:
    rule = next(r for r in load_log_rules().rules if r.id == "kernel-image-invalid")
    assert rule.source == "https://github.com/tensorflow/tensorflow/releases/tag/v2.17.0"
    assert "5.x" in rule.explanation and "--tf 2.16" in rule.fix


def test_smoke_and_explain_give_the_same_value() -> None:
    """One LogLine for the smoke report, doctor and explain (was Classified vs LogLine)."""
    line = f"{OLD}CUDA_ERROR_NO_DEVICE"
    data = {"tensorflow": {"version": "2.15.1", "log": [{"phase": "gpu", "line": line}]}}
    report = SmokeReport.from_json(data, rules=load_log_rules())
    assert report.tensorflow is not None
    (in_report,) = report.tensorflow.log
    (explained,) = explain_log(line)
    assert type(in_report) is type(explained) is LogLine
    assert in_report.to_dict() == {**explained.to_dict(), "phase": "gpu"}
    unknown = SmokeReport.from_json(
        {"tensorflow": {"version": "2.15.1", "log": [{"phase": "import", "line": " hello "}]}},
        rules=load_log_rules(),
    )
    assert unknown.tensorflow is not None
    assert unknown.tensorflow.log == (LogLine.unknown("hello", phase="import"),)
