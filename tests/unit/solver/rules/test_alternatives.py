"""alternatives.py: the lines and Pythons a hint may name. Pure: the real recipes and the
versions an index lists, given here."""

from __future__ import annotations

from packaging.version import Version

from cudaenv.knowledge import load
from cudaenv.request import Request
from cudaenv.solver.rules import alternatives


def request(**asked: str | None) -> Request:
    frameworks = {"tf": None, "spacy": None, **asked}
    return Request.from_args(**frameworks, python="3.11", platform="manylinux_2_28_x86_64")


def test_the_newest_tf_line_the_driver_runs_with_a_final_release_beside_the_spacy_asked() -> None:
    know = load()
    assert alternatives.newest_tf(know, request(tf="2.15"), {}, max_cuda=Version("11.4")) == (
        Version("2.14")  # the newest CUDA 11 line
    )
    listed = {"tensorflow": [Version("2.15.1"), Version("2.16.0rc0")]}
    got = alternatives.newest_tf(know, request(tf="2.15"), listed, max_cuda=Version("12.2"))
    assert got == Version("2.15")  # 2.16 has only a release candidate on the index


def test_the_newest_spacy_line_with_an_extra_for_the_cuda_major() -> None:
    know = load()
    assert alternatives.newest_spacy(know, request(spacy="3.5"), {}, cuda_major=11) == Version(
        "3.8"
    )
    assert alternatives.newest_spacy(know, request(spacy="3.5"), {}, cuda_major=13) is None


def test_pythons_every_framework_asked_for_supports_newest_first() -> None:
    both = alternatives.pythons(load(), request(tf="2.13", spacy="3.8"), {})
    assert both and both == sorted(both, reverse=True)
    assert Version("3.11") not in both  # the target's own Python is no way out
    assert all(p < Version("3.11") for p in both)  # TensorFlow 2.13 stops at 3.11
    assert alternatives.newest_python(load(), request(tf="2.13", spacy="3.8"), {}) == both[0]
