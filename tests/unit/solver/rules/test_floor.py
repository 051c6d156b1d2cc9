"""floor.py: a driver below the pinned stack's floor is refused, naming the floor. Pure."""

from __future__ import annotations

import pytest
from packaging.version import Version
from tests.tools.fake_catalog import context

from cudaenv.driver import DriverVersion
from cudaenv.errors import Remedy, ResolutionError
from cudaenv.resolution import Resolution, Stack
from cudaenv.solver.rules.floor import refuse_below

CUDA_11 = Stack(cuda=Version("11.8"), driver_floor=DriverVersion.parse("450.80.02"))


def test_a_driver_that_reports_the_cuda_but_sits_below_the_floor_is_refused() -> None:
    ctx = context(driver="450.51.05", tf="2.12")
    resolution = Resolution(
        pins=(), target=ctx.target, frameworks=ctx.request.frameworks, stack=CUDA_11
    )
    with pytest.raises(ResolutionError) as info:
        refuse_below(resolution, ctx.machine, ctx.knowledge, ctx.request)
    why = info.value.explanation
    assert why is not None
    assert why.headline == (
        "driver 450.51.05 supports CUDA ≤ 11.0, but the CUDA 11.8 stack of TensorFlow 2.12 "
        "needs driver ≥ 450.80.02"
    )
    assert why.reasons[0].startswith("450.80.02 is the lowest driver that runs CUDA 11.x")
    assert why.hints[0].options == (("--driver", "450.80.02"),)
    assert why.hints[1] == Remedy.use(("--cpu", None), verb="resolve a CPU-only stack with")


def test_a_driver_at_the_floor_the_cpu_or_no_driver_pass() -> None:
    for ctx in (
        context(driver="450.80.02", tf="2.12"),
        context(driver="450.51.05", tf="2.12", gpu=False),
        context(tf="2.12"),  # no driver: the resolution notes the floor instead
    ):
        resolution = Resolution(
            pins=(), target=ctx.target, frameworks=ctx.request.frameworks, stack=CUDA_11
        )
        refuse_below(resolution, ctx.machine, ctx.knowledge, ctx.request)
