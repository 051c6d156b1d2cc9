"""context.py: the frozen context every rule reads. Pure."""

from __future__ import annotations

import dataclasses

import pytest
from packaging.requirements import Requirement
from tests.tools.fake_catalog import context

from cudaenv.solver.rules.context import StackMajor


def test_markers_are_the_targets_not_this_interpreters() -> None:
    ctx = context(tf="2.15", python="3.10", platform="manylinux_2_28_aarch64")
    assert ctx.applies(Requirement('x; python_version == "3.10"'), "")
    assert not ctx.applies(Requirement('x; platform_machine == "x86_64"'), "")
    gpu = Requirement('cupy-cuda12x; extra == "cuda12x"')
    assert ctx.applies(gpu, "cuda12x") and not ctx.applies(gpu, "")


def test_the_stack_major_comes_as_a_new_context() -> None:
    ctx = context(tf="2.18", torch="2.7")
    on = ctx.on(StackMajor(major=12, who="TensorFlow 2.18"))
    assert (ctx.cuda_major, on.cuda_major) == (None, 12)
    assert on.request is ctx.request and on.knowledge is ctx.knowledge
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.major = on.major  # type: ignore[misc]
