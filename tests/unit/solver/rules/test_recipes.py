"""recipes.py: a request's lines, the stack's major, its roots and constraints. No server: the
recipes are the real ones, the index a fake catalog."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from tests.tools.fake_catalog import FakeCatalog, candidate, context, metadata_text

from cudaenv.errors import Remedy, ResolutionError
from cudaenv.solver.requirements import VirtualRequirement
from cudaenv.solver.rules import recipes

SPACY_375 = metadata_text(
    "spacy",
    "3.7.5",
    "thinc<8.3.0,>=8.2.2",
    'cupy-cuda12x<13.0.0,>=11.5.0; extra == "cuda12x"',
    extras=["cuda12x"],
)
INDEX = {
    "tensorflow": ["2.15.0", "2.15.1"],
    "spacy": ["3.7.4", "3.7.5"],
    "cupy-cuda12x": ["12.3.0"],
}


def planned(ctx, catalog):
    return recipes.plan(recipes.choose(ctx, catalog), catalog)


def test_tf_and_spacy_root_their_gpu_extras_on_one_major_with_the_recipes_constraints() -> None:
    ctx = context(driver="535.104.05", tf="2.15", spacy="3.7")
    catalog = FakeCatalog(INDEX, metadata={"spacy==3.7.5": SPACY_375}, context=ctx)
    choice = recipes.choose(ctx, catalog)
    assert choice.context.cuda_major == 12 and choice.context.major.who == "TensorFlow 2.15"
    plan = recipes.plan(choice, catalog)
    said = [r.format_for_error() for r in plan.roots]
    assert said[:4] == [  # the virtual roots first: the most actionable when they fail
        "__cuda>=12.0",
        "__cuda>=12.0",
        "tensorflow[and-cuda]==2.15.*",
        "spacy[cuda12x]==3.7.*",
    ]
    assert [r.who for r in plan.roots[:2]] == ["TensorFlow 2.15", "spaCy's cupy-cuda12x"]
    assert "nvidia-cuda-runtime-cu12<13,>=12.0" in said  # what CuPy loads from LD_LIBRARY_PATH
    assert plan.constraints == {"numpy": SpecifierSet("<2")}  # the lines' constraints
    # the pages were asked for together, and the lookahead started on TensorFlow's roots
    assert catalog.prefetched == ["tensorflow", "spacy"]
    assert [r.format_for_error() for r in catalog.warmed] == said[:1] + said[2:3]


def test_a_release_nobody_knows_is_refused_with_the_newest_line_that_fits() -> None:
    ctx = context(driver="535.104.05", tf="9.9")
    catalog = FakeCatalog(listed={"tensorflow": ["2.14.1", "2.15.1", "2.16.2", "9.9.0"]})
    with pytest.raises(ResolutionError) as info:
        recipes.choose(ctx, catalog)
    assert info.value.message == "TensorFlow 9.9 is not a release cudaenv knows"
    assert info.value.remedies == (Remedy.use(("--tf", "2.16")),)  # CUDA 12.3 on 12.2: compat


def test_a_line_without_wheels_for_the_python_roots_its_python_requirement() -> None:
    ctx = context(driver="535.104.05", tf="2.15", python="3.13")
    choice = recipes.choose(ctx, FakeCatalog(listed={"tensorflow": ["2.15.1"]}))
    [python] = choice.roots
    assert isinstance(python, VirtualRequirement) and python.who == "TensorFlow 2.15"
    assert not python.specifier.contains("3.13")


def test_a_pinned_release_is_checked_again_on_the_major_chosen() -> None:
    ctx = context(driver="580.65.06", tf="2.18", jax="0.8.0")
    catalog = FakeCatalog(listed={"tensorflow": ["2.18.1"], "jax": ["0.8.0"]})
    assert recipes.choose(ctx, catalog).context.cuda_major == 12  # TensorFlow has no CUDA 13
    # PyTorch 2.11 takes CUDA 13, where JAX 0.7.1 has no plugin on PyPI yet
    ctx = context(driver="580.65.06", torch="2.11", jax="0.7.1")
    catalog = FakeCatalog(listed={"torch": ["2.11.0"], "jax": ["0.7.1", "0.7.2"]})
    with pytest.raises(ResolutionError) as info:
        recipes.choose(ctx, catalog)
    assert info.value.message == (
        "JAX 0.7.1 cannot be used: JAX 0.7.1 has no CUDA 13 plugin on PyPI (the first is 0.7.2)"
    )
    assert [r.options for r in info.value.remedies] == [(("--jax", "0.7"),)]


def test_what_a_release_adds_and_what_is_refused() -> None:
    ctx = context(driver="535.104.05", tf="2.12")
    added = recipes.release_requirements(
        ctx.knowledge, ctx.request, candidate("tensorflow", "2.12.1")
    )
    said = [r.format_for_error() for r in added]
    assert said[0] == "__cuda>=11.0"  # the line's floor, then its cu11 pins (no CUDA extra)
    assert any(s.startswith("nvidia-cudnn-cu11==8.6") for s in said)
    refused = recipes.refused(ctx.knowledge, ctx.request, "tensorflow", Version("2.12.1"), 12)
    assert refused is not None and "built for CUDA 11" in refused
    cpu = context(tf="2.12", gpu=False)
    assert recipes.refused(cpu.knowledge, cpu.request, "tensorflow", Version("9.9.0")) is None
