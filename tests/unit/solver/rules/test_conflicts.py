"""conflicts.py: the two requirements that really conflict, not the first two causes. Pure:
causes and the versions the solve could pick are built here."""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from resolvelib.structs import RequirementInformation
from tests.tools.fake_catalog import candidate

from cudaenv.knowledge import load
from cudaenv.request import Request
from cudaenv.solver.requirements import SpecifierRequirement
from cudaenv.solver.rules import conflicts

REQUEST = Request.from_args(
    tf="2.20", jax="0.8", spacy="3.8", python="3.11", platform="manylinux_2_28_x86_64"
)
NUMPY = [Version(v) for v in ("1.26.4", "2.0.2", "2.3.4")]


def needs(spec: str, parent: str, version: str) -> RequirementInformation:
    req = SpecifierRequirement.from_requirement(Requirement(f"numpy{spec}"), frozenset())
    return RequirementInformation(req, candidate(parent, version))


CAUSES = [
    needs(">=1.26.0", "tensorflow", "2.20.0"),
    needs(">=2.0", "jax", "0.8.0"),
    needs("<1.29,>=1.20", "cupy-cuda12x", "12.3.0"),
    needs("<1.29,>=1.20", "cupy-cuda12x", "12.2.0"),
]


def test_the_pair_no_release_meets_is_named_and_cupy_is_said_to_be_spacys() -> None:
    a, b = conflicts.conflicting(CAUSES, {"numpy": NUMPY})
    # not TensorFlow's numpy>=1.26.0, which 1.26.4 meets beside either
    assert (str(a.parent), str(b.parent)) == ("cupy-cuda12x==12.3.0", "jax==0.8.0")
    why = conflicts.explain(CAUSES, load(), REQUEST, {"numpy": NUMPY}, {}, ())
    assert why.headline == (
        "these requirements conflict: cupy-cuda12x==12.3.0 (spaCy's CuPy) needs "
        "numpy<1.29,>=1.20, but jax==0.8.0 needs numpy>=2.0"
    )
    assert why.reasons[-1] == (  # one line per asking project, its newest release
        "cupy-cuda12x==12.3.0 (spaCy's CuPy) (and 1 older releases of cupy-cuda12x) needs "
        "numpy<1.29,>=1.20"
    )


def test_a_requirement_unmet_alone_is_set_against_the_recipes_constraint() -> None:
    spacy37 = Request.from_args(
        tf=None, spacy="3.7", python="3.11", platform="manylinux_2_28_x86_64"
    )
    causes = [needs(">=2.0", "thinc", "8.3.4")]
    pickable = {"numpy": [Version("1.26.4")]}  # numpy<2 left nothing else
    assert conflicts.conflicting(causes, pickable) is None
    assert conflicts.unmet_alone(causes, pickable) is causes[0]
    why = conflicts.explain(causes, load(), spacy37, pickable, {"numpy": SpecifierSet("<2")}, ())
    assert why.headline == (
        "these requirements conflict: thinc==8.3.4 needs numpy>=2.0, but cudaenv's recipe for "
        "spaCy 3.7 limits numpy to <2"
    )
