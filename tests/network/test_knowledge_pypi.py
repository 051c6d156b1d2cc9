"""recipes/torch.toml and recipes/jax.toml against the wheels on the real PyPI.

The rows keep only what METADATA does not say outright (the CUDA a torch line was built for, its
cuDNN, its Pythons); each must still agree with the METADATA of the release it names as source:
the CUDA runtime (or cuda-toolkit) and cuDNN pins, the triton requirement, the machines the NVIDIA
pins apply to, and for JAX the cuDNN range of each CUDA plugin.
"""

from __future__ import annotations

import re

import pytest
from packaging.version import Version

from cudaenv.index import Index
from cudaenv.knowledge import load

pytestmark = pytest.mark.network

_SOURCE = re.compile(r"^PyPI metadata of (?P<name>[^=]+)==(?P<version>\S+)$")
_TORCH = load().torch
_JAX = load().jax


@pytest.fixture(scope="module")
def pypi(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    with Index("https://pypi.org/simple", cache_dir=cache) as index:
        yield index


def _source(source: str) -> tuple[str, Version]:
    found = _SOURCE.match(source)
    assert found, source
    return found["name"], Version(found["version"])


def _metadata(index, name, version):
    wheels = [
        link
        for link in index.project(name)
        if link.version == version and link.is_wheel and "x86_64" in link.filename
    ]
    wheels.sort(key=lambda link: "cp312-cp312-" not in link.filename)
    assert wheels, (name, version)
    return index.metadata(wheels[0]), wheels


def _env(machine: str, extra: str = "") -> dict[str, str]:
    return {"platform_system": "Linux", "sys_platform": "linux", "platform_machine": machine,
            "python_version": "3.11", "python_full_version": "3.11.0", "extra": extra}  # fmt: skip


def _major_minor(version: Version) -> Version:
    return Version(f"{version.major}.{version.minor}")


@pytest.mark.parametrize("row", _TORCH, ids=lambda t: str(t.line))
def test_torch_row_agrees_with_its_wheel(pypi, row):
    name, version = _source(row.source)
    assert name == "torch" and row.contains(version)
    meta, wheels = _metadata(pypi, name, version)
    reqs = {r.name: r for r in meta.requires_dist if r.marker and r.marker.evaluate(_env("x86_64"))}
    cudnn = reqs[f"nvidia-cudnn-cu{row.cuda_major}"]
    assert _major_minor(Version(str(cudnn.specifier).removeprefix("=="))) == row.cudnn
    built = reqs.get("nvidia-cuda-runtime-cu12") or reqs["cuda-toolkit"]
    assert _major_minor(Version(str(built.specifier).removeprefix("=="))) == row.cuda
    triton = reqs["triton"]
    assert triton.specifier == row.triton.specifier
    for machine in ("x86_64", "aarch64"):
        assert cudnn.marker.evaluate(_env(machine)) == (machine in row.gpu_machines), machine
    pythons = {Version(f"{t.interpreter[2]}.{t.interpreter[3:]}") for w in wheels for t in w.tags}
    assert all(p in row.python for p in pythons), pythons
    assert Version(f"3.{max(p.minor for p in pythons) + 1}") not in row.python


@pytest.mark.parametrize("row", _JAX, ids=lambda j: str(j.line))
def test_jax_row_agrees_with_its_plugins(pypi, row):
    _name, version = _source(row.source)
    assert row.contains(version)
    for major in row.extras:
        plugin = f"jax-cuda{major}-plugin"
        releases = {link.version for link in pypi.project(plugin) if link.is_wheel}
        newest = max(v for v in releases if v is not None and row.contains(v))
        meta, _ = _metadata(pypi, plugin, newest)
        declared = [r.specifier for r in meta.requires_dist if r.name == f"nvidia-cudnn-cu{major}"]
        assert declared == [row.cudnn[major]], (major, newest)


def test_jax_cuda13_plugin_starts_at_072(pypi):
    releases = [link.version for link in pypi.project("jax-cuda13-plugin") if link.is_wheel]
    first = min(v for v in releases if v is not None and not v.is_prerelease)
    assert first == Version("0.7.2")
    assert load().jax_line(first).since[13] == first
