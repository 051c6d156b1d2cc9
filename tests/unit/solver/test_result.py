"""result.py: a CUDA runtime newer than every release whose driver the table names is noted."""

from __future__ import annotations

import pytest
from packaging.version import Version

from cudaenv import knowledge
from cudaenv.resolution import Pin, WheelFile
from cudaenv.solver.result import _beyond_the_table


def pin(name: str, version: str) -> Pin:
    wheel = WheelFile(filename=f"{name}-{version}.whl", url="https://x/", sha256="0" * 64)
    return Pin(name=name, version=Version(version), wheel=wheel)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "version"),
    [("nvidia-cuda-runtime", "13.5.37"), ("nvidia-cuda-runtime", "13.4.92")],
)
def test_a_runtime_past_the_table_gets_a_note(name: str, version: str) -> None:
    notes = _beyond_the_table([pin("jax", "0.10.2"), pin(name, version)], knowledge.load())
    minor = ".".join(version.split(".")[:2])
    assert notes == (
        f"{name} {version} is CUDA {minor}, newer than CUDA 13.3, the newest release whose "
        "driver cudaenv's table names: only the CUDA 13 floor is known for it, so it runs on "
        "drivers ≥ 580.65.06 under minor-version compatibility, and a feature that needs CUDA "
        f"{minor}'s own driver (such as running PTX it compiled) may fail on an older one",
    )


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("nvidia-cuda-runtime", "13.3.29"),  # 13.3 has its driver (610.43.02)
        ("nvidia-cuda-runtime-cu12", "12.9.79"),
        ("nvidia-cuda-runtime-cu11", "11.8.89"),
        ("nvidia-cudnn-cu12", "9.28.0.42"),  # not a runtime
    ],
)
def test_a_runtime_the_table_knows_gets_none(name: str, version: str) -> None:
    assert _beyond_the_table([pin(name, version)], knowledge.load()) == ()
