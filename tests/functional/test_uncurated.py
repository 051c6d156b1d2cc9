"""Releases newer than the knowledge base, against a real index on 127.0.0.1.

TensorFlow 2.99.0 and spaCy 3.99.0 are made up: no recipe knows their lines. TensorFlow's
``and-cuda`` extra and spaCy's ``cuda12x`` extra say what they need, so cudaenv solves them from
that metadata and says the lines are not curated; TensorFlow 2.98.0 has no CUDA extra, so its
metadata cannot tell which CUDA it needs and cudaenv refuses it, saying so.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cudaenv import knowledge
from cudaenv.errors import ResolutionError
from cudaenv.index import Index
from cudaenv.machine import Overrides, detect
from cudaenv.request import Request
from cudaenv.solver import solve

if TYPE_CHECKING:
    from tests.tools.index_server import IndexServer

AUDIT = Path(__file__).resolve().parents[2] / "scripts" / "audit-knowledge.py"

PLATFORM = "manylinux_2_28_x86_64"
CP311 = "cp311-cp311-manylinux_2_17_x86_64"
TF_EXTRA = [
    'nvidia-cuda-runtime-cu12<13.0,>=12.8.90; extra == "and-cuda"',
    'nvidia-cudnn-cu12<10.0,>=9.10.2.21; extra == "and-cuda"',
]


@pytest.fixture
def index(local_index: IndexServer, make_wheel, make_nvidia_wheel) -> IndexServer:
    make_wheel(
        "tensorflow",
        "2.99.0",
        requires_dist=["numpy>=1.26.0", *TF_EXTRA],
        requires_python=">=3.10",
        provides_extra=["and-cuda"],
        tag=CP311,
    )
    make_wheel("tensorflow", "2.98.0", requires_dist=["numpy>=1.26.0"], tag=CP311)
    make_wheel("tensorflow", "2.100.0rc0", requires_dist=["numpy>=1.26.0"], tag=CP311)
    make_wheel("numpy", "1.26.4", tag=CP311)
    make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.9.79", libs=["libcudart.so.12"])
    make_nvidia_wheel("nvidia-cudnn-cu12", "9.10.2.21", libs=["libcudnn.so.9"])
    make_wheel(
        "spacy",
        "3.99.0",
        requires_dist=[
            "thinc<8.4.0,>=8.3.4",
            "numpy>=1.19.0",
            'cupy-cuda12x<14.0.0,>=13.0.0; extra == "cuda12x"',
        ],
        requires_python=">=3.9",
        provides_extra=["cuda12x"],
        tag=CP311,
    )
    make_wheel(  # a line with only a pre-release so far: --pre takes it
        "spacy",
        "4.99.0.dev1",
        requires_dist=[
            "thinc<8.4.0,>=8.3.4",
            'cupy-cuda12x<14.0.0,>=13.0.0; extra == "cuda12x"',
        ],
        requires_python=">=3.9",
        provides_extra=["cuda12x"],
        tag=CP311,
    )
    make_wheel("thinc", "8.3.4", requires_dist=["numpy<3.0.0,>=1.19.0"], tag=CP311)
    make_wheel("click", "8.1.8")
    make_wheel("cupy-cuda12x", "13.6.0", requires_dist=["numpy<2.6,>=1.22"], tag=CP311)
    for name, version, lib in [
        ("nvidia-cuda-nvrtc-cu12", "12.9.86", "libnvrtc.so.12"),
        ("nvidia-cublas-cu12", "12.9.1.4", "libcublas.so.12"),
        ("nvidia-curand-cu12", "10.3.10.19", "libcurand.so.10"),
        ("nvidia-cusolver-cu12", "11.7.5.82", "libcusolver.so.11"),
        ("nvidia-cusparse-cu12", "12.5.10.65", "libcusparse.so.12"),
        ("nvidia-cufft-cu12", "11.4.1.4", "libcufft.so.11"),
    ]:
        make_nvidia_wheel(name, version, libs=[lib])
    return local_index


def run(index: IndexServer, cache: Path, *, pre: bool = False, **asked: str | None):
    know = knowledge.load()
    machine = detect(Overrides(driver="570.124.06"), driver_to_cuda=know.max_cuda_for_driver)
    request = Request.from_args(
        tf=asked.get("tf"), spacy=asked.get("spacy"), python="3.11", platform=PLATFORM, pre=pre
    )
    with Index(index.url, cache_dir=cache, platform=PLATFORM) as client:
        return solve(request, machine, know, client)


def test_a_new_tensorflow_is_solved_from_its_cuda_extra(index: IndexServer, tmp_path: Path):
    res = run(index, tmp_path, tf="2.99")
    pins = {p.name: str(p.version) for p in res.pins}
    assert pins["tensorflow"] == "2.99.0"
    assert (pins["nvidia-cuda-runtime-cu12"], pins["nvidia-cudnn-cu12"]) == ("12.9.79", "9.10.2.21")
    stack = res.stack
    assert (str(stack.built_cuda), str(stack.built_cudnn)) == ("12.8", "9.10")  # the extra's floors
    held = (str(stack.cuda), str(stack.cudnn), str(stack.driver_floor))
    assert held == ("12.9", "9.10", "525.60.13")
    assert res.notes[0] == (
        "TensorFlow 2.99 is not yet curated in cudaenv's recipes: what it needs comes from the "
        "metadata of tensorflow 2.99.0 (its and-cuda extra: CUDA 12.8, cuDNN 9.10)"
    )


def test_a_new_release_without_a_cuda_extra_is_refused_saying_why(
    index: IndexServer, tmp_path: Path
):
    with pytest.raises(ResolutionError) as info:
        run(index, tmp_path, tf="2.98")
    assert info.value.message == (
        "TensorFlow 2.98.0: no extra of it pins an NVIDIA CUDA runtime wheel, so cudaenv "
        "cannot tell what it needs from CUDA (its recipes do not know this line yet)"
    )


def test_a_new_spacy_reaches_the_gpu_through_its_extras(index: IndexServer, tmp_path: Path):
    res = run(index, tmp_path, spacy="3.99")
    pins = {p.name: str(p.version) for p in res.pins}
    assert (pins["spacy"], pins["cupy-cuda12x"], pins["click"]) == ("3.99.0", "13.6.0", "8.1.8")
    assert "nvidia-curand-cu12" in pins  # the CuPy recipe's runtime wheels, as for known lines
    assert res.notes[0].startswith("spaCy 3.99 is not yet curated in cudaenv's recipes")
    assert res.notes[0].endswith("(its GPU extras: CUDA 12: cuda12x)")


def test_with_pre_a_line_of_only_pre_releases_is_solved_uncurated(
    index: IndexServer, tmp_path: Path
):
    """--spacy 4.99 --pre: the line has only 4.99.0.dev1, so it is derived from that release's
    METADATA and the note says it is a pre-release; without --pre, "add --pre" is the way out."""
    with pytest.raises(ResolutionError) as info:
        run(index, tmp_path, spacy="4.99")
    assert info.value.message == "spaCy 4.99 has only pre-releases so far (4.99.0.dev1)"
    assert info.value.remedies[0].options == (("--pre", None),)
    res = run(index, tmp_path, spacy="4.99", pre=True)
    pins = {p.name: str(p.version) for p in res.pins}
    assert (pins["spacy"], pins["cupy-cuda12x"]) == ("4.99.0.dev1", "13.6.0")
    assert res.notes[0] == (
        "spaCy 4.99 is not yet curated in cudaenv's recipes: what it needs comes from the "
        "metadata of spacy 4.99.0.dev1, a pre-release taken for --pre (its GPU extras: CUDA 12: "
        "cuda12x)"
    )


def test_with_pre_an_underivable_pre_release_says_why_not_add_pre(
    index: IndexServer, tmp_path: Path
):
    """TensorFlow 2.100.0rc0 has no CUDA extra: with --pre the reason is its metadata, and
    --pre is not offered again."""
    with pytest.raises(ResolutionError) as info:
        run(index, tmp_path, tf="2.100", pre=True)
    assert info.value.message.startswith("TensorFlow 2.100.0rc0: no extra of it pins an NVIDIA")
    assert all(("--pre", None) not in r.options for r in info.value.remedies)


def test_the_cli_says_uncurated_in_its_notes(index: IndexServer, tmp_path: Path, cli):
    args = ["--python", "3.11", "--platform", PLATFORM, "--driver", "570.124.06"]
    where = ["--index-url", index.url, "--cache-dir", str(tmp_path)]
    r = cli("solve", "--tf", "2.99", *args, *where)
    assert r.code == 0, r.err
    assert "note:    TensorFlow 2.99 is not yet curated" in r.out
    r = cli("solve", "--tf", "2.98", *args, *where, "--json")
    assert r.code == 2 and "cannot tell what it needs" in json.loads(r.out)["error"]["message"]


def test_the_audit_prints_what_to_add_with_the_metadata_as_source(
    index: IndexServer, tmp_path: Path
):
    done = subprocess.run(
        [sys.executable, str(AUDIT), "--index-url", index.url, "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "== TensorFlow lines: 2 to add" in out
    assert (
        "- tensorflow 2.98: not in the recipes; its metadata cannot say: no extra of it pins an "
        "NVIDIA CUDA runtime wheel"
    ) in out
    table = out[out.index('[lines."2.99"]') :]
    assert table.startswith(
        '[lines."2.99"]\ncuda = "12.8"\ncudnn = "9.10"\npython = ">=3.11,<3.12"\n'
        'extra = "and-cuda"\n'
    )
    assert 'source = "PyPI metadata of tensorflow==2.99.0"' in table
    assert '"nvidia-cuda-runtime-cu12<13.0,>=12.8.90",' in table
    assert 'gpu_extras = { 12 = "cuda12x" }' in out  # spaCy 3.99
    assert "== NVIDIA runtime releases: nothing to add" in out  # 12.9 has its row
    check = subprocess.run(
        [
            sys.executable,
            str(AUDIT),
            "--index-url",
            index.url,
            "--cache-dir",
            str(tmp_path),
            "--check",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 1
