"""spacy.py: spaCy's GPU extra on the stack's major, or CuPy rooted directly, or a refusal with
the ways out. No server: the recipes are the real ones, the index a fake catalog."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet
from tests.tools.fake_catalog import FakeCatalog, context, metadata_text

from cudaenv.errors import Remedy, ResolutionError
from cudaenv.solver.rules import spacy
from cudaenv.solver.rules.context import StackMajor
from cudaenv.solver.rules.majors import known_lines

CUPY = 'cupy-cuda12x<13.0.0,>=11.5.0; extra == "cuda12x"'
META = {"spacy==3.7.5": metadata_text("spacy", "3.7.5", "thinc<8.3", CUPY, extras=["cuda12x"])}


def roots(ctx, catalog, constraints=None):
    sp = ctx.request.framework("spacy")
    lines = [x for x in known_lines(ctx.knowledge, "spacy") if sp.specifier.contains(f"{x.line}.0")]
    return [r.format_for_error() for r in spacy.roots(ctx, catalog, sp, lines, constraints or {})]


def test_the_gpu_extra_of_the_drivers_major_and_the_wheels_cupy_loads() -> None:
    ctx = context(driver="535.104.05", spacy="3.7")
    catalog = FakeCatalog({"spacy": ["3.7.5"], "cupy-cuda12x": ["12.3.0"]}, metadata=META)
    said = roots(ctx, catalog)
    assert said[:2] == ["__cuda>=12.0", "spacy[cuda12x]==3.7.*"]
    assert "nvidia-cuda-runtime-cu12<13,>=12.0" in said[2:]
    assert roots(context(spacy="3.7", gpu=False), catalog) == ["spacy==3.7.*"]


def test_cupy_is_rooted_itself_where_the_extras_cupy_has_no_wheel_left() -> None:
    ctx = context(driver="535.104.05", spacy="3.7")
    catalog = FakeCatalog({"spacy": ["3.7.5"], "cupy-cuda12x": ["12.3.0"]}, metadata=META)
    narrowed = roots(ctx, catalog, {"cupy-cuda12x": SpecifierSet(">=13")})  # the plan's limits
    assert narrowed[1:3] == [
        "spacy==3.7.*",
        "cupy-cuda12x>=11.5.0",  # the CuPy recipe's own range
    ]
    # CuPy is on the index, with no wheel for the target (CuPy 12 for Python 3.13)
    none = FakeCatalog({"spacy": ["3.7.5"]}, listed={"cupy-cuda12x": ["12.3.0"]}, metadata=META)
    assert roots(ctx, none)[1:3] == ["spacy==3.7.*", "cupy-cuda12x>=11.5.0"]


def test_a_spacy_without_an_extra_for_the_stacks_major_is_refused_with_the_ways_out() -> None:
    ctx = context(driver="580.65.06", torch="2.11", spacy="3.8")
    ctx = ctx.on(StackMajor(major=13, who="PyTorch 2.11"))
    catalog = FakeCatalog(listed={"torch": ["2.10.0", "2.11.0"], "spacy": ["3.8.11"]})
    with pytest.raises(ResolutionError) as info:
        roots(ctx, catalog)
    assert info.value.message == (
        "spaCy 3.8 has no GPU extra for CUDA 13, the CUDA of PyTorch 2.11"
    )
    assert info.value.remedies == (  # no spaCy line reaches CUDA 13
        Remedy.use(("--torch", "2.10")),  # PyTorch's newest line on a major spaCy reaches
        Remedy.use(("--cpu", None), verb="resolve a CPU-only stack with"),
    )
