"""uncurated.py: a line the recipes lack, derived from its release's METADATA. No server: the
pages and METADATA are a fake catalog's (the index client stands there in a solve)."""

from __future__ import annotations

from packaging.version import Version
from tests.tools.fake_catalog import FakeCatalog, metadata_text

from cudaenv.knowledge import load
from cudaenv.request import Request
from cudaenv.solver.rules.uncurated import extend

AND_CUDA = (
    'nvidia-cuda-runtime-cu12<13.0,>=12.8.90; extra == "and-cuda"',
    'nvidia-cudnn-cu12<10.0,>=9.10.2.21; extra == "and-cuda"',
)


def request(tf: str, *, pre: bool = False) -> Request:
    return Request.from_args(
        tf=tf, spacy=None, python="3.11", platform="manylinux_2_28_x86_64", pre=pre
    )


def test_a_new_line_is_derived_from_its_cuda_extra_and_said_to_be_uncurated() -> None:
    pages = FakeCatalog(
        {"tensorflow": ["2.15.1", "2.99.0", "2.99.1"]},
        metadata={
            "tensorflow==2.99.1": metadata_text(
                "tensorflow",
                "2.99.1",
                "numpy>=1.26",
                *AND_CUDA,
                extras=["and-cuda"],
                python=">=3.10",
            )
        },
    )
    extended = extend(load(), request(">=2.15"), pages)
    line = extended.knowledge.tf_line(Version("2.99.1"))
    assert line is not None and (line.cuda, line.cudnn, line.extra) == (
        Version("12.8"),
        Version("9.10"),
        "and-cuda",
    )
    assert line.source == "PyPI metadata of tensorflow==2.99.1"  # the newest of the line
    assert extended.notes == (
        "TensorFlow 2.99 is not yet curated in cudaenv's recipes: what it needs comes from the "
        "metadata of tensorflow 2.99.1 (its and-cuda extra: CUDA 12.8, cuDNN 9.10)",
    )
    assert extended.unknown == {}
    assert extend(load(), request("2.15"), pages).knowledge is load()  # nothing new asked for


def test_metadata_that_cannot_tell_the_cuda_leaves_the_reason_and_no_line() -> None:
    pages = FakeCatalog({"tensorflow": ["2.98.0"]})  # METADATA without a CUDA extra
    extended = extend(load(), request("2.98"), pages)
    assert extended.knowledge.tf_line(Version("2.98.0")) is None
    assert extended.unknown == {
        "tensorflow": "TensorFlow 2.98.0: no extra of it pins an NVIDIA CUDA runtime wheel"
    }


def test_a_line_with_only_a_pre_release_is_derived_with_pre_only() -> None:
    meta = metadata_text("tensorflow", "2.99.0rc0", *AND_CUDA, extras=["and-cuda"])
    pages = FakeCatalog({"tensorflow": ["2.99.0rc0"]}, metadata={"tensorflow==2.99.0rc0": meta})
    assert extend(load(), request("2.99"), pages).notes == ()
    [note] = extend(load(), request("2.99", pre=True), pages).notes
    assert "tensorflow 2.99.0rc0, a pre-release taken for --pre" in note
