"""optional.py: an extra's optional part is left out where the target has no release of it.
No server: a fake catalog says which releases the target has."""

from __future__ import annotations

from packaging.requirements import Requirement
from tests.tools.fake_catalog import FakeCatalog

from cudaenv.knowledge import load
from cudaenv.solver.requirements import SpecifierRequirement
from cudaenv.solver.rules.optional import without_unavailable

AND_CUDA = [
    SpecifierRequirement.from_requirement(Requirement(text), frozenset(), origin="tf")
    for text in ("nvidia-cudnn-cu12==8.9.4.25", "tensorrt==8.5.3.1")
]


def test_a_part_without_a_release_for_the_target_is_left_out_and_said() -> None:
    no_trt = FakeCatalog({"nvidia-cudnn-cu12": ["8.9.4.25"], "tensorrt": ["10.0.1"]})
    kept, said = without_unavailable(load(), no_trt, AND_CUDA)
    assert [r.name for r in kept] == ["nvidia-cudnn-cu12"]
    assert said == (("tensorrt", ("tensorrt==8.5.3.1",), ("tensorrt==8.5.3.1",)),)
    missing = FakeCatalog({"nvidia-cudnn-cu12": ["8.9.4.25"]})  # not even a page
    assert without_unavailable(load(), missing, AND_CUDA)[1] == said


def test_a_part_with_a_release_is_kept() -> None:
    both = FakeCatalog({"nvidia-cudnn-cu12": ["8.9.4.25"], "tensorrt": ["8.5.3.1"]})
    assert without_unavailable(load(), both, AND_CUDA) == (AND_CUDA, ())
