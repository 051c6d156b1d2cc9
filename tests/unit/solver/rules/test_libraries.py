"""libraries.py: two frameworks that need one NVIDIA library in different majors, said in the
library's terms with the nearest lines that share one. Pure: causes are built here."""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from resolvelib.structs import RequirementInformation
from tests.tools.fake_catalog import candidate

from cudaenv.knowledge import load
from cudaenv.request import Request
from cudaenv.solver.requirements import SpecifierRequirement
from cudaenv.solver.rules import libraries

CUDNN = canonicalize_name("nvidia-cudnn-cu12")
REQUEST = Request.from_args(
    tf="2.15", torch="2.7", spacy=None, python="3.11", platform="manylinux_2_28_x86_64"
)


def pinned(pin: str, parent: str, version: str) -> RequirementInformation:
    req = SpecifierRequirement.within_major(
        SpecifierRequirement(name=CUDNN, specifier=SpecifierSet(f"=={pin}")), Version(pin)
    )
    return RequirementInformation(req, candidate(parent, version))


def test_the_names_of_nvidia_libraries() -> None:
    assert libraries.library_of("nvidia-cudnn-cu12") == "cuDNN"
    assert libraries.library_of("nvidia-cuda-runtime") == "the CUDA runtime"
    assert libraries.library_of("numpy") is None


def test_cudnn_8_against_9_is_said_in_cudnns_terms_with_the_nearest_lines() -> None:
    causes = [pinned("8.9.4.25", "tensorflow", "2.15.1"), pinned("9.5.1.17", "torch", "2.7.1")]
    listed = {"tensorflow": [Version("2.18.1")], "torch": [Version("2.3.1")]}
    why = libraries.explain(causes, load(), REQUEST, listed)
    assert why is not None
    assert why.headline == (
        "TensorFlow 2.15 needs cuDNN 8 (nvidia-cudnn-cu12==8.9.4.25) and PyTorch 2.7 needs cuDNN 9 "
        "(nvidia-cudnn-cu12==9.5.1.17): cuDNN is compatible only within a major version, and one "
        "environment holds one cuDNN"
    )
    # each framework's lines nearest the one asked for on the other's cuDNN major, with a
    # final release on the index
    assert [h.options for h in why.hints] == [(("--tf", "2.18"),), (("--torch", "2.3"),)]


def test_one_major_on_both_sides_is_no_library_conflict() -> None:
    causes = [pinned("9.3.0.75", "tensorflow", "2.18.1"), pinned("9.5.1.17", "torch", "2.7.1")]
    assert libraries.explain(causes, load(), REQUEST, {}) is None
