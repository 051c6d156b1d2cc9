"""frameworks.py: TensorFlow's, PyTorch's and JAX's roots, what is refused, the notes. Pure:
the real recipes, no index."""

from __future__ import annotations

from packaging.version import Version
from tests.tools.fake_catalog import context

from cudaenv.solver.rules import frameworks
from cudaenv.solver.rules.context import StackMajor
from cudaenv.solver.rules.majors import known_lines


def roots(ctx, major: int | None = None) -> list[str]:
    if major is not None:
        ctx = ctx.on(StackMajor(major=major, who="the test"))
    [fw] = ctx.request.frameworks
    lines = [x for x in known_lines(ctx.knowledge, fw.name) if fw.specifier.contains(f"{x.line}.0")]
    return [r.format_for_error() for r in frameworks.roots(ctx, fw, lines)]


def test_tensorflow_roots_its_cuda_extra_where_the_line_has_one() -> None:
    assert roots(context(driver="535.104.05", tf="2.15")) == [
        "__cuda>=12.0",
        "tensorflow[and-cuda]==2.15.*",
    ]
    assert roots(context(driver="535.104.05", tf="2.12")) == ["__cuda>=11.0", "tensorflow==2.12.*"]
    assert roots(context(tf="2.15", gpu=False)) == ["tensorflow==2.15.*"]


def test_jax_roots_the_extra_of_the_stacks_major_and_the_cpu_extra_off_it() -> None:
    assert roots(context(jax="0.7"), 13) == ["__cuda>=13.0", "jax[cuda13]==0.7.*"]
    assert roots(context(jax="0.7"), 12) == ["__cuda>=12.0", "jax[cuda12]==0.7.*"]
    assert roots(context(jax="0.4", gpu=False)) == ["jax[cpu]==0.4.*"]  # jaxlib via an extra


def test_pytorch_has_a_cuda_floor_only_where_its_wheels_carry_cuda() -> None:
    assert roots(context(driver="535.104.05", torch="2.7")) == ["__cuda>=12.0", "torch==2.7.*"]
    arm = context(driver="535.104.05", torch="2.7", platform="manylinux_2_28_aarch64")
    assert roots(arm) == ["torch==2.7.*"]  # PyPI's aarch64 wheels before 2.11: CPU builds
    notes = frameworks.notes(arm.knowledge, arm.request, {"torch": Version("2.7.1")})
    assert len(notes) == 1 and "CPU-only" in notes[0]


def test_a_release_of_another_major_or_unknown_to_the_recipes_is_refused() -> None:
    know = context(torch="2.7").knowledge
    other = frameworks.refused(know, "torch", Version("2.11.0"), 12)
    assert other is not None and other.startswith("PyTorch 2.11 is built for CUDA 13")
    assert frameworks.refused(know, "torch", Version("9.9.0"), 12) is not None
    assert frameworks.refused(know, "torch", Version("9.9.0"), 12, asked=False) is None
    early = frameworks.refused(know, "jax", Version("0.7.1"), 13)
    assert early == "JAX 0.7.1 has no CUDA 13 plugin on PyPI (the first is 0.7.2)"
    assert frameworks.refused(know, "jax", Version("0.7.2"), 13) is None
