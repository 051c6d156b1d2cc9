"""The index client against the real PyPI: no PEP 658 there, so METADATA comes by HTTP Range."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv.index import Index

pytestmark = pytest.mark.network


@pytest.fixture
def pypi(tmp_path):
    with Index("https://pypi.org/simple", cache_dir=tmp_path / "cache") as index:
        yield index


def _wheel(index, name, version, marker):
    return next(
        link
        for link in index.project(name)
        if link.version == Version(version) and link.is_wheel and marker in link.filename
    )


def test_tensorflow_metadata_by_range(pypi, tmp_path):
    link = _wheel(pypi, "tensorflow", "2.15.1", "cp311-cp311-manylinux_2_17_x86_64")
    assert link.size > 100_000_000 and link.sha256
    before = pypi.requests
    meta = pypi.metadata(link)
    assert pypi.requests - before <= 3  # tail, central directory, METADATA entry
    assert "and-cuda" in meta.provides_extra
    cudnn = [r for r in meta.requires_dist if r.name == "nvidia-cudnn-cu12"]
    assert [str(r.specifier) for r in cudnn] == ["==8.9.4.25"]
    assert cudnn[0].marker.evaluate({"extra": "and-cuda"})
    with Index("https://pypi.org/simple", cache_dir=tmp_path / "cache", offline=True) as offline:
        again = _wheel(offline, "tensorflow", "2.15.1", "cp311-cp311-manylinux_2_17_x86_64")
        assert offline.metadata(again) == meta and offline.requests == 0


def test_spacy_and_nvidia_wheels(pypi):
    pypi.prefetch(["spacy", "nvidia-cuda-runtime-cu12"])
    spacy = _wheel(pypi, "spacy", "3.7.5", "cp311-cp311-manylinux")
    cudart = _wheel(pypi, "nvidia-cuda-runtime-cu12", "12.2.140", "manylinux1_x86_64")
    pypi.prefetch_metadata([spacy, cudart])
    meta = pypi.metadata(spacy)
    assert canonicalize_name("cuda12x") in meta.provides_extra
    assert any(r.name == "cupy-cuda12x" for r in meta.requires_dist)
    assert pypi.metadata(cudart).name == "nvidia-cuda-runtime-cu12"
