"""stack.py: the CUDA stack read from the pins, and what an older driver loses. Pure."""

from __future__ import annotations

from packaging.version import Version
from tests.tools.fake_catalog import context

from cudaenv.driver import DriverVersion
from cudaenv.knowledge import load
from cudaenv.resolution import Pin, Stack, WheelFile
from cudaenv.solver.rules import stack


def pins(**versions: str) -> list[Pin]:
    """``nvidia_cuda_runtime_cu12="12.9.79"`` -> a pin of ``nvidia-cuda-runtime-cu12``."""
    out = []
    for key, version in versions.items():
        name = key.replace("_", "-")
        wheel = WheelFile(filename=f"{key}-{version}.whl", url="https://x/", sha256="0" * 64)
        out.append(Pin(name=name, version=Version(version), wheel=wheel))  # type: ignore[arg-type]
    return out


def test_the_stack_is_what_the_pins_hold_and_the_build_is_the_recipes() -> None:
    held = pins(
        tensorflow="2.21.0", nvidia_cuda_runtime_cu12="12.9.79", nvidia_cudnn_cu12="9.10.2.21"
    )
    found = stack.stack_of(held, load(), Version("12.0"))
    assert found == Stack(
        cuda=Version("12.9"),
        cudnn=Version("9.10"),
        built_cuda=Version("12.5"),  # TensorFlow 2.21's recipe line
        built_cudnn=Version("9.3"),
        min_cuda=Version("12.0"),
        driver_floor=DriverVersion.parse("525.60.13"),  # minor-version compatibility
    )
    assert found.text("TensorFlow 2.21.0") == (
        "CUDA 12.9, cuDNN 9.10 (the pinned wheels; TensorFlow 2.21.0 was built with CUDA 12.5, "
        "cuDNN 9.3)"
    )


def test_nvrtc_stands_in_for_a_runtime_and_no_runtime_is_no_stack() -> None:
    nvrtc = stack.stack_of(pins(nvidia_cuda_nvrtc_cu12="12.4.127"), load(), None)
    assert (nvrtc.cuda, str(nvrtc.driver_floor)) == (Version("12.4"), "525.60.13")
    bare = stack.stack_of(pins(numpy="1.26.4"), load(), None)
    assert bare == Stack() and bare.text("x") is None


def test_a_driver_below_the_pinned_cudas_own_is_told_what_it_loses() -> None:
    held = pins(nvidia_cuda_runtime_cu12="12.9.79")
    found = stack.stack_of(held, load(), Version("12.0"))
    older = context(driver="535.104.05", tf="2.21")  # CUDA 12.2
    [note] = stack.notes(found, held, older.machine, older.knowledge)
    assert "run on this driver (CUDA 12.2) under NVIDIA's minor-version compatibility" in note
    assert note.endswith("need a driver ≥ 575.51.03")
    newer = context(driver="580.65.06", tf="2.21")
    assert stack.notes(found, held, newer.machine, newer.knowledge) == ()
