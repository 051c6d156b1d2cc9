"""PyTorch and JAX beside TensorFlow and spaCy, solved against the real PyPI.

Each set is checked against the frameworks' own METADATA, read here again from the index: every
requirement a framework declares holds, except the exact pins cudaenv relaxed, and each of
those is met within its major by the newest of the frameworks' pins, under a rule of
``constraints/compat_rules.toml``. The refused pair's hints are followed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv.index import Index
from cudaenv.request import Target

if TYPE_CHECKING:
    from packaging.requirements import Requirement

pytestmark = pytest.mark.network

PYPI = "https://pypi.org/simple"
PLATFORM = "manylinux_2_28_x86_64"
UV = Path(sys.executable).with_name("uv")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pypi-cache")


def _solve(cli, cache: Path, *asked: str, driver: str = "535.104.05") -> tuple[int, Any]:
    argv = ["solve", *asked, "--driver", driver, "--python", "3.11", "--platform", PLATFORM]
    r = cli(*argv, "--index-url", PYPI, "--cache-dir", str(cache), "--json")
    return r.code, json.loads(r.out) if r.out.strip() else r.err


def _declared(
    cache: Path, name: str, version: str, extras: tuple[str, ...] = ()
) -> list[Requirement]:
    """What ``name`` ``version`` declares for the target (its METADATA, read again here)."""
    target = Target.from_strings("3.11", PLATFORM).marker_environment()
    with Index(PYPI, cache_dir=cache, platform=PLATFORM) as index:
        link = next(lk for lk in index.project(name) if str(lk.version) == version and lk.is_wheel)
        reqs = index.metadata(link).requires_dist
    return [
        r
        for r in reqs
        if r.marker is None or any(r.marker.evaluate({**target, "extra": e}) for e in ("", *extras))
    ]


def _nvidia_pins(reqs: list[Requirement]) -> dict[str, Version]:
    return {
        canonicalize_name(r.name): Version(next(iter(r.specifier)).version)
        for r in reqs
        if r.name.startswith("nvidia-")
        and len(r.specifier) == 1
        and next(iter(r.specifier)).operator == "=="
    }


def _pins(doc: dict[str, Any]) -> dict[str, Version]:
    return {p["name"]: Version(p["version"]) for p in doc["packages"]}


def test_torch_alone_gets_exactly_its_pins(cli, cache: Path) -> None:
    code, doc = _solve(cli, cache, "--torch", "2.7")
    assert code == 0, doc
    pins = _pins(doc)
    assert pins["torch"] == Version("2.7.1")
    declared = _nvidia_pins(_declared(cache, "torch", "2.7.1"))
    assert len(declared) >= 12
    assert {n: pins[n] for n in declared} == declared
    assert doc["relaxed"] == []
    assert (doc["cudnn"], doc["driver_floor"]) == ("9.5", "525.60.13")


def test_tf220_torch29_spacy38_share_one_stack_with_nothing_to_relax(cli, cache: Path) -> None:
    code, doc = _solve(cli, cache, "--tf", "2.20", "--torch", "2.9", "--spacy", "3.8")
    assert code == 0, doc
    pins = _pins(doc)
    assert (pins["tensorflow"].release[:2], pins["torch"].release[:2]) == ((2, 20), (2, 9))
    assert pins["spacy"].release[:2] == (3, 8) and "cupy-cuda12x" in pins
    assert doc["relaxed"] == []  # TF 2.20 gives ranges: torch's exact pins fit inside them
    torch = _nvidia_pins(_declared(cache, "torch", str(pins["torch"])))
    assert {n: pins[n] for n in torch} == torch
    tf = _declared(cache, "tensorflow", str(pins["tensorflow"]), ("and-cuda",))
    for req in tf:
        name = canonicalize_name(req.name)
        if name.startswith("nvidia-"):
            assert req.specifier.contains(pins[name]), (req, pins[name])
    assert [n for n in pins if n.startswith("nvidia-cudnn")] == ["nvidia-cudnn-cu12"]
    assert not [n for n in pins if n.endswith("-cu11") or n == "nvidia-cuda-runtime"]


def test_tf218_torch27_relaxed_to_the_newest_pins(cli, cache: Path) -> None:
    code, doc = _solve(cli, cache, "--tf", "2.18", "--torch", "2.7")
    assert code == 0, doc
    pins = _pins(doc)
    tf = _nvidia_pins(_declared(cache, "tensorflow", str(pins["tensorflow"]), ("and-cuda",)))
    torch = _nvidia_pins(_declared(cache, "torch", str(pins["torch"])))
    relaxed = {x["package"]: x for x in doc["relaxed"]}
    assert "nvidia-cudnn-cu12" in relaxed and relaxed["nvidia-cudnn-cu12"]["chosen"] == "9.5.1.17"
    for name in set(tf) | set(torch):
        wanted = max(p for p in (tf.get(name), torch.get(name)) if p is not None)
        assert pins[name] == wanted, name  # the newest of the two pins, not the index's newest
        for pin in (tf.get(name), torch.get(name)):
            if pin is not None and pin != pins[name]:
                assert relaxed[name]["pinned"] == str(pin)
                assert Version(relaxed[name]["chosen"]).major == pin.major
    rules = {x["rule"] for x in doc["relaxed"]}
    assert {"cudnn-minor-backward", "nvjitlink-minor", "cuda-libraries-minor-version"} <= rules


@pytest.mark.skipif(not UV.exists(), reason="uv is not installed next to this Python")
def test_uv_finds_tf218_torch27_unsatisfiable(tmp_path: Path) -> None:
    """What a plain resolver answers for the pair cudaenv relaxes (docs/facts.md)."""
    (tmp_path / "in.txt").write_text("tensorflow[and-cuda]==2.18.*\ntorch==2.7.*\n")
    out = subprocess.run(
        [str(UV), "pip", "compile", str(tmp_path / "in.txt"), "--python-version", "3.11",
         "--python-platform", "x86_64-manylinux_2_28", "--prerelease", "disallow", "--quiet",
         "--index-url", PYPI, "--cache-dir", str(tmp_path / "uv-cache")],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert out.returncode != 0
    assert "unsatisfiable" in out.stderr


def test_tf215_torch27_refused_in_cudnn_terms_and_each_hint_works(cli, cache: Path) -> None:
    code, doc = _solve(cli, cache, "--tf", "2.15", "--torch", "2.7")
    assert code == 2, doc
    error = doc["error"]
    assert error["message"].startswith(
        "TensorFlow 2.15 needs cuDNN 8 (nvidia-cudnn-cu12==8.9.4.25) and PyTorch 2.7 needs "
        "cuDNN 9 (nvidia-cudnn-cu12==9.5.1.17)"
    )
    options = [r["options"] for r in error["remedies"]]
    assert options == [[["--tf", "2.18"]], [["--torch", "2.3"]]]
    for ((flag, value),) in options:
        asked = {"--tf": "2.15", "--torch": "2.7", flag: value}
        code, followed = _solve(cli, cache, *[a for kv in asked.items() for a in kv])
        assert code == 0, followed
        cudnn = [p for p in followed["packages"] if p["name"].startswith("nvidia-cudnn")]
        assert len(cudnn) == 1


def test_jax07_takes_the_plugin_of_the_drivers_cuda(cli, cache: Path) -> None:
    code, doc = _solve(cli, cache, "--jax", "0.7")
    assert code == 0, doc
    pins = _pins(doc)
    assert pins["jax"].release[:2] == (0, 7) and pins["jax-cuda12-plugin"] == pins["jax"]
    assert "jax-cuda13-plugin" not in pins and doc["driver_floor"] == "525.60.13"
    code, doc = _solve(cli, cache, "--jax", "0.7", driver="580.65.06")
    assert code == 0, doc
    pins = _pins(doc)
    assert "jax-cuda13-plugin" in pins and "nvidia-cudnn-cu13" in pins
    assert not [n for n in pins if n.endswith("-cu12")]
    assert doc["driver_floor"] == "580.65.06"


def test_torch_27_for_aarch64_is_a_cpu_build_and_needs_no_driver(cli, cache: Path) -> None:
    """Before 2.11, PyPI's aarch64 torch wheels carry no CUDA (their NVIDIA requirements are
    for x86_64): no driver floor, and a note that says why."""
    argv = ["solve", "--torch", "2.7", "--python", "3.11", "--platform", "manylinux_2_28_aarch64"]
    argv += ["--driver", "535.104.05", "--index-url", PYPI, "--cache-dir", str(cache)]
    r = cli(*argv)
    assert r.code == 0, r.err
    assert "torch 2.7.1 for aarch64: PyPI's wheels for this architecture are CPU-only" in r.out
    doc = json.loads(cli(*argv, "--json").out)
    assert doc["driver_floor"] is None
    assert not [p for p in doc["packages"] if p["name"].startswith("nvidia-")]
